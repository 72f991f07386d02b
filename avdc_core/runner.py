"""The closed loop: plan, execute, detect a stall, replan (bounded).

The paper's rule: if the robot moved less than 1 mm over 15 consecutive steps and the task is
not done, plan again from the current observation. A plan whose commands run out without
success also triggers a replan. At most ``max_replans`` replans, at most ``max_steps`` steps.

When no plan can be made (a :class:`~avdc_core.errors.PlanFailedError`: the target is hidden,
e.g. by the robot's own hand, or its tracks are lost or never move) the attempt counts as a
replan: the executor retreats out of the camera's view (:meth:`Executor.retreat`) and the loop
looks again. The reasons are kept in :attr:`EpisodeResult.plan_failures`.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .errors import PlanFailedError
from .interfaces import Executor
from .planner import Planner
from .spec import ReplanConfig
from .types import Plan, StepReport


class StallDetector:
    """True once the effector moved less than ``stall_mm`` over the last ``stall_steps`` steps."""

    def __init__(self, stall_steps: int, stall_mm: float) -> None:
        self.threshold_m = stall_mm / 1000.0
        self.history: deque[np.ndarray] = deque(maxlen=stall_steps + 1)

    def update(self, position_m: np.ndarray) -> bool:
        self.history.append(np.asarray(position_m, dtype=np.float64))
        if len(self.history) < self.history.maxlen:
            return False
        return float(np.linalg.norm(self.history[-1] - self.history[0])) < self.threshold_m


@dataclass
class EpisodeResult:
    """How one closed-loop episode ended. ``end`` is ``success``, ``step_limit``,
    ``replan_limit``, ``stopped`` (the robot ended it, e.g. a navigating agent's stop, without
    success) or ``plan_failed`` (no attempt gave a plan); ``plan_failures`` says why each
    failed attempt (:class:`~avdc_core.errors.PlanFailedError`) could not plan;
    ``plan_stage_seconds`` sums each planning stage (``generate``, ``flow``, ``segment``, ``track``,
    ``solve``) over the episode's plans (one per entry of ``plan_residuals_px``);
    ``plan_primitives`` names what the executor made of each plan: its commands' ``mode`` (a
    manipulator's grasp, push, pull, slide or turn), else their ``kind``."""

    success: bool
    steps: int
    replans: int
    end: str
    plan_seconds: float
    execute_seconds: float
    plan_residuals_px: list[float] = field(default_factory=list)
    plan_failures: list[str] = field(default_factory=list)
    plan_stage_seconds: dict[str, float] = field(default_factory=dict)
    plan_primitives: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def run_episode(planner: Planner, executor: Executor, config: ReplanConfig, seed: int = 0,
                task_text: str | None = None,
                on_plan: Callable[[int, Plan], None] | None = None) -> EpisodeResult:
    """Run one episode; ``on_plan(index, plan)`` is called after every planning pass."""
    observation = executor.reset(seed)
    text = task_text or executor.task_text()
    steps = 0
    plan_seconds = execute_seconds = 0.0
    residuals: list[float] = []
    failures: list[str] = []
    primitives: list[str] = []
    stages: dict[str, float] = {}

    def follow(reports: Iterator[StepReport]) -> str | None:
        """Step through ``reports``: ``success``, ``stopped`` (the robot ended the episode without
        success), ``step_limit``, or ``None`` (done or stalled)."""
        nonlocal steps
        detector = StallDetector(config.stall_steps, config.stall_mm)
        for report in reports:
            steps += 1
            if report.success:
                return "success"
            if report.stopped:
                return "stopped"
            if steps >= config.max_steps:
                return "step_limit"
            if detector.update(report.effector_m):
                return None
        return None

    for attempt in range(config.max_replans + 1):
        start = time.perf_counter()
        try:
            plan = planner.plan(observation, text, executor.segment_target(), mode=executor.motion_mode,
                                seed=seed * 1000 + attempt)
            commands = executor.commands(plan.trajectory, plan.points_world, observation)
        except PlanFailedError as error:  # nothing to follow: move away and look again
            plan = None
            failures.append(f"plan {attempt}: {error}")
        plan_seconds += time.perf_counter() - start
        if plan is None:
            reports = executor.retreat()
        else:
            residuals.append(float(np.max(plan.trajectory.residuals_px)))
            primitives.append(str(commands.data.get("mode", commands.kind)))
            for stage, seconds in plan.timings_s.items():
                stages[stage] = stages.get(stage, 0.0) + seconds
            if on_plan is not None:
                on_plan(attempt, plan)
            reports = executor.execute(commands)
        start = time.perf_counter()
        end = follow(reports)
        execute_seconds += time.perf_counter() - start
        if end is not None:
            return EpisodeResult(end == "success", steps, attempt, end, plan_seconds,
                                 execute_seconds, residuals, failures, stages, primitives)
        observation = executor.observe()
    end = "plan_failed" if len(failures) > config.max_replans else "replan_limit"
    return EpisodeResult(False, steps, config.max_replans, end, plan_seconds,
                         execute_seconds, residuals, failures, stages, primitives)
