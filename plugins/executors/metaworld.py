"""``executor/metaworld``: a Meta-World v3 task driven from object trajectories.

Observations carry RGB, metric depth (background = 0) and the exact camera, in the orientation
documented in :mod:`avdc_plugins.simulators.metaworld.scene` (v3 renders as they come), and the
simulator's ground truth (``Observation.simulator``: the segmentation by geom, named, and the
live scene) for privileged components: ``segmenter/sim-mask``, ``generator/oracle``.

``commands`` turns a :class:`RigidTrajectory` into waypoints (:mod:`.manipulation`: grasp or
push at a contact point) and ``execute`` follows them with a proportional position controller on
the tool centre point, one :class:`StepReport` per environment step; each plan starts with the
controller's target on the hand (:meth:`MetaWorldScene.release_windup`). Stall detection and
replanning belong to the runner (``avdc_core.runner``).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from pydantic import Field, field_validator

from avdc_core import hookimpl
from avdc_core.errors import InputDataError
from avdc_core.interfaces import BuildContext, ComponentConfig, EvalGrid
from avdc_core.types import Commands, Observation, RigidTrajectory, SegmentTarget, StepReport
from avdc_plugins.simulators.metaworld.tasks import (
    CAMERAS,
    DEFAULT_OBJECTS,
    FINGER_BODIES,
    PAPER_CAMERAS,
    PAPER_TASKS,
    TaskObject,
    task_text,
    unknown_name,
)

from .manipulation import (
    CLOSING_MODES,
    ManipulationConfig,
    ManipulationPlan,
    Waypoint,
    plan_from_points,
    steady_points,
)
from .simulated import SceneExecutor


class MetaWorldExecutor(SceneExecutor):
    """Meta-World v3 (goal observable) arm: grasp/push primitives and a position controller."""

    name = "metaworld"
    motion_mode = "object"
    command_kind = "subgoals"
    eval_grid = EvalGrid(task_param="task", setting_param="camera", tasks=PAPER_TASKS, settings=PAPER_CAMERAS)

    class Config(ComponentConfig):
        task: str = Field(default="door-open", description="Meta-World v3 task, e.g. door-open")
        camera: str = Field(default="corner", description="corner, corner2, corner3, topview, ...")
        resolution: tuple[int, int] = Field(default=(320, 240), description="width, height (pixels)")
        max_steps: int = Field(default=500, ge=1, description="environment steps per episode")
        gain: float = Field(default=25.0, gt=0, description="P gain: action = gain * error (m)")
        waypoint_steps: int = Field(default=60, ge=1, description="step budget per waypoint")
        hold_steps: int = Field(default=25, ge=0, description="steps holding the last waypoint")
        retreat_lift_m: float = Field(default=0.1, ge=0, description="how far a hand holding the object "
                                      "rises when no plan could be made (an empty hand goes home)")
        fit_workspace: bool = Field(default=True, description="slide plan points outside the arm's "
                                    "workspace along their viewing rays into it (see manipulation)")
        manipulation: ManipulationConfig = ManipulationConfig()
        object: TaskObject | None = Field(default=None, description="override the task's object (default: "
                                          "the table's entry, else the part the task's expert moves)")
        record: bool = Field(default=False, description="keep an RGB frame of every step")

        @field_validator("task")
        @classmethod
        def _known_task(cls, task: str) -> str:
            from avdc_plugins.simulators.metaworld.scene import SUFFIX, task_names

            names = task_names()
            if task.removesuffix(SUFFIX).removesuffix("-v3") not in names:
                raise ValueError(unknown_name("task", task, names))
            return task

        @field_validator("camera")
        @classmethod
        def _known_camera(cls, camera: str) -> str:
            if camera not in CAMERAS:
                raise ValueError(unknown_name("camera", camera, CAMERAS))
            return camera

    def __init__(self, config: Config, context: BuildContext) -> None:
        super().__init__(config, context)
        from avdc_plugins.simulators.metaworld.scene import check_task

        self.task = check_task(config.task, field="executor.params.task")
        self._override = config.object or DEFAULT_OBJECTS.get(self.task)
        self.object = self._override
        self._holding = False

    # --- episode ------------------------------------------------------------------------------
    def reset(self, seed: int) -> Observation:
        from avdc_plugins.simulators.metaworld.objects import moving_object
        from avdc_plugins.simulators.metaworld.scene import MetaWorldScene

        width, height = self.config.resolution
        self._holding = False
        observation = self._start(lambda: MetaWorldScene(self.task, self.config.camera, width, height, seed))
        self.object = self._override or moving_object(self._scene())
        return observation

    def task_text(self) -> str:
        return task_text(self.task)

    def segment_target(self) -> SegmentTarget:
        """The task's object by name; while the hand holds something, ``holding_bodies`` names
        the gripper's fingers, which then move with it (``segmenter/sim-mask`` can add them)."""
        hints = {"task": self.task, "bodies": list(self.object.bodies), "parts": list(self.object.geoms)}
        if self.holds_something():
            hints["holding_bodies"] = list(FINGER_BODIES)
        return SegmentTarget(self.task, hints=hints)

    def holds_something(self) -> bool:
        """The hand closed in a grasp and both fingers touch the same object, as a real gripper's
        contact sensing would tell (its width cannot: closed on nothing the claws are 0.0297 m
        apart, on the shelf-place block 0.0299 m — measured)."""
        return self._holding and bool(self._scene().bodies_in_hand())

    @property
    def steps(self) -> int:
        """Environment steps taken in this episode."""
        return int(self._scene().env.curr_path_length)

    # --- planning -----------------------------------------------------------------------------
    def contact_point(self, points: np.ndarray, observation: Observation) -> np.ndarray:
        """Where the hand grasps or pushes (world, m, frame 0): the centroid of the task's
        ``grasp_geoms`` if it names some and they are visible, else of the tracked ``points``."""
        view = observation.simulator
        if self.object.grasp_geoms and view is not None:
            part = view.parts.mask(view.segmentation, (), self.object.grasp_geoms,
                                   "executor.params.object.grasp_geoms") & observation.valid_depth
            if part.sum() >= 3:
                rows, cols = np.nonzero(part)
                pixels = np.stack([cols, rows], axis=1).astype(np.float64)
                return observation.camera.unproject(pixels, observation.depth[rows, cols]).mean(axis=0)
        return points.mean(axis=0)

    def commands(self, trajectory: RigidTrajectory, plan_points_world: np.ndarray,
                 observation: Observation) -> Commands:
        if trajectory.mode != "object":
            raise InputDataError(f"executor/metaworld needs an object-mode trajectory, got "
                                 f"mode={trajectory.mode!r}")
        points = steady_points(trajectory, plan_points_world)
        if len(points) == 0:
            raise InputDataError(f"executor/metaworld ({self.task}): the plan has no tracked points "
                                 "to place the contact point on")
        plan = plan_from_points(trajectory, self.contact_point(points, observation), points,
                                self.config.manipulation, self._scene().env.tcp_center.copy(), self._holding,
                                observation.camera.cam_to_world[:3, 3], self.workspace())
        return plan.to_commands()

    def workspace(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The box plan points are fitted into (:meth:`MetaWorldScene.workspace`), or ``None``
        with ``fit_workspace: false``."""
        return self._scene().workspace() if self.config.fit_workspace else None

    # --- acting -------------------------------------------------------------------------------
    def execute(self, commands: Commands) -> Iterator[StepReport]:
        if commands.kind != "subgoals" or "waypoints" not in commands.data:
            raise InputDataError(f"executor/metaworld executes its own 'subgoals' commands; got "
                                 f"kind={commands.kind!r}")
        waypoints = [Waypoint.from_json(w) for w in commands.data["waypoints"]]
        grasping = commands.data.get("mode") in CLOSING_MODES
        self._scene().release_windup()
        for index, waypoint in enumerate(waypoints):
            last = index == len(waypoints) - 1
            budget = self.config.waypoint_steps + waypoint.settle_steps
            settle = waypoint.settle_steps + (self.config.hold_steps if last else 0)
            reached_at = None
            for used in range(budget + settle):
                report = self._step(waypoint.position, waypoint.closed, index)
                if report is None:
                    return
                self._holding = grasping and waypoint.closed
                yield report
                if report.success:
                    return
                error = np.linalg.norm(report.effector_m - waypoint.position)
                if reached_at is None and (error < waypoint.tolerance_m or used >= budget):
                    reached_at = used
                if reached_at is not None and used - reached_at >= settle:
                    break

    def retreat(self) -> Iterator[StepReport]:
        """No plan could be made (the hand may hide the object): an empty hand returns to where
        it started the episode, a hand holding the object lifts it ``retreat_lift_m``."""
        env = self._scene().env
        if self._holding:
            goal = env.tcp_center + np.array([0.0, 0.0, self.config.retreat_lift_m])
        else:
            goal = np.array(env.hand_init_pos, dtype=np.float64)
        plan = ManipulationPlan("grasp" if self._holding else "push", np.stack([env.tcp_center, goal]),
                                [Waypoint(goal, self._holding, 0.02)])
        return self.execute(plan.to_commands())

    def _step(self, target: np.ndarray, closed: bool, waypoint: int) -> StepReport | None:
        env = self._scene().env
        if env.curr_path_length >= min(self.config.max_steps, env.max_path_length):
            return None
        delta = np.clip(self.config.gain * (target - env.tcp_center), -1.0, 1.0)
        action = np.append(delta, 1.0 if closed else -1.0).astype(np.float32)
        _, _, _, _, info = env.step(action)
        if self.config.record:
            self.frames.append(self.scene.render(depth=False, segmentation=False).rgb)
        return StepReport(int(env.curr_path_length), env.tcp_center.copy(),
                          bool(info.get("success", False)),
                          {"waypoint": waypoint, "grasp_success": bool(info.get("grasp_success", False))})


@hookimpl
def avdc_components():
    return [MetaWorldExecutor]
