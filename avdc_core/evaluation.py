"""Closed-loop evaluation over a grid of tasks x settings x seeds, resumable and parallel.

Each episode is a :class:`EpisodeJob`: a task (a table column, e.g. ``door-open``), a setting
(a table row, e.g. the camera ``corner``), a seed and the executor parameters that make it so.
:func:`run_evaluation` writes one JSON file per episode **as soon as it finishes**
(``episodes/<task>/<setting>/seed_<seed>.json``) and skips episodes whose file exists, so an
interrupted evaluation resumes where it stopped. Episodes run in worker processes (``spawn``);
a component or simulator exception inside an episode is that episode's failure, with the reason.
At the end it writes ``summary.json``, ``results.md`` (tasks as columns, settings as rows, as in
the paper's table) and ``success.png`` (a bar chart).
"""

from __future__ import annotations

import json
import multiprocessing
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .artifacts import write_json, write_video
from .errors import InputDataError, SpecError
from .interfaces import BuildContext
from .spec import ResolvedSpec


@dataclass(frozen=True)
class EpisodeJob:
    """One episode of the grid. ``executor_params`` override the spec's executor params."""

    task: str
    setting: str
    seed: int
    executor_params: dict[str, Any] = field(default_factory=dict)

    @property
    def relative_path(self) -> Path:
        return Path("episodes") / self.task / self.setting / f"seed_{self.seed:03d}.json"


@dataclass(frozen=True)
class EvalOptions:
    """``spec_data``: the parsed spec (a dict) and ``base_dir`` its folder; ``video``: write an
    MP4 of each episode (if the executor keeps ``frames``) and of each plan's video."""

    spec_data: dict[str, Any]
    base_dir: Path
    out: Path
    workers: int = 1
    video: bool = False
    device: str | None = None


def episode_spec(spec_data: dict[str, Any], job: EpisodeJob) -> dict[str, Any]:
    """A copy of ``spec_data`` with the job's executor parameters merged in."""
    spec = json.loads(json.dumps(spec_data))  # a deep copy of plain data
    executor = spec.get("executor")
    if not isinstance(executor, dict):
        raise InputDataError("the evaluated spec needs an 'executor' section")
    executor["params"] = {**executor.get("params", {}), **job.executor_params}
    return spec


def check_unseen_seeds(resolved: ResolvedSpec, jobs: list[EpisodeJob]) -> None:
    """Raise :class:`SpecError` if a job's seed is one the spec's generator was trained on for
    that task and setting: a learned model must be evaluated on episodes it has not seen."""
    generator = resolved.components.get("generator")
    if generator is None:
        return
    context = BuildContext(base_dir=resolved.base_dir, device=resolved.spec.device)
    refuse_seen_seeds(generator.info.component.training_seeds(generator.config, context), jobs,
                      f"the generator {generator.info.address}")


def refuse_seen_seeds(seen: dict[str, list[int]], jobs: list[EpisodeJob], who: str) -> None:
    """Raise :class:`SpecError` naming the jobs whose seed is in ``seen`` for their ``task/setting``."""
    clashes: dict[str, list[int]] = {}
    for job in jobs:
        if job.seed in seen.get(f"{job.task}/{job.setting}", ()):
            clashes.setdefault(f"{job.task}/{job.setting}", []).append(job.seed)
    if clashes:
        listed = "; ".join(f"{cell}: {_ranges(seeds)}" for cell, seeds in clashes.items())
        raise SpecError(f"{who} was trained on seeds this evaluation "
                        f"would test ({listed}); evaluate on unseen seeds (--first-seed) or train on "
                        "other seeds (avdc collect --seed)")


def _ranges(seeds: list[int]) -> str:
    return f"{seeds[0]}" if len(seeds) == 1 else f"{len(seeds)} seeds from {min(seeds)} to {max(seeds)}"


