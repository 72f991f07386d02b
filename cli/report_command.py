"""``avdc report``: a static HTML page of an ``avdc eval`` or ``avdc run`` folder
(:mod:`avdc_core.evaluation.report`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from avdc_core.evaluation.report import render_report


def report(run_dir: Annotated[Path, typer.Argument(help="the --out folder of avdc eval or avdc run")],
           out: Annotated[Path | None, typer.Option(help="the page to write (default: RUN_DIR/report.html)")] = None,
           ) -> None:
    """One static HTML page (no server, no network) of an evaluation or run: success table, chart,
    every episode's outcome, video and plans, and the spec that produced it."""
    page = render_report(run_dir, out or run_dir / "report.html")
    typer.echo(f"report: {page} (open it in a browser; it links the files of {run_dir}/)")


def register(app: typer.Typer) -> None:
    app.command()(report)
