"""``avdc collect metaworld``: scripted-expert demonstrations in the AVDC dataset layout.

Registered through the ``avdc_cli`` hook (entry point ``simulator-metaworld``), exactly as a
third-party package adds its commands; a thin command over :mod:`.collect`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from avdc_core import hookimpl
from avdc_core.readers import split_names

from .tasks import PAPER_CAMERAS, PAPER_TASKS


def collect_metaworld(
        out: Annotated[Path, typer.Option(help="output folder (gets metaworld_dataset/)")],
        tasks: Annotated[str | None, typer.Option(help="comma-separated Meta-World tasks "
                                                     "(default: the paper's 11)")] = None,
        cameras: Annotated[str | None, typer.Option(help="comma-separated cameras "
                                                       "(default: corner,corner2,corner3)")] = None,
        episodes: Annotated[int, typer.Option(min=1, help="successful demonstrations per task")] = 5,
        depth: Annotated[bool, typer.Option("--depth", help="also write depth (16-bit PNG, mm)")] = False,
        segmentation: Annotated[bool, typer.Option("--segmentation", help="also write geom ids")] = False,
        seed: Annotated[int, typer.Option(min=0, help="first seed")] = 0) -> None:
    """Meta-World: scripted-expert demonstrations in the AVDC dataset layout (resumable)."""
    from tqdm import tqdm

    from .collect import collect_demonstrations

    task_list = split_names(tasks) if tasks is not None else list(PAPER_TASKS)
    camera_list = split_names(cameras) if cameras is not None else list(PAPER_CAMERAS)
    with tqdm(total=len(task_list) * episodes, desc="collect", unit="episode") as bar:
        written = collect_demonstrations(task_list, camera_list, episodes, out,
                                         depth=depth, segmentation=segmentation, first_seed=seed,
                                         progress=bar.update)
    typer.echo(f"{sum(written.values())} episode(s) in {out / 'metaworld_dataset'}")


@hookimpl
def avdc_cli(collect: typer.Typer) -> None:
    collect.command("metaworld")(collect_metaworld)
