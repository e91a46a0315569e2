"""Entry point of the ``expedition`` command.

Each concern registers its commands from its own module (``register(app)``), so
this file only wires them together and turns known errors into one clear line
(no traceback reaches the user). Commands of higher layers (the flow commands and
the demo of ``flows/``) register through the entry-point group ``quake_expedition.commands``
(declared in pyproject.toml): this package never imports them by name. A plugin's
``register`` must not import Prefect; its commands do that when they run."""

from __future__ import annotations

import logging
import sys
from importlib.metadata import entry_points

import typer

from expedition.delivery.cli import brief_cmd, catalog_cmd, core, partners_cmd, products_cmd, response_cmd, survey_cmd
from expedition.delivery.cli.runtime import configure_logging, known_errors

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
    configure_logging(verbose)


#: Entry-point group through which other packages add commands: ``name = "module:register"``.
COMMANDS_GROUP = "quake_expedition.commands"

log = logging.getLogger(__name__)

for _module in (core, catalog_cmd, response_cmd, products_cmd, survey_cmd, brief_cmd, partners_cmd):
    _module.register(app)


def register_plugins(target: typer.Typer) -> list[str]:
    """Call ``register(target)`` of every entry point in :data:`COMMANDS_GROUP`; returns their names.

    A plugin that fails to load is logged and skipped, so the library's own commands keep working."""
    loaded = []
    for ep in sorted(entry_points(group=COMMANDS_GROUP), key=lambda e: e.name):
        try:
            ep.load()(target)
        except Exception as exc:  # a broken plugin must not take the whole command down
            log.warning("command plugin %s (%s) not loaded: %s", ep.name, ep.value, exc)
            continue
        loaded.append(ep.name)
    return loaded


register_plugins(app)


def main(argv: list[str] | None = None) -> None:
    """The full command line (``argv``: the arguments, default ``sys.argv[1:]``); the console script
    starts in :func:`expedition.delivery.cli.entry.main`, which comes here for all but plain queries.

    Called without ``argv`` (the console script) the command owns its process and may bound it
    (``expedition query``); called with ``argv`` from another program it never sets process-wide
    limits.
    """
    from expedition.delivery.cli.common import PROCESS

    PROCESS["owned"] = argv is None
    try:
        app(args=argv, prog_name="expedition")
    except known_errors() as exc:
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        sys.stderr.write(f"error: {msg}\n")
        sys.exit(2)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
