"""Delivery: the partner API (:mod:`expedition.delivery.api`), partner tokens and the ``expedition`` command line
(:mod:`expedition.delivery.cli`)."""
