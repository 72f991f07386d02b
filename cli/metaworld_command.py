"""``avdc collect metaworld`` (expert demonstrations) and ``avdc eval`` (the paper's protocol).

Thin commands over :mod:`avdc_plugins.executors.metaworld_collect` and
:mod:`avdc_core.evaluation`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from avdc_core.evaluation import EvalOptions, check_unseen_seeds, episode_spec, pending_jobs, run_evaluation
from avdc_core.spec import read_yaml, resolve_spec

from .core_commands import DEFAULT_SPEC, _registry

TASKS_HELP = "comma-separated Meta-World tasks (default: the paper's 11)"
CAMERAS_HELP = "comma-separated cameras (default: corner,corner2,corner3)"


def _split(value: str | None, default: tuple[str, ...]) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()] if value else list(default)


def collect_metaworld(
        out: Annotated[Path, typer.Option(help="output folder (gets metaworld_dataset/)")],
        tasks: Annotated[Optional[str], typer.Option(help=TASKS_HELP)] = None,
        cameras: Annotated[Optional[str], typer.Option(help=CAMERAS_HELP)] = None,
        episodes: Annotated[int, typer.Option(min=1, help="successful demonstrations per task")] = 5,
        depth: Annotated[bool, typer.Option("--depth", help="also write depth (16-bit PNG, mm)")] = False,
        segmentation: Annotated[bool, typer.Option("--segmentation", help="also write geom ids")] = False,
        seed: Annotated[int, typer.Option(help="first seed")] = 0) -> None:
    """Scripted-expert demonstrations in the AVDC dataset layout (resumable)."""
    from tqdm import tqdm

    from avdc_plugins.executors.metaworld_collect import collect_demonstrations
    from avdc_plugins.executors.metaworld_tasks import PAPER_CAMERAS, PAPER_TASKS

    task_list = _split(tasks, PAPER_TASKS)
    with tqdm(total=len(task_list) * episodes, desc="collect", unit="episode") as bar:
        written = collect_demonstrations(task_list, _split(cameras, PAPER_CAMERAS), episodes, out,
                                         depth=depth, segmentation=segmentation, first_seed=seed,
                                         progress=bar.update)
    typer.echo(f"{sum(written.values())} episode(s) in {out / 'metaworld_dataset'}")


def evaluate(ctx: typer.Context,
             spec: Annotated[Optional[Path], typer.Argument(help="pipeline spec (default: embedded)")] = None,
             tasks: Annotated[Optional[str], typer.Option(help=TASKS_HELP)] = None,
             cameras: Annotated[Optional[str], typer.Option(help=CAMERAS_HELP)] = None,
             seeds: Annotated[int, typer.Option(min=1, help="seeds per task and camera")] = 25,
             first_seed: Annotated[int, typer.Option(min=0, help="first seed (seeds run from it up)")] = 0,
             workers: Annotated[int, typer.Option(min=1, help="parallel worker processes")] = 1,
             out: Annotated[Path, typer.Option(help="results folder")] = Path("runs/eval"),
             video: Annotated[bool, typer.Option("--video", help="MP4 of each episode and plan")] = False) -> None:
    """The paper's Meta-World protocol: tasks x cameras x seeds, resumable, in parallel."""
    from tqdm import tqdm

    from avdc_plugins.executors.metaworld_collect import metaworld_jobs
    from avdc_plugins.executors.metaworld_tasks import PAPER_CAMERAS, PAPER_TASKS

    path = spec or DEFAULT_SPEC
    data = read_yaml(path)
    jobs = metaworld_jobs(_split(tasks, PAPER_TASKS), _split(cameras, PAPER_CAMERAS), seeds, first_seed)
    if video:
        jobs = [type(job)(job.task, job.setting, job.seed, {**job.executor_params, "record": True})
                for job in jobs]
    # fail fast on a bad spec, before any worker starts
    resolved = resolve_spec(episode_spec(data, jobs[0]), _registry(ctx), base_dir=path.resolve().parent,
                            source=str(path))
    check_unseen_seeds(resolved, jobs)
    todo = len(pending_jobs(jobs, out))
    typer.echo(f"{len(jobs)} episode(s), {len(jobs) - todo} already done, {todo} to run")
    options = EvalOptions(data, path.resolve().parent, out, workers=workers, video=video)
    with tqdm(total=todo, desc="eval", unit="episode") as bar:
        def tick(job, record) -> None:
            bar.update(1)
            bar.set_postfix_str(f"{job.task}/{job.setting}/{job.seed}: {record.get('end')}")

        summary = run_evaluation(jobs, options, on_episode=tick)
    typer.echo((out / "results.md").read_text())
    typer.echo(f"overall success {100 * summary['overall_success']:.1f}% over {summary['episodes']} "
               f"episode(s); {len(summary['errors'])} error(s); results in {out}/")
    stages = summary["mean_stage_seconds_per_plan"]
    if stages:
        typer.echo(f"seconds per plan ({summary['plans']} plans): "
                   + ", ".join(f"{stage} {seconds:.2f}" for stage, seconds in stages.items()))


def register(app: typer.Typer) -> None:
    collect = typer.Typer(help="Collect demonstrations into the AVDC dataset layout.",
                          no_args_is_help=True)
    collect.command("metaworld")(collect_metaworld)
    app.add_typer(collect, name="collect")
    app.command("eval")(evaluate)
