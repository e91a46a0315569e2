"""Prefect flows of Quake Expedition: the only package that imports Prefect (see docs/flows.md).

Modules are imported on demand (``from flows.watch import watch``); nothing happens at import time.
"""
