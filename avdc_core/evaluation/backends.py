"""Where episodes run: a backend maps jobs to records, yielding each as it finishes.

:class:`LocalBackend` runs them in this process or in ``spawn``-ed worker processes of this
machine. Another engine (a cluster) implements the same ``map``; records must not depend on
where an episode ran.
"""

from __future__ import annotations

import multiprocessing
import os
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


def share_cores(workers: int) -> None:
    """Give this worker process its share of the machine's cores among ``workers`` processes:
    ``cpu_count // workers`` compute threads (at least 1) for torch and OpenCV.

    Each library otherwise starts one thread per core in every worker; two workers on two cores
    then run four busy threads, and a navigation plan took 13.4 s to generate instead of 4.6 s
    (``avdc eval specs/miniworld-generated.yaml --workers 2``, measured 2026-12-07).
    """
    import cv2
    import torch

    threads = max(1, (os.cpu_count() or 1) // workers)
    torch.set_num_threads(threads)
    cv2.setNumThreads(threads)


class LocalBackend:
    """``workers`` processes of this machine (1: in this process, in order); the cores are
    shared out among them (:func:`share_cores`)."""

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
        processes = min(self.workers, len(jobs))
        with context.Pool(processes, share_cores, (processes,), maxtasksperchild=self.tasks_per_worker) as pool:
            yield from pool.imap_unordered(_run, [(job, options) for job in jobs])
