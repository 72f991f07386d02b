"""Where episodes run: a backend maps jobs to records, yielding each as it finishes.

:class:`LocalBackend` runs them in this process or in ``spawn``-ed worker processes of this
machine. Another engine (a cluster) implements the same ``map``; records must not depend on
where an episode ran.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from typing import Any, Protocol

from .episode import WORKER_PLANNERS, EvalOptions, PlannerCache, run_episode_job
from .jobs import EpisodeJob


class Backend(Protocol):
    """Runs episodes: ``map`` yields ``(job, record)`` for every job, in any order, as each
    finishes (:func:`~.episode.run_episode_job` makes the record)."""

    def map(self, jobs: list[EpisodeJob], options: EvalOptions) -> Iterator[tuple[EpisodeJob, dict[str, Any]]]:
        ...


def _run(args: tuple[EpisodeJob, EvalOptions]) -> tuple[EpisodeJob, dict[str, Any]]:
    job, options = args
    return job, run_episode_job(job, options, WORKER_PLANNERS)


class LocalBackend:
    """``workers`` processes of this machine (1: in this process, in order)."""

    def __init__(self, workers: int = 1, tasks_per_worker: int = 20) -> None:
        self.workers = max(1, int(workers))
        self.tasks_per_worker = tasks_per_worker

    def map(self, jobs: list[EpisodeJob], options: EvalOptions) -> Iterator[tuple[EpisodeJob, dict[str, Any]]]:
        if self.workers == 1 or len(jobs) <= 1:
            planners = PlannerCache()  # this evaluation's only: nothing stays loaded after it
            for job in jobs:
                yield job, run_episode_job(job, options, planners)
            return
        context = multiprocessing.get_context("spawn")  # simulators and torch do not survive fork
        with context.Pool(min(self.workers, len(jobs)), maxtasksperchild=self.tasks_per_worker) as pool:
            yield from pool.imap_unordered(_run, [(job, options) for job in jobs])
