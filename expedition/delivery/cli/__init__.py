"""The ``expedition`` command line (Typer)."""
