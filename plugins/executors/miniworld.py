"""``executor/miniworld``: an agent that walks to a named object in MiniWorld, driven by the
camera motion of a plan (``motion_mode = "camera"``).

Observations carry RGB, MiniWorld's metric depth and the agent camera's exact pinhole model
(:mod:`avdc_plugins.simulators.miniworld.scene`), and the simulator's view for privileged
components (``generator/oracle``, ``flow/sim-flow``). The segmenter should take the whole scene
(``segmenter/whole-scene``): the solver recovers the static scene's motion and returns the
camera's.

Discrete moves come from the plan's camera motion by the paper's action rule
(:mod:`.navigation`); a still plan is a recorded plan failure (the agent turns and looks again).
Success is the environment's own goal test (``near`` the target).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from avdc_core import hookimpl
from avdc_core.interfaces import EvalGrid
from avdc_core.spec import checked_by
from avdc_core.types import Observation, SegmentTarget
from avdc_plugins.simulators.miniworld.tasks import (
    DEFAULT_TASKS,
    FORWARD_STEP_M,
    FOV_DEG,
    TARGET,
    TURN_STEP_DEG,
    check_task,
    task_text,
)

from .navigation import NavigationConfig, NavigationExecutor


class MiniWorldExecutor(NavigationExecutor):
    """MiniWorld navigation: walk to the red box with discrete moves from the camera's motion."""

    name = "miniworld"
    eval_grid = EvalGrid(task_param="task", setting_param=None, tasks=DEFAULT_TASKS, settings=("agent",))

    class Config(NavigationConfig):
        task: Annotated[str, checked_by(check_task)] = Field(
            default="one-room", description="go-to-object task: one-room, hallway, four-rooms, ...")
        resolution: tuple[int, int] = Field(default=(128, 128), description="width, height (pixels); real "
                                            "flow loses 25-35 points at 64x64 (measured, see README)")
        fov_deg: float = Field(default=FOV_DEG, gt=10, lt=170, description="vertical field of view (the "
                               "paper's iTHOR camera: 90)")
        turn_step_deg: float = Field(default=TURN_STEP_DEG, gt=0, le=180, description="one turn action (MiniWorld's "
                                     "default: 15; larger turns outrun real flow, see README)")
        forward_step_m: float = Field(default=FORWARD_STEP_M, gt=0, le=2, description="one move_forward action")

    def reset(self, seed: int) -> Observation:
        from avdc_plugins.simulators.miniworld.scene import MiniWorldScene

        config = self.config
        width, height = config.resolution
        return self._start_episode(lambda: MiniWorldScene(config.task, width, height, seed, config.turn_step_deg,
                                                          config.forward_step_m, config.fov_deg))

    def task_text(self) -> str:
        return task_text(self.config.task)

    def segment_target(self) -> SegmentTarget:
        return SegmentTarget("scene", hints={"task": self.config.task, "target": TARGET})


@hookimpl
def avdc_components():
    return [MiniWorldExecutor]