def run_episode_job(job: EpisodeJob, options: EvalOptions) -> dict[str, Any]:
    """Build the pipeline for ``job``, run one closed-loop episode and return its record.

    Never raises for a failing episode: the exception becomes ``end="error"`` with the reason.
    """
    from .pipeline import build_pipeline
    from .registry import Registry
    from .runner import run_episode
    from .spec import resolve_spec

    record: dict[str, Any] = {"task": job.task, "setting": job.setting, "seed": job.seed}
    start = time.perf_counter()
    pipeline = None
    try:
        spec = episode_spec(options.spec_data, job)
        resolved = resolve_spec(spec, Registry.discover(), base_dir=options.base_dir,
                                source=f"{job.task}/{job.setting}")
        pipeline = build_pipeline(resolved, device=options.device)
        executor = pipeline.require_executor()
        media = options.out / "videos" / job.task / job.setting / f"seed_{job.seed:03d}"

        def on_plan(index: int, plan: Any) -> None:
            if options.video:
                write_video(media / f"plan_{index:02d}.mp4", plan.video.frames, fps=4)

        result = run_episode(pipeline.planner, executor, resolved.spec.replan, seed=job.seed,
                             task_text=resolved.spec.task, on_plan=on_plan)
        record.update(result.to_json())
        if options.video and getattr(executor, "frames", None):
            write_video(media / "episode.mp4", np.stack(executor.frames), fps=20)
    except Exception as error:  # an episode's failure, recorded; the evaluation goes on
        record.update({"success": False, "end": "error",
                       "error": f"{type(error).__name__}: {error}",
                       "traceback": traceback.format_exc(limit=6)})
    finally:
        if pipeline is not None:
            try:
                pipeline.close()
            except Exception:  # closing a broken simulator must not hide the episode's result
                pass
    record["seconds"] = time.perf_counter() - start
    return record


def _worker(args: tuple[EpisodeJob, EvalOptions]) -> tuple[EpisodeJob, dict[str, Any]]:
    job, options = args
    return job, run_episode_job(job, options)


def pending_jobs(jobs: list[EpisodeJob], out: Path) -> list[EpisodeJob]:
    """The jobs whose episode file does not exist yet."""
    return [job for job in jobs if not (out / job.relative_path).is_file()]


