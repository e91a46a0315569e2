"""What every ``expedition`` command shares at run time, with no command-line framework imported:
its logging and the errors it reports as one line (used by :mod:`expedition.delivery.cli.main` and
the quick start of :mod:`expedition.delivery.cli.entry`)."""

from __future__ import annotations

import logging
import sys

__all__ = ["configure_logging", "known_errors"]


def configure_logging(verbose: bool) -> None:
    """The command line's logging: INFO with ``--verbose``, else WARNING, to stderr."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def known_errors() -> tuple[type[BaseException], ...]:
    """Errors the command line reports as one ``error: ...`` line (exit status 2), no traceback."""
    from catalogs.errors import CatalogError
    from expedition.errors import ExpeditionError
    from expedition.settings import SettingsError
    from warehouse.errors import WarehouseError

    return (CatalogError, ExpeditionError, SettingsError, WarehouseError, KeyError, FileNotFoundError)
