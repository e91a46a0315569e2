"""``expedition demo``: the offline end-to-end demo (grows with the pipeline)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo(
    home: Optional[Path] = typer.Option(None, "--home", help="Data root for the demo (default: a new temp dir)."),
) -> None:
    """Run the offline demo: create a lake, then query it.

    Example: expedition demo --home /tmp/qe-demo
    """
    from expedition.demo import run_demo

    root = home or Path(tempfile.mkdtemp(prefix="qe-demo-"))
    summary = run_demo(root)
    for line in summary:
        typer.echo(line)
