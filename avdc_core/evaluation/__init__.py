"""Closed-loop evaluation over a grid of tasks x settings x seeds, resumable and parallel.

Each episode is an :class:`EpisodeJob` (:mod:`.jobs`): a task (a table column, e.g.
``door-open``), a setting (a table row, e.g. the camera ``corner``), a seed and the executor
parameters that make it so; an executor's :class:`~avdc_core.interfaces.EvalGrid` says how its
tasks and settings map onto its parameters. :func:`run_evaluation` hands the unfinished jobs to a
:class:`~.backends.Backend` (``map(jobs) -> (job, record)``: local processes by default, a
distributed engine later), writes one JSON file per episode **as soon as it finishes**
(``episodes/<task>/<setting>/seed_<seed>.json``) and skips episodes whose file exists, so an
interrupted evaluation resumes where it stopped. A component or simulator exception inside an
episode is that episode's failure, with the reason (:mod:`.episode`). At the end it writes
``summary.json``, ``results.md`` (tasks as columns, settings as rows, as in the paper's table;
:mod:`.summary`) and ``success.png`` (:mod:`.figures`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..artifacts import write_json
from .backends import Backend, LocalBackend
from .episode import EvalOptions, play_episode, run_episode_job
from .jobs import (
    EpisodeJob,
    check_unseen_seeds,
    episode_spec,
    grid_jobs,
    pending_jobs,
    refuse_seen_seeds,
)
from .summary import markdown_table, summarize, write_summary

__all__ = [
    "Backend", "EpisodeJob", "EvalOptions", "LocalBackend", "check_unseen_seeds", "episode_spec",
    "grid_jobs", "markdown_table", "pending_jobs", "play_episode", "refuse_seen_seeds",
    "run_episode_job", "run_evaluation", "summarize", "write_summary",
]


def run_evaluation(jobs: list[EpisodeJob], options: EvalOptions, backend: Backend | None = None,
                   on_episode: Callable[[EpisodeJob, dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Run every job not finished yet on ``backend`` (one local process by default), then
    summarise all of them.

    ``on_episode(job, record)`` is called in this process after each episode's file is written.
    """
    options.out.mkdir(parents=True, exist_ok=True)
    for job, record in (backend or LocalBackend()).map(pending_jobs(jobs, options.out), options):
        write_json(options.out / job.relative_path, record)
        if on_episode is not None:
            on_episode(job, record)
    return write_summary(jobs, options.out)
