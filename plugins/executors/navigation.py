"""What the navigating executors share: the paper's action rule, from a plan's camera motion to
discrete moves, and the loop that executes them (``executor/miniworld``, ``executor/ai2thor``).

``commands`` applies the rule to each consecutive pair of the plan's camera motion ``G`` (frame
``t`` relative to frame ``t - 1``, in the earlier camera's frame): the subgoal ``q = G · (0, 0, 1)``
(the point one metre ahead) — *done* when it stays within ``done_tolerance_m`` of ``(0, 0, 1)``,
*turn left/right* when its lateral offset passes ``-/+ lateral_threshold_m``, else *move
forward*. Every action of a plan is executed, then the runner replans.

A plan whose every pair is *done* (a still video) means one of two things, chosen by
``still_plan``:

* ``replan`` — a failure to plan, never a silent "done": :class:`~avdc_core.errors.PlanFailedError`
  is recorded and the agent turns and looks again (for worlds whose own goal test ends the
  episode on arrival, like MiniWorld's);
* ``stop`` — the agent declares it has arrived (the paper's iTHOR protocol): one ``stop`` step
  ends the episode, a success if the world's test says so.

The scene an executor drives has ``step(action) -> bool`` (whether the action ended the episode
in success; a world that tests success only at the end returns False), ``success()`` (the
world's test now: asked at a stop and after the last allowed action), ``effector()`` (a point
that moves with every turn and walk: the stall detector's), ``observation()``, ``render()`` (RGB
first) and ``close()``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import numpy as np
from pydantic import Field

from avdc_core.errors import InputDataError, PlanFailedError
from avdc_core.interfaces import BuildContext, ComponentConfig
from avdc_core.types import Commands, Observation, RigidTrajectory, StepReport, invert_rigid

from .simulated import SceneExecutor

AHEAD = np.array([0.0, 0.0, 1.0, 1.0])
MOVES = ("turn_left", "turn_right", "move_forward")
"""The discrete moves every navigating executor makes; ``stop`` ends an episode."""


def pair_actions(trajectory: RigidTrajectory, camera_to_world: np.ndarray, lateral_threshold_m: float,
                 done_tolerance_m: float) -> list[str]:
    """The paper's action for each consecutive pair of a camera-mode trajectory: ``done``,
    ``turn_left``, ``turn_right`` or ``move_forward``."""
    poses = trajectory.transforms @ camera_to_world  # camera pose at each frame (world)
    actions = []
    for t in range(1, len(poses)):
        relative = invert_rigid(poses[t - 1]) @ poses[t]  # frame t's camera in frame t-1's
        subgoal = (relative @ AHEAD)[:3]
        if np.linalg.norm(subgoal - AHEAD[:3]) < done_tolerance_m:
            actions.append("done")
        elif subgoal[0] < -lateral_threshold_m:
            actions.append("turn_left")
        elif subgoal[0] > lateral_threshold_m:
            actions.append("turn_right")
        else:
            actions.append("move_forward")
    return actions


class NavigationConfig(ComponentConfig):
    """Settings of the action rule and the episode, common to every navigating executor."""

    max_steps: int = Field(default=100, ge=1, description="actions per episode")
    lateral_threshold_m: float = Field(default=0.2, gt=0, description="subgoal offset that makes a turn")
    done_tolerance_m: float = Field(default=1e-3, ge=0, description="subgoal this close to straight "
                                    "ahead: the pair does not move")
    still_plan: Literal["replan", "stop"] = Field(default="replan", description="a plan that does not move: "
                                                  "a recorded plan failure (replan) or the agent's stop")
    record: bool = Field(default=False, description="keep an RGB frame of every step")


class NavigationExecutor(SceneExecutor):
    """A camera that moves itself by discrete actions (``motion_mode = "camera"``)."""

    motion_mode = "camera"
    command_kind = "discrete"

    def __init__(self, config: NavigationConfig, context: BuildContext) -> None:
        super().__init__(config, context)
        self._steps = 0
        self._stopped = False

    def _start_episode(self, make_scene) -> Observation:
        self._steps, self._stopped = 0, False
        return self._start(make_scene)

    def commands(self, trajectory: RigidTrajectory, plan_points_world: np.ndarray,
                 observation: Observation) -> Commands:
        if trajectory.mode != "camera":
            raise InputDataError(f"executor/{self.name} needs a camera-mode trajectory (the camera's own "
                                 f"motion), got mode={trajectory.mode!r}")
        actions = pair_actions(trajectory, observation.camera.cam_to_world, self.config.lateral_threshold_m,
                               self.config.done_tolerance_m)
        moves = [action for action in actions if action != "done"]
        if moves:
            return Commands("discrete", {"actions": moves})
        if self.config.still_plan == "stop":
            return Commands("discrete", {"actions": ["stop"]})
        raise PlanFailedError(f"executor/{self.name}: the plan's camera does not move over its "
                              f"{len(actions) + 1} frames (the video imagines the goal reached, or its "
                              "motion is degenerate) while the task is not done")

    def execute(self, commands: Commands) -> Iterator[StepReport]:
        if commands.kind != "discrete" or "actions" not in commands.data:
            raise InputDataError(f"executor/{self.name} executes 'discrete' commands; got kind={commands.kind!r}")
        for action in commands.data["actions"]:
            if self._steps >= self.config.max_steps or self._stopped:
                return
            report = self._step(action)
            yield report
            if report.success or report.stopped:
                return

    def retreat(self) -> Iterator[StepReport]:
        """No plan could be made: turn once and look again."""
        if self._steps < self.config.max_steps and not self._stopped:
            yield self._step("turn_left")

    def _step(self, action: str) -> StepReport:
        scene = self._scene()
        if action == "stop":
            self._stopped = True
            return StepReport(self._steps, scene.effector(), scene.success(), {"action": action}, stopped=True)
        if action not in MOVES:
            raise InputDataError(f"executor/{self.name}: unknown action {action!r}; actions are "
                                 f"{', '.join(MOVES)} and stop")
        success = scene.step(action)
        self._steps += 1
        if self._steps == self.config.max_steps:  # the last step: the world's test decides
            success = success or scene.success()
        if self.config.record:
            self.frames.append(scene.render()[0])
        return StepReport(self._steps, scene.effector(), success, {"action": action})
