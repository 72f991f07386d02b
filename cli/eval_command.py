"""``avdc eval``: an executor's evaluation protocol (tasks x settings x seeds), resumable, in
parallel. A thin command over :mod:`avdc_core.evaluation`; the grid comes from the spec's
executor (:class:`avdc_core.interfaces.EvalGrid`), so it works for every robot that declares one."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from avdc_core import SpecError
from avdc_core.evaluation import (
    EvalOptions,
    LocalBackend,
    check_unseen_seeds,
    episode_spec,
    episode_state,
    grid_jobs,
    run_evaluation,
)
from avdc_core.readers import split_names
from avdc_core.spec import read_yaml, resolve_spec

from .core_commands import DEFAULT_SPEC, _registry


class BackendName(str, Enum):
    local = "local"
    ray = "ray"


def _backend(name: BackendName, workers: int, address: str | None, retries: int):
    if name is not BackendName.ray and address is not None:
        raise SpecError(f"--address {address!r} is for --backend ray (the local backend runs on this machine)")
    if name is BackendName.ray and workers != 1:
        raise SpecError(f"--workers {workers} is for the local backend; Ray runs one episode per CPU the "
                        "cluster offers (size it with ray start --num-cpus)")
    if name is BackendName.ray:
        from avdc_core.evaluation.ray_backend import RayBackend

        return RayBackend(address, retries)
    return LocalBackend(workers)


def evaluate(ctx: typer.Context,
             spec: Annotated[Path | None, typer.Argument(help="pipeline spec (default: embedded)")] = None,
             tasks: Annotated[str | None, typer.Option(
                 help="comma-separated tasks (default: the executor's, the paper's)")] = None,
             settings: Annotated[str | None, typer.Option(
                 "--settings", "--cameras",
                 help="comma-separated settings, e.g. cameras (default: the executor's)")] = None,
             seeds: Annotated[int, typer.Option(min=1, help="seeds per task and setting")] = 25,
             first_seed: Annotated[int, typer.Option(min=0, help="first seed (seeds run from it up)")] = 0,
             workers: Annotated[int, typer.Option(min=1, help="parallel worker processes (local backend)")] = 1,
             out: Annotated[Path, typer.Option(help="results folder")] = Path("runs/eval"),
             video: Annotated[bool, typer.Option("--video", help="WebM of each episode and plan")] = False,
             plans: Annotated[bool, typer.Option("--plans", help="each plan's figures (flow, tracks, "
                                                 "motion) for avdc report")] = False,
             backend: Annotated[BackendName, typer.Option(help="where episodes run: local processes or "
                                                          "a Ray cluster")] = BackendName.local,
             address: Annotated[str | None, typer.Option(help="Ray cluster HOST:PORT or auto (--backend "
                                                         "ray; default: a private Ray)")] = None,
             retries: Annotated[int, typer.Option(min=0, help="times Ray reruns an episode whose worker "
                                                  "died, before it is recorded as an error")] = 1) -> None:
    """The paper's protocol for the spec's robot: tasks x settings x seeds, resumable, in parallel."""
    from tqdm import tqdm

    path = spec or DEFAULT_SPEC
    runner = _backend(backend, workers, address, retries)
    data = read_yaml(path)
    registry = _registry(ctx)
    base = resolve_spec(data, registry, base_dir=path.resolve().parent, source=str(path))
    executor = base.components.get("executor")
    grid = None if executor is None else executor.info.component.eval_grid
    if grid is None:
        raise SpecError(f"{path}: avdc eval needs an executor that declares an evaluation grid; "
                        + ("the spec has no executor" if executor is None
                           else f"{executor.info.address} declares none"))
    keep_frames = video and "record" in executor.info.component.Config.model_fields
    jobs = grid_jobs(grid, split_names(tasks), split_names(settings), seeds, first_seed,
                     {"record": True} if keep_frames else None)
    # fail fast, before any worker starts: every task x setting must make a valid spec
    for job in {(job.task, job.setting): job for job in jobs}.values():
        resolve_spec(episode_spec(data, job), registry, base_dir=path.resolve().parent,
                     source=f"{path} ({job.task}/{job.setting})")
    base.check_files()
    check_unseen_seeds(base, jobs)
    states = [episode_state(out, job) for job in jobs]
    todo = len(jobs) - states.count("done")
    again = states.count("error") + states.count("corrupt")
    typer.echo(f"{len(jobs)} episode(s), {len(jobs) - todo} already done, {todo} to run"
               + (f" ({again} errored or unreadable before: run again)" if again else ""))
    options = EvalOptions(data, path.resolve().parent, out, video=video, plans=plans, source=str(path))
    finished = 0
    with tqdm(total=todo, desc="eval", unit="episode") as bar:
        def tick(job, record) -> None:
            nonlocal finished
            finished += 1
            bar.update(1)
            bar.set_postfix_str(f"{job.task}/{job.setting}/{job.seed}: {record.get('end')}")

        try:
            summary = run_evaluation(jobs, options, runner, on_episode=tick)
        except KeyboardInterrupt:
            bar.close()
            typer.echo(f"interrupted: {finished} new episode(s) saved in {out}/; run the same command "
                       "to resume with the others", err=True)
            raise typer.Exit(130) from None
    typer.echo((out / "results.md").read_text())
    typer.echo(f"overall success {100 * summary['overall_success']:.1f}% over {summary['episodes']} "
               f"episode(s); {len(summary['errors'])} error(s); results in {out}/")
    stages = summary["mean_stage_seconds_per_plan"]
    if stages:
        typer.echo(f"seconds per plan ({summary['plans']} plans): "
                   + ", ".join(f"{stage} {seconds:.2f}" for stage, seconds in stages.items()))
    if summary["errors"]:
        first = summary["errors"][0]
        typer.echo(f"error: {len(summary['errors'])} episode(s) raised an error, e.g. {first['task']}/"
                   f"{first['setting']}/seed {first['seed']}: {first['error']} (all in summary.json); "
                   "run the same command again to re-run them", err=True)
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("eval")(evaluate)
