"""Loaded by every Python subprocess a test starts (tests/conftest.py puts this directory on
PYTHONPATH): the network guard of :mod:`qe_netguard`, reporting to ``$QE_NETGUARD_LOG``."""

import qe_netguard

qe_netguard.install()