def run_evaluation(jobs: list[EpisodeJob], options: EvalOptions,
                   on_episode: Callable[[EpisodeJob, dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Run every job not finished yet (in ``options.workers`` processes), then summarise all.

    ``on_episode(job, record)`` is called in this process after each episode's file is written.
    """
    options.out.mkdir(parents=True, exist_ok=True)
    todo = pending_jobs(jobs, options.out)

    def finish(job: EpisodeJob, record: dict[str, Any]) -> None:
        write_json(options.out / job.relative_path, record)
        if on_episode is not None:
            on_episode(job, record)

    if options.workers <= 1:
        for job in todo:
            finish(job, run_episode_job(job, options))
    elif todo:
        context = multiprocessing.get_context("spawn")
        with context.Pool(min(options.workers, len(todo)), maxtasksperchild=20) as pool:
            for job, record in pool.imap_unordered(_worker, [(job, options) for job in todo]):
                finish(job, record)
    return write_summary(jobs, options.out)


def summarize(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Success rates per task x setting, per task, per setting and overall; replans, timings."""
    def rate(items: list[dict[str, Any]]) -> float:
        return float(np.mean([bool(r["success"]) for r in items])) if items else float("nan")

    tasks = list(dict.fromkeys(r["task"] for r in records))
    settings = list(dict.fromkeys(r["setting"] for r in records))
    cells = {task: {setting: rate([r for r in records if r["task"] == task and r["setting"] == setting])
                    for setting in settings} for task in tasks}
    plans = sum(len(r.get("plan_residuals_px", [])) for r in records)
    stages: dict[str, float] = {}
    for record in records:
        for stage, seconds in record.get("plan_stage_seconds", {}).items():
            stages[stage] = stages.get(stage, 0.0) + seconds
    ends: dict[str, int] = {}
    for record in records:
        ends[record.get("end", "?")] = ends.get(record.get("end", "?"), 0) + 1
    return {
        "episodes": len(records),
        "overall_success": rate(records),
        "per_task": {task: rate([r for r in records if r["task"] == task]) for task in tasks},
        "per_setting": {s: rate([r for r in records if r["setting"] == s]) for s in settings},
        "per_task_setting": cells,
        "mean_replans": float(np.mean([r.get("replans", 0) for r in records])) if records else 0.0,
        "mean_steps": float(np.mean([r.get("steps", 0) for r in records])) if records else 0.0,
        "mean_plan_seconds": float(np.mean([r.get("plan_seconds", 0.0) for r in records])) if records else 0.0,
        "plans": plans,
        "mean_stage_seconds_per_plan": {stage: total / plans for stage, total in stages.items()} if plans else {},
        "mean_episode_seconds": float(np.mean([r.get("seconds", 0.0) for r in records])) if records else 0.0,
        "ends": ends,
        "errors": [{"task": r["task"], "setting": r["setting"], "seed": r["seed"], "error": r["error"]}
                   for r in records if r.get("end") == "error"],
    }


def markdown_table(summary: dict[str, Any]) -> str:
    """Tasks as columns (plus Overall), settings as rows plus an ``all`` row; success in %."""
    cells = summary["per_task_setting"]
    tasks = list(cells)
    settings = list(summary["per_setting"])
    header = "| setting | " + " | ".join(tasks) + " | Overall |"
    lines = [header, "|" + "---|" * (len(tasks) + 2)]
    for setting in settings:
        values = [cells[t].get(setting, float("nan")) for t in tasks]
        lines.append(f"| {setting} | " + " | ".join(_pct(v) for v in values)
                     + f" | {_pct(summary['per_setting'][setting])} |")
    lines.append("| all | " + " | ".join(_pct(summary["per_task"][t]) for t in tasks)
                 + f" | **{_pct(summary['overall_success'])}** |")
    return "\n".join(lines) + "\n"


def _pct(value: float) -> str:
    return "-" if value != value else f"{100 * value:.1f}"


def bar_chart(summary: dict[str, Any], path: Path) -> None:
    """Success per task, one bar per setting, plus the overall mean as a line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = summary["per_task_setting"]
    tasks, settings = list(cells), list(summary["per_setting"])
    width = 0.8 / max(len(settings), 1)
    figure, axis = plt.subplots(figsize=(max(6.0, 0.9 * len(tasks) + 2), 4))
    for index, setting in enumerate(settings):
        values = [100 * cells[t].get(setting, np.nan) for t in tasks]
        axis.bar(np.arange(len(tasks)) + (index - (len(settings) - 1) / 2) * width, values, width,
                 label=setting)
    axis.axhline(100 * summary["overall_success"], color="k", linestyle="--",
                 label=f"overall {100 * summary['overall_success']:.1f}%")
    axis.set_xticks(np.arange(len(tasks)), tasks, rotation=35, ha="right")
    axis.set_ylabel("success (%)")
    axis.set_ylim(0, 105)
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def write_summary(jobs: list[EpisodeJob], out: Path) -> dict[str, Any]:
    """Summarise the finished episodes of ``jobs`` into ``summary.json``, ``results.md`` and
    ``success.png`` under ``out``; returns the summary."""
    records = [json.loads((out / job.relative_path).read_text()) for job in jobs
               if (out / job.relative_path).is_file()]
    summary = summarize(records)
    summary["requested_episodes"] = len(jobs)
    write_json(out / "summary.json", summary)
    (out / "results.md").write_text(markdown_table(summary) if records else "no episodes\n")
    if records:
        bar_chart(summary, out / "success.png")
    return summary
