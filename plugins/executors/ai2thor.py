"""``executor/ai2thor``: object navigation in iTHOR with the paper's protocol.

The agent starts at a seeded random reachable position of the target's scene and walks by the
paper's action rule (:mod:`.navigation`, shared with ``executor/miniworld``) in 45° turns and
0.25 m steps; a still plan is the agent's *stop* (``still_plan: stop``), and success is the
paper's: the target is visible when the agent stops or after its last action (at most 50).
Observations carry 64x64 RGB, AI2-THOR's metric depth and the exact camera; there is no
privileged simulator view (no scripted expert), so ``generator/oracle`` and ``flow/sim-flow`` do
not apply here: plans come from a video model and a real flow.

AI2-THOR's Unity build is never downloaded at run time: ``reset`` locates it first
(:mod:`avdc_plugins.simulators.ai2thor.build`) and a missing build is a clear error naming the
folder and how to get it, before any network access.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from avdc_core import hookimpl
from avdc_core.interfaces import EvalGrid
from avdc_core.spec import checked_by
from avdc_core.types import Observation, SegmentTarget
from avdc_plugins.simulators.ai2thor.build import Platform
from avdc_plugins.simulators.ai2thor.tasks import (
    FOV_DEG,
    GRID_SIZE_M,
    MAX_STEPS,
    RESOLUTION,
    ROTATE_STEP_DEG,
    TARGET_SCENES,
    VISIBILITY_DISTANCE_M,
    check_target,
    target_text,
)

from .navigation import NavigationConfig, NavigationExecutor


class AI2ThorExecutor(NavigationExecutor):
    """iTHOR object navigation: walk until the named object is in view, then stop."""

    name = "ai2thor"
    eval_grid = EvalGrid(task_param="target", setting_param=None, tasks=tuple(TARGET_SCENES), settings=("agent",))

    class Config(NavigationConfig):
        target: Annotated[str, checked_by(check_target)] = Field(
            default="Toaster", description="object type to find (the paper's 12 targets)")
        scene: str | None = Field(default=None, description="iTHOR scene; default: the paper's for the target")
        resolution: tuple[int, int] = Field(default=RESOLUTION, description="width, height (pixels)")
        fov_deg: float = Field(default=FOV_DEG, gt=10, lt=170, description="field of view (degrees)")
        rotate_step_deg: float = Field(default=ROTATE_STEP_DEG, gt=0, le=180, description="one turn")
        grid_size_m: float = Field(default=GRID_SIZE_M, gt=0, le=2, description="one move_forward")
        visibility_distance_m: float = Field(default=VISIBILITY_DISTANCE_M, gt=0,
                                             description="how near a visible object must be")
        max_steps: int = Field(default=MAX_STEPS, ge=1, description="actions per episode")
        still_plan: Literal["replan", "stop"] = Field(default="stop", description="a plan that does not "
                                                      "move: the agent's stop (the paper's) or a plan failure")
        platform: Platform = Field(default="linux64", description="linux64 (X display) or cloud-rendering "
                                   "(headless, NVIDIA GPU with Vulkan)")
        executable: str | None = Field(default=None, description="a local Unity build's executable instead "
                                       "of ai2thor's releases folder")

    def reset(self, seed: int) -> Observation:
        from avdc_plugins.simulators.ai2thor.scene import ThorScene

        c = self.config
        return self._start_episode(lambda: ThorScene(
            c.target, seed, c.scene, c.resolution, c.fov_deg, c.rotate_step_deg, c.grid_size_m,
            c.visibility_distance_m, c.platform, c.executable))

    def task_text(self) -> str:
        return target_text(self.config.target)

    def segment_target(self) -> SegmentTarget:
        return SegmentTarget("scene", hints={"target": self.config.target})


@hookimpl
def avdc_components():
    return [AI2ThorExecutor]
