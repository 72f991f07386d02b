"""The closed loop: plan, execute, detect a stall, replan (bounded).

The paper's rule: if the robot moved less than 1 mm over 15 consecutive steps and the task is
not done, plan again from the current observation. A plan whose commands run out without
success also triggers a replan. At most ``max_replans`` replans, at most ``max_steps`` steps.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .interfaces import Executor
from .planner import Planner
from .spec import ReplanConfig
from .types import Plan


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
    """How one closed-loop episode ended. ``end`` is ``success``, ``step_limit`` or
    ``replan_limit``."""

    success: bool
    steps: int
    replans: int
    end: str
    plan_seconds: float
    execute_seconds: float
    plan_residuals_px: list[float] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def run_episode(planner: Planner, executor: Executor, config: ReplanConfig, seed: int = 0,
                task_text: str | None = None,
                on_plan: Callable[[int, Plan], None] | None = None) -> EpisodeResult:
    """Run one episode; ``on_plan(index, plan)`` is called after every planning pass."""
    observation = executor.reset(seed)
    text = task_text or executor.task_text()
    target = executor.segment_target()
    steps = 0
    plan_seconds = execute_seconds = 0.0
    residuals: list[float] = []
    for attempt in range(config.max_replans + 1):
        start = time.perf_counter()
        plan = planner.plan(observation, text, target, mode=executor.motion_mode,
                            seed=seed * 1000 + attempt)
        commands = executor.commands(plan.trajectory, plan.points_world, observation)
        plan_seconds += time.perf_counter() - start
        residuals.append(float(np.max(plan.trajectory.residuals_px)))
        if on_plan is not None:
            on_plan(attempt, plan)
        detector = StallDetector(config.stall_steps, config.stall_mm)
        start = time.perf_counter()
        for report in executor.execute(commands):
            steps += 1
            if report.success:
                execute_seconds += time.perf_counter() - start
                return EpisodeResult(True, steps, attempt, "success", plan_seconds,
                                     execute_seconds, residuals)
            if steps >= config.max_steps:
                execute_seconds += time.perf_counter() - start
                return EpisodeResult(False, steps, attempt, "step_limit", plan_seconds,
                                     execute_seconds, residuals)
            if detector.update(report.effector_m):
                break
        execute_seconds += time.perf_counter() - start
        observation = executor.observe()
    return EpisodeResult(False, steps, config.max_replans, "replan_limit", plan_seconds,
                         execute_seconds, residuals)
