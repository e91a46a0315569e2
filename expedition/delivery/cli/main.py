"""Entry point of the ``expedition`` command.

Each concern registers its commands from its own module (``register(app)``), so
this file only wires them together and turns known errors into one clear line
(no traceback reaches the user)."""

from __future__ import annotations

import logging
import sys

import typer

from expedition.delivery.cli import brief_cmd, catalog_cmd, core, partners_cmd, response_cmd, survey_cmd
from flows import cli as flows_cmd  # moved; registered through an entry point in the next commit
from flows import demo_cmd

app = typer.Typer(
    name="expedition",
    help=(
        "Quake Expedition: earthquake catalogs, expedition triggers, field surveys and briefs "
        "on a DuckLake warehouse.\n\n"
        "Example: expedition init && expedition query \"SELECT 42 AS answer\" --format json"
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress (INFO) to stderr."),
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


for _module in (core, demo_cmd, catalog_cmd, response_cmd, survey_cmd, brief_cmd, partners_cmd, flows_cmd):
    _module.register(app)


def _known_errors() -> tuple[type[BaseException], ...]:
    from catalogs.errors import CatalogError
    from expedition.errors import ExpeditionError
    from expedition.settings import SettingsError
    from warehouse.errors import WarehouseError

    return (CatalogError, ExpeditionError, SettingsError, WarehouseError, KeyError, FileNotFoundError)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except _known_errors() as exc:
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        sys.stderr.write(f"error: {msg}\n")
        sys.exit(2)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
