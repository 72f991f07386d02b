"""One closed-loop episode: on a built pipeline (``avdc run``) or from a job (``avdc eval``)."""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..artifacts import write_plan_artifacts, write_video
from ..errors import AvdcError, InputDataError
from ..pipeline import Pipeline, build_pipeline
from ..planner import Planner
from ..registry import Registry
from ..runner import EpisodeResult, run_episode
from ..spec import ResolvedSpec, resolve_spec
from .jobs import EpisodeJob, episode_spec
from .run_folder import fingerprint, resolved_content


@dataclass(frozen=True)
class EvalOptions:
    """``spec_data``: the parsed spec (a dict) and ``base_dir`` its folder; ``video``: write a
    WebM of each episode (if the executor keeps ``frames``) and of each plan's video under
    ``videos/<task>/<setting>/seed_<seed>/``; ``plans``: each plan's artifacts (video, flow, tracks,
    trajectory) under ``plans/<task>/<setting>/seed_<seed>/plan_NN/``."""

    spec_data: dict[str, Any]
    base_dir: Path
    out: Path
    video: bool = False
    plans: bool = False
    device: str | None = None
    source: str = "spec"
    """Where the spec came from (its path), for messages and the run record."""


def play_episode(pipeline: Pipeline, resolved: ResolvedSpec, seed: int, plans_dir: Path | None = None,
                 video_dir: Path | None = None, title: str = "") -> EpisodeResult:
    """Run one closed-loop episode (plan, execute, replan) on a built pipeline.

    ``plans_dir``: write each plan's artifacts (video, flow, tracks, trajectory) to
    ``plans_dir/plan_NN``; ``video_dir``: a WebM of each plan's video and, if the executor keeps
    ``frames``, of the episode; ``title`` (e.g. task, camera, seed) heads each plan's figures.
    """
    executor = pipeline.require_executor()

    def on_plan(index: int, plan: Any) -> None:
        if plans_dir is not None:
            write_plan_artifacts(plan, plans_dir / f"plan_{index:02d}", title=f"{title} plan {index}".strip())
        if video_dir is not None:
            write_video(video_dir / f"plan_{index:02d}.webm", plan.video.frames, fps=4)

    result = run_episode(pipeline.planner, executor, resolved.spec.replan, seed=seed,
                         task_text=resolved.spec.task, on_plan=on_plan)
    if video_dir is not None and getattr(executor, "frames", None):
        write_video(video_dir / "episode.webm", np.stack(executor.frames), fps=20)
    return result


def _resolve_job(job: EpisodeJob, options: EvalOptions) -> ResolvedSpec:
    return resolve_spec(episode_spec(options.spec_data, job), Registry.discover(),
                        base_dir=options.base_dir, source=f"{options.source} ({job.task}/{job.setting})")


def check_buildable(job: EpisodeJob, options: EvalOptions) -> None:
    """Build (and close) ``job``'s pipeline: a component that cannot be built raises here, once,
    naming the component, instead of failing every episode."""
    resolved = _resolve_job(job, options)
    try:
        build_pipeline(resolved, device=options.device).close()
    except AvdcError:
        raise
    except Exception as error:  # a component's own failure: name it, once
        raise InputDataError(f"{options.source}: the pipeline cannot be built for {job.task}/{job.setting}: "
                             f"{type(error).__name__}: {error}") from error


class PlannerCache:
    """The last planner built, reused while the planning components stay the same: a worker
    loads its models once, not once per episode. Plans draw their randomness from explicit
    seeds, so a reused planner plans exactly as a fresh one."""

    def __init__(self) -> None:
        self._key: str | None = None
        self._planner: Planner | None = None

    def get(self, resolved: ResolvedSpec, device: str | None) -> Planner | None:
        """The cached planner if it was built from the same components, else ``None``."""
        return self._planner if self._key == self._key_of(resolved, device) else None

    def keep(self, resolved: ResolvedSpec, device: str | None, planner: Planner) -> None:
        self._key, self._planner = self._key_of(resolved, device), planner

    @staticmethod
    def _key_of(resolved: ResolvedSpec, device: str | None) -> str:
        content = resolved_content(resolved)
        content.pop("executor", None)
        return fingerprint({**content, "built_on": device})


WORKER_PLANNERS = PlannerCache()
"""The planner of a worker process (a backend's, not the caller's), kept between its episodes."""


def run_episode_job(job: EpisodeJob, options: EvalOptions, planners: PlannerCache | None = None) -> dict[str, Any]:
    """Build the pipeline for ``job`` (its planner from ``planners`` where it holds the same one),
    run one closed-loop episode and return its record.

    Never raises for a failing episode: the exception becomes ``end="error"`` with the reason.
    """
    record: dict[str, Any] = {"task": job.task, "setting": job.setting, "seed": job.seed}
    start = time.perf_counter()
    pipeline = None
    try:
        resolved = _resolve_job(job, options)
        cached = planners.get(resolved, options.device) if planners is not None else None
        pipeline = build_pipeline(resolved, device=options.device, planner=cached)
        if planners is not None and cached is None:
            planners.keep(resolved, options.device, pipeline.planner)
        episode = Path(job.task) / job.setting / f"seed_{job.seed:03d}"
        result = play_episode(pipeline, resolved, job.seed,
                              plans_dir=options.out / "plans" / episode if options.plans else None,
                              video_dir=options.out / "videos" / episode if options.video else None,
                              title=f"{job.task} / {job.setting} / seed {job.seed}")
        record.update(result.to_json())
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
