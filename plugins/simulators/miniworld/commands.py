"""``avdc collect miniworld``: scripted-expert navigation videos in the AVDC iTHOR layout.

Registered through the ``avdc_cli`` hook (entry point ``simulator-miniworld``), as a
third-party package adds its commands; a thin command over :mod:`.collect`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from avdc_core import hookimpl
from avdc_core.readers import split_names

from .tasks import DEFAULT_TASKS


def collect_miniworld(
        out: Annotated[Path, typer.Option(help="output folder (gets thor_dataset/)")],
        tasks: Annotated[str | None, typer.Option(help="comma-separated MiniWorld tasks "
                                                     "(default: one-room,hallway,four-rooms)")] = None,
        episodes: Annotated[int, typer.Option(min=1, help="successful demonstrations per task")] = 5,
        size: Annotated[int, typer.Option(min=8, help="frame width and height (pixels; the paper's: 64)")] = 64,
        max_steps: Annotated[int, typer.Option(min=1, help="actions the expert may take")] = 100,
        hold_frames: Annotated[int, typer.Option(min=0, help="times the last frame repeats")] = 1,
        seed: Annotated[int, typer.Option(min=0, help="first seed")] = 0) -> None:
    """MiniWorld: the expert walking to the red box, in the AVDC iTHOR layout (resumable)."""
    from tqdm import tqdm

    from .collect import collect_demonstrations

    task_list = split_names(tasks) if tasks is not None else list(DEFAULT_TASKS)
    with tqdm(total=len(task_list) * episodes, desc="collect", unit="episode") as bar:
        written = collect_demonstrations(task_list, episodes, out, resolution=(size, size), first_seed=seed,
                                         max_steps=max_steps, hold_frames=hold_frames, progress=bar.update)
    typer.echo(f"{sum(written.values())} episode(s) in {out / 'thor_dataset'}")


@hookimpl
def avdc_cli(collect: typer.Typer) -> None:
    collect.command("miniworld")(collect_miniworld)
