"""Closed-loop evaluation over a grid of tasks x settings x seeds, resumable and parallel.

Each episode is an :class:`EpisodeJob` (:mod:`.jobs`): a task (a table column, e.g.
``door-open``), a setting (a table row, e.g. the camera ``corner``), a seed and the executor
parameters that make it so; an executor's :class:`~avdc_core.interfaces.EvalGrid` says how its
tasks and settings map onto its parameters. :func:`run_evaluation` hands the unfinished jobs to a
:class:`~.backends.Backend` (``map(jobs) -> (job, record)``: local processes by default, or a
Ray cluster, :mod:`.ray_backend`), writes one JSON file per episode **as soon as it finishes**
(``episodes/<task>/<setting>/seed_<seed>.json``) and skips episodes already done, so an
interrupted evaluation resumes where it stopped; the folder records which spec made it and is
held by one evaluation at a time (:mod:`.run_folder`). A component or simulator exception inside an
episode is that episode's failure, with the reason (:mod:`.episode`). At the end it writes
``summary.json``, ``results.md`` (tasks as columns, settings as rows, as in the paper's table;
:mod:`.summary`) and ``success.png`` (:mod:`.figures`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..artifacts import write_json
from ..registry import Registry
from ..spec import resolve_spec
from .backends import Backend, LocalBackend
from .episode import EvalOptions, PlannerCache, check_buildable, play_episode, run_episode_job
from .jobs import (
    EpisodeJob,
    check_unseen_seeds,
    episode_spec,
    grid_jobs,
    refuse_seen_seeds,
)
from .run_folder import claim_run_folder, episode_state, pending_jobs, read_record
from .summary import markdown_table, summarize, write_summary

__all__ = [
    "Backend", "EpisodeJob", "EvalOptions", "LocalBackend", "PlannerCache", "check_buildable", "check_unseen_seeds",
    "claim_run_folder", "episode_spec", "episode_state", "grid_jobs", "markdown_table", "pending_jobs",
    "play_episode", "read_record", "refuse_seen_seeds", "run_episode_job", "run_evaluation", "summarize",
    "write_summary",
]


def run_evaluation(jobs: list[EpisodeJob], options: EvalOptions, backend: Backend | None = None,
                   on_episode: Callable[[EpisodeJob, dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Run every job not finished yet on ``backend`` (one local process by default), then
    summarise all of them.

    Before any episode runs, the output folder is claimed (:func:`.run_folder.claim_run_folder`:
    writable, not held by another evaluation, made by this spec or new) and the pipeline of the
    first pending job is built once, so that a component that cannot be built fails the
    evaluation at once instead of every episode. ``on_episode(job, record)`` is called in this
    process after each episode's file is written.
    """
    resolved = resolve_spec(options.spec_data, Registry.discover(), base_dir=options.base_dir,
                            source=options.source)
    with claim_run_folder(options.out, resolved, options.source):
        todo = pending_jobs(jobs, options.out)
        if todo:
            check_buildable(todo[0], options)
        for job, record in (backend or LocalBackend()).map(todo, options):
            write_json(options.out / job.relative_path, record)
            if on_episode is not None:
                on_episode(job, record)
        return write_summary(jobs, options.out)
