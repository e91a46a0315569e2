"""The ``expedition`` console script: ``expedition query`` starts without the command-line framework.

Building the Typer application imports every command module (and through them pyarrow.compute,
rich, the survey and brief code...): about half a second before any work, which a one-number
query at the shell feels each time. :func:`main` therefore reads the arguments of the common
forms of ``expedition [-v] query SQL [--home H] [--format F] [--out O] [--snapshot N]
[--explain plan|analyze]`` itself and runs the same work as the Typer command
(:mod:`expedition.delivery.cli.querying`: the same parser-only SELECT check, refusal of acting table
functions, lock-down and process limits in :mod:`warehouse.query` and :mod:`warehouse.limits`).
Anything else (``--help``, an unknown or repeated option, ``-fjson``, a value that looks like an
option, a format or plan mode or setting that is not valid, shell completion) goes to the Typer
application (:func:`expedition.delivery.cli.main.main`), which prints its usual help or error: the
quick start never prints a usage message of its own.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from expedition.delivery.cli.runtime import configure_logging, known_errors

__all__ = ["QuickQuery", "main", "parse_quick_query"]

#: ``expedition query``'s options that take a value, by spelling (as declared in core.query).
_OPTIONS = {"--home": "home", "--format": "fmt", "-f": "fmt", "--out": "out", "-o": "out",
            "--snapshot": "snapshot", "--explain": "explain"}
_VERBOSE = ("-v", "--verbose")
#: Set by a shell asking Click for completions: the Typer application answers those.
_COMPLETE_VAR = "_EXPEDITION_COMPLETE"


@dataclass(frozen=True)
class QuickQuery:
    """The arguments of one ``expedition query`` call, as the Typer command would receive them."""

    sql: str
    home: Path | None = None
    fmt: str = "table"
    out: Path | None = None
    snapshot: int | None = None
    explain: str | None = None
    verbose: bool = False


def _options(tokens: Sequence[str]) -> dict[str, str] | None:
    """``{"sql": ..., option: value}`` from the tokens after ``query``; ``None`` for any other form."""
    found: dict[str, str] = {}
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        i += 1
        if not tok.startswith("-"):
            if "sql" in found:
                return None  # an extra argument: Typer's error
            found["sql"] = tok
            continue
        name, eq, value = tok.partition("=")
        if not eq:
            if i >= len(tokens):
                return None
            value = tokens[i]
            i += 1
        elif not name.startswith("--"):
            return None  # `-f=json` means the value "=json" to Click: leave such forms to it
        key = _OPTIONS.get(name)
        if key is None or key in found or value == "" or value.startswith("-"):
            return None
        found[key] = value
    return found if "sql" in found else None


def parse_quick_query(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> QuickQuery | None:
    """The ``expedition query`` call in ``argv`` (the arguments after the program name) when it is
    one of the plain forms the quick start runs; ``None`` for anything the Typer application must see."""
    env = os.environ if environ is None else environ
    if env.get(_COMPLETE_VAR):
        return None
    verbose = False
    i = 0
    while i < len(argv) and argv[i] in _VERBOSE:
        verbose, i = True, i + 1
    if i >= len(argv) or argv[i] != "query":
        return None
    found = _options(argv[i + 1:])
    if found is None:
        return None
    from expedition.delivery.cli.output import format_error
    from expedition.delivery.cli.querying import EXPLAIN_MODES

    fmt = found.get("fmt", "table")
    explain = found.get("explain")
    if format_error(fmt) is not None or (explain is not None and explain not in EXPLAIN_MODES):
        return None
    try:
        snapshot = int(found["snapshot"]) if "snapshot" in found else None
    except ValueError:
        return None
    home, out = found.get("home"), found.get("out")
    return QuickQuery(sql=found["sql"], home=None if home is None else Path(home), fmt=fmt,
                      out=None if out is None else Path(out), snapshot=snapshot, explain=explain, verbose=verbose)


def _run(q: QuickQuery) -> bool:
    """Run ``q`` as the Typer command would in a process of its own; ``False`` (nothing done,
    nothing printed) when the Typer application must report a problem with the options."""
    from expedition.delivery.cli.output import write_result
    from expedition.delivery.cli.querying import answer, truncation_note, usage_problem
    from expedition.process import configure_process
    from expedition.settings import load_settings

    configure_logging(q.verbose)
    settings = load_settings(q.home)
    configure_process(settings)
    if usage_problem(settings, q.explain) is not None:
        return False
    res = answer(settings, q.sql, q.snapshot, q.explain, owned=True, fmt=q.fmt)
    write_result(res, q.fmt, q.out)
    note = truncation_note(res)
    if note:
        sys.stderr.write(note + "\n")
        sys.stderr.flush()
    return True


def _quick(q: QuickQuery) -> bool:
    """:func:`_run` with the exit statuses of the Typer application and :func:`main`'s error lines."""
    try:
        return _run(q)
    except KeyboardInterrupt:
        sys.exit(130)  # what Typer does with an interrupted command
    except OSError as exc:
        if exc.errno != errno.EPIPE:
            if isinstance(exc, known_errors()):
                _report(exc)
            raise
        # a closed pipe (`expedition query ... | head`): as Click, no further output, status 1
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(1)
    except Exception as exc:
        if isinstance(exc, known_errors()):
            _report(exc)
        raise


def _report(exc: BaseException) -> None:
    msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
    sys.stderr.write(f"error: {msg}\n")
    sys.exit(2)


def main() -> None:
    """Console-script entry point: the quick start of ``expedition query``, else the full command line."""
    quick = parse_quick_query(sys.argv[1:])
    if quick is not None and _quick(quick):
        return
    from expedition.delivery.cli.main import main as full_main

    full_main()
