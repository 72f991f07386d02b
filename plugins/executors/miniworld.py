"""``executor/miniworld``: an agent that walks to a named object in MiniWorld, driven by the
camera motion of a plan (``motion_mode = "camera"``).

Observations carry RGB, MiniWorld's metric depth and the agent camera's exact pinhole model
(:mod:`avdc_plugins.simulators.miniworld.scene`), and the simulator's view for privileged
components (``generator/oracle``, ``flow/sim-flow``). The segmenter should take the whole scene
(``segmenter/whole-scene``): the solver recovers the static scene's motion and returns the
camera's.

``commands`` applies the paper's action rule to each consecutive pair of the plan's camera
motion ``G`` (frame ``t`` relative to frame ``t - 1``, in the earlier camera's frame): the
subgoal ``q = G · (0, 0, 1)`` (the point one metre ahead) — *done* when it stays within
``done_tolerance_m`` of ``(0, 0, 1)``, *turn left/right* when its lateral offset passes
``-/+ lateral_threshold_m``, else *move forward*. Every action of a plan is executed, then the
runner replans. A plan whose camera does not move at all is not a silent "done": it raises
:class:`~avdc_core.errors.PlanFailedError` (recorded; the agent turns and looks again).
Success is the environment's own goal test (``near`` the target).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from pydantic import Field, field_validator

from avdc_core import hookimpl
from avdc_core.errors import InputDataError, PlanFailedError, SpecError
from avdc_core.interfaces import BuildContext, ComponentConfig, EvalGrid
from avdc_core.types import Commands, Observation, RigidTrajectory, SegmentTarget, StepReport, invert_rigid
from avdc_plugins.simulators.miniworld.tasks import DEFAULT_TASKS, TARGET, check_task, task_text

from .simulated import SceneExecutor

AHEAD = np.array([0.0, 0.0, 1.0, 1.0])


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


class MiniWorldExecutor(SceneExecutor):
    """MiniWorld navigation: walk to the red box with discrete moves from the camera's motion."""

    name = "miniworld"
    motion_mode = "camera"
    command_kind = "discrete"
    eval_grid = EvalGrid(task_param="task", setting_param=None, tasks=DEFAULT_TASKS, settings=("agent",))

    class Config(ComponentConfig):
        task: str = Field(default="one-room", description="go-to-object task: one-room, hallway, four-rooms, ...")
        resolution: tuple[int, int] = Field(default=(128, 128), description="width, height (pixels); real "
                                            "flow loses 25-35 points at 64x64 (measured, see README)")
        fov_deg: float = Field(default=90.0, gt=10, lt=170, description="vertical field of view (the "
                               "paper's iTHOR camera: 90)")
        turn_step_deg: float = Field(default=15.0, gt=0, le=180, description="one turn action (MiniWorld's "
                                     "default: 15; larger turns outrun real flow, see README)")
        forward_step_m: float = Field(default=0.4, gt=0, le=2, description="one move_forward action")
        max_steps: int = Field(default=100, ge=1, description="actions per episode")
        lateral_threshold_m: float = Field(default=0.2, gt=0, description="subgoal offset that makes a turn")
        done_tolerance_m: float = Field(default=1e-3, ge=0, description="subgoal this close to straight "
                                        "ahead: the pair does not move")
        record: bool = Field(default=False, description="keep an RGB frame of every step")

        @field_validator("task")
        @classmethod
        def _known_task(cls, task: str) -> str:
            try:
                return check_task(task)
            except SpecError as error:  # pydantic reports a ValueError with the field's path
                raise ValueError(str(error).removeprefix("task: ")) from error

    def __init__(self, config: Config, context: BuildContext) -> None:
        super().__init__(config, context)
        self._steps = 0

    def reset(self, seed: int) -> Observation:
        from avdc_plugins.simulators.miniworld.scene import MiniWorldScene

        config = self.config
        width, height = config.resolution
        self._steps = 0
        return self._start(lambda: MiniWorldScene(config.task, width, height, seed, config.turn_step_deg,
                                                  config.forward_step_m, config.fov_deg))

    def task_text(self) -> str:
        return task_text(self.config.task)

    def segment_target(self) -> SegmentTarget:
        return SegmentTarget("scene", hints={"task": self.config.task, "target": TARGET})

    def commands(self, trajectory: RigidTrajectory, plan_points_world: np.ndarray,
                 observation: Observation) -> Commands:
        if trajectory.mode != "camera":
            raise InputDataError(f"executor/miniworld needs a camera-mode trajectory (the camera's own "
                                 f"motion), got mode={trajectory.mode!r}")
        actions = pair_actions(trajectory, observation.camera.cam_to_world, self.config.lateral_threshold_m,
                               self.config.done_tolerance_m)
        moves = [action for action in actions if action != "done"]
        if not moves:
            raise PlanFailedError(f"executor/miniworld: the plan's camera does not move over its "
                                  f"{len(actions) + 1} frames (the video imagines the goal reached, or its "
                                  "motion is degenerate) while the task is not done")
        return Commands("discrete", {"actions": moves})

    def execute(self, commands: Commands) -> Iterator[StepReport]:
        if commands.kind != "discrete" or "actions" not in commands.data:
            raise InputDataError(f"executor/miniworld executes 'discrete' commands; got kind={commands.kind!r}")
        for action in commands.data["actions"]:
            if self._steps >= self.config.max_steps:
                return
            report = self._step(action)
            yield report
            if report.success:
                return

    def retreat(self) -> Iterator[StepReport]:
        """No plan could be made: turn once and look again."""
        if self._steps < self.config.max_steps:
            yield self._step("turn_left")

    def _step(self, action: str) -> StepReport:
        scene = self._scene()
        if action not in ("turn_left", "turn_right", "move_forward"):
            raise InputDataError(f"executor/miniworld: unknown action {action!r}; actions are turn_left, "
                                 "turn_right, move_forward")
        success = scene.step(action)
        self._steps += 1
        if self.config.record:
            self.frames.append(scene.render()[0])
        return StepReport(self._steps, scene.effector(), success, {"action": action})


@hookimpl
def avdc_components():
    return [MiniWorldExecutor]
