"""The jobs of an evaluation: one per task x setting x seed, and the checks made before any runs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputDataError, SpecError
from ..interfaces import BuildContext, EvalGrid
from ..spec import ResolvedSpec


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


def grid_jobs(grid: EvalGrid, tasks: Sequence[str] | None = None, settings: Sequence[str] | None = None,
              seeds: int = 25, first_seed: int = 0, extra_params: dict[str, Any] | None = None) -> list[EpisodeJob]:
    """``tasks x settings x seeds`` jobs of an executor's grid (its default tasks and settings,
    the paper's, where ``None``); ``extra_params`` go to every job's executor."""
    if seeds < 1:
        raise SpecError(f"--seeds: {seeds}; need at least 1")
    if first_seed < 0:
        raise SpecError(f"--first-seed: {first_seed}; seeds are >= 0")
    tasks = list(grid.tasks if tasks is None else tasks)
    settings = list(grid.settings if settings is None else settings)
    for flag, values in (("--tasks", tasks), ("--settings", settings)):
        if not values:
            raise SpecError(f"{flag}: empty; give at least one (the executor's defaults: "
                            f"{', '.join(grid.tasks if flag == '--tasks' else grid.settings)})")
        duplicated = sorted({value for value in values if values.count(value) > 1})
        if duplicated:
            raise SpecError(f"{flag}: {', '.join(duplicated)} given twice")
    def params(task: str, setting: str) -> dict[str, Any]:
        values = {grid.task_param: task, **(extra_params or {})}
        if grid.setting_param is not None:
            values[grid.setting_param] = setting
        return values

    return [EpisodeJob(task, setting, seed, params(task, setting))
            for task in tasks for setting in settings for seed in range(first_seed, first_seed + seeds)]


def grid_cell(resolved: ResolvedSpec) -> tuple[str, str]:
    """The ``(task, setting)`` of the evaluation grid that a spec's executor runs as configured
    (``("-", "-")`` for an executor without a grid)."""
    executor = resolved.components.get("executor")
    grid = None if executor is None else executor.info.component.eval_grid
    if grid is None:
        return "-", "-"
    params = executor.config.model_dump(mode="json")
    setting = grid.settings[0] if grid.setting_param is None else params[grid.setting_param]
    return str(params[grid.task_param]), str(setting)


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
