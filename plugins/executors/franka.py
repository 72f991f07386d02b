"""``executor/franka``: a Franka Panda (or FR3) driven through franky — a real arm at ``host``,
or franky-sim's tabletop that avdc starts on loopback (``launch_simulator: true``).

The code path is the one a lab uses: ``franky.Robot(host)`` and ``franky.Gripper(host)`` speak
libfranka's protocol to whatever answers at ``host``. An object trajectory becomes grasp or push
waypoints (:mod:`.manipulation`, shared with Meta-World), each checked against the workspace box
before anything moves; runs of waypoints with one gripper state are one Cartesian waypoint motion
(the hand pointing down, as at home) at the configured speed, acceleration and jerk factors,
between gripper commands (grasp with force, open). While a motion runs the executor reports the
measured tool-centre position every ``control_period_s``, so the runner's stall detection and
replanning work unchanged. Collision thresholds are set on the robot; a reflex or any control
error is reported, recovered (``recover_from_errors``) and ends the plan, and the runner
replans. A grasp that closes on nothing (width under ``min_grasp_width_m``) ends the plan too.

With ``dry_run: true`` nothing connects and nothing moves: the executor plans from its camera
(a recorded frame) and prints the waypoints it would send.

Success is the simulated task's goal test (:mod:`avdc_plugins.simulators.franka.tasks`); a real
robot has no such judge, so its episodes end by the replan or step limits.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Annotated, Any

import numpy as np
from pydantic import Field, model_validator

from avdc_core import hookimpl
from avdc_core.errors import InputDataError, MissingResourceError, PlanFailedError
from avdc_core.interfaces import BuildContext, ComponentConfig, EvalGrid, Executor
from avdc_core.spec import checked_by
from avdc_core.types import Commands, Observation, RigidTrajectory, SegmentTarget, StepReport
from avdc_plugins.simulators.franka.tasks import DEFAULT_TASKS, FINGER_BODIES, TABLE_TOP_Z, TASKS, check_task

from .cameras import CameraConfig, open_camera
from .manipulation import (
    CLOSING_MODES,
    ManipulationConfig,
    Waypoint,
    plan_from_points,
    plan_manipulation,
    settle_on_support,
    steady_points,
)

HOME_JOINTS = (0.0, -0.948, 0.0, -2.492, 0.0, 1.545, 0.785)
"""The arm's start: the tool centre at (0.25, 0, 0.45) m pointing down, behind the workspace as
the tabletop's camera sees it, so the arm hides no object the video carries (measured: from
franky's default home, 0.46 m further forward, a lifted cube vanished behind the hand)."""
HAND_DOWN_XYZW = (1.0, 0.0, 0.0, 0.0)
"""Orientation of the tool centre for every waypoint: pointing down (rotated 180° about x)."""
ROBOT_PORT = 1337


class FrankaConfig(ComponentConfig):
    """Parameters of :class:`FrankaExecutor`."""

    task: Annotated[str, checked_by(check_task)] = Field(
        default="pick-place", description="the simulated tabletop's task (pick-place, push); on a real robot "
        "it names the object and text unless `text` and `target` are given")
    text: str | None = Field(default=None, description="task text for the video generator (default: the task's)")
    target: str | None = Field(default=None, description="object to move, for the segmenter (default: the task's)")
    host: str = Field(default="127.0.0.1", description="the robot's address (FCI); with launch_simulator, the "
                      "first loopback address franky-sim may take")
    launch_simulator: bool = Field(default=True, description="start franky-sim with the task's tabletop on "
                                   "loopback (false: a robot, or a simulator you started, answers at host)")
    connect_timeout_s: float = Field(default=3.0, gt=0, description="how long to wait for the robot to answer")
    camera: CameraConfig = CameraConfig()
    resolution: tuple[int, int] = Field(default=(640, 480), description="sim camera: width, height (pixels); "
                                        "a RealSense's usual size (at 320x240 real flow places the cube ~4 cm "
                                        "off along the viewing ray, at 640x480 ~3 cm and replanning closes it)")
    speed_factor: float = Field(default=0.3, gt=0, le=1, description="fraction of the arm's velocity limits")
    acceleration_factor: float = Field(default=0.3, gt=0, le=1, description="fraction of its acceleration limits")
    jerk_factor: float = Field(default=0.3, gt=0, le=1, description="fraction of its jerk limits")
    force_threshold_n: float = Field(default=40.0, gt=0, description="contact force that stops the arm (reflex)")
    torque_threshold_nm: float = Field(default=30.0, gt=0, description="joint torque that stops the arm (reflex)")
    workspace_low: tuple[float, float, float] = Field(default=(0.25, -0.35, 0.01), description="box (robot base "
                                                       "frame, m) no waypoint may leave: low corner")
    workspace_high: tuple[float, float, float] = Field(default=(0.75, 0.35, 0.45), description="high corner")
    table_z: float = Field(default=TABLE_TOP_Z, description="table top (m); the box's floor must be above it")
    fit_workspace: bool = Field(default=True, description="slide path points outside the box along their "
                                "viewing rays into it (see manipulation); the approach is still checked")
    settle_on_support: bool = Field(default=True, description="end a put-down where the object rests on the "
                                    "surface the first frame's depth shows along the viewing ray (see manipulation)")
    grasp_force_n: float = Field(default=20.0, gt=0)
    gripper_speed: float = Field(default=0.08, gt=0, le=0.1, description="m/s")
    open_width_m: float = Field(default=0.08, gt=0, le=0.08)
    min_grasp_width_m: float = Field(default=0.01, ge=0, description="a grasp closing below this held nothing")
    release_drop_m: float = Field(default=0.05, ge=0, description="a grasp path that ends this far below its "
                                  "highest point put the object down: open the hand and lift it")
    control_period_s: float = Field(default=0.05, gt=0, description="one StepReport per period while moving")
    home_joints: tuple[float, float, float, float, float, float, float] = HOME_JOINTS
    # pulls off (a threshold beyond the workspace): the tabletop's push task was measured with pushes
    # (20/20), and a pulled block would end in the closed hand, which its success test refuses
    manipulation: ManipulationConfig = ManipulationConfig(approach_height_m=0.10, push_backoff_m=0.05,
                                                          slide_on_table=True, pull_threshold_m=1.0)
    dry_run: bool = Field(default=False, description="plan and check, connect to nothing, move nothing")
    record: bool = Field(default=False, description="keep an RGB frame per control period (simulator camera)")

    @model_validator(mode="after")
    def _consistent(self) -> FrankaConfig:
        low, high = np.array(self.workspace_low), np.array(self.workspace_high)
        if np.any(low >= high):
            raise ValueError(f"workspace_low {self.workspace_low} must be below workspace_high "
                             f"{self.workspace_high} on every axis")
        if low[2] <= self.table_z:
            raise ValueError(f"workspace_low z {low[2]} must be above table_z {self.table_z}: the hand would "
                             "hit the table")
        if self.camera.source == "sim" and not self.launch_simulator:
            raise ValueError("camera source 'sim' needs launch_simulator: true; give a real camera "
                             "(camera.source: realsense or recorded) for a robot")
        if self.dry_run and self.camera.source != "recorded":
            raise ValueError("dry_run plans from a recorded frame: set camera.source: recorded with its "
                             "calibration, rgb and depth files")
        return self


class FrankaExecutor(Executor):
    """A Franka Panda through franky: grasp/push waypoints as Cartesian motions, gripper commands."""

    name = "franka"
    motion_mode = "object"
    command_kind = "subgoals"
    eval_grid = EvalGrid(task_param="task", setting_param=None, tasks=DEFAULT_TASKS, settings=("front",))
    Config = FrankaConfig

    def __init__(self, config: FrankaConfig, context: BuildContext) -> None:
        super().__init__(config, context)
        self.check_files(config, context)
        self.task = TASKS[config.task]
        self.robot: Any = None
        self.gripper: Any = None
        self.simulator: Any = None
        self.scene: Any = None
        self.camera = None if config.camera.source == "sim" else open_camera(config.camera, context)
        self.frames: list[np.ndarray] = []
        self.steps = 0
        self._holding = False

    @classmethod
    def check_files(cls, config: FrankaConfig, context: BuildContext) -> None:
        config.camera.check_files(context, "executor.params.camera")

    # --- connection ---------------------------------------------------------------------------
    def _connect(self) -> None:
        """Start franky-sim if asked, then connect the robot and its gripper (once)."""
        if self.robot is not None:
            return
        host = self.config.host
        if self.config.launch_simulator:
            from avdc_plugins.simulators.franka.scene import FrankySimScene
            from avdc_plugins.simulators.franka.server import launch

            self.simulator = launch(self.config.task, host)
            host = self.simulator.robot_host
            width, height = self.config.resolution
            self.scene = FrankySimScene(self.simulator, self.config.task, width, height)
        try:
            import franky
        except ImportError as error:
            raise MissingResourceError("executor/franka needs franky: pip install 'avdc[franka]'") from error
        probe_robot(host, self.config.connect_timeout_s)
        config = self.config
        self.robot = franky.Robot(host, realtime_config=franky.RealtimeConfig.Ignore)
        self.robot.relative_dynamics_factor = franky.RelativeDynamicsFactor(
            config.speed_factor, config.acceleration_factor, config.jerk_factor)
        self.robot.set_collision_behavior(config.torque_threshold_nm, config.force_threshold_n)
        self.gripper = franky.Gripper(host)

    # --- episode ------------------------------------------------------------------------------
    def reset(self, seed: int) -> Observation:
        """Open the hand, send the arm home and (simulated) place the task's objects by ``seed``."""
        self.steps = 0
        self._holding = False
        self.frames = []
        if self.config.dry_run:
            return self.observe()

        self._connect()
        self.robot.recover_from_errors()
        self.gripper.move(self.config.open_width_m, self.config.gripper_speed)
        error = self._home()
        if error is not None:
            raise MissingResourceError(f"executor/franka: the arm could not go home ({error}); check the robot "
                                       "(Desk: errors, brakes) and home_joints")
        if self.scene is not None:
            self.scene.place(seed)
        observation = self.observe()
        if self.config.record:
            self.frames.append(observation.rgb)
        return observation

    def observe(self) -> Observation:
        if self.camera is not None:
            return self.camera.observe()
        if self.scene is None:
            raise InputDataError("executor/franka: call reset(seed) before observing")
        return self.scene.observation()

    def task_text(self) -> str:
        return self.config.text or self.task.text

    def segment_target(self) -> SegmentTarget:
        """The task's object by name (``segmenter/sim-mask``; a real camera needs a segmenter that
        finds ``target`` itself, e.g. ``segmenter/sam`` or ``mask-file``); while the hand holds it,
        the fingers move with it (``holding_bodies``)."""
        hints: dict[str, Any] = {"task": self.config.task, "bodies": [self.task.object_body]}
        if self._holding:
            hints["holding_bodies"] = list(FINGER_BODIES)
        return SegmentTarget(self.config.target or self.task.object_body, hints=hints)

    # --- planning -----------------------------------------------------------------------------
    def workspace(self) -> tuple[np.ndarray, np.ndarray]:
        return np.array(self.config.workspace_low), np.array(self.config.workspace_high)

    def commands(self, trajectory: RigidTrajectory, plan_points_world: np.ndarray,
                 observation: Observation) -> Commands:
        if trajectory.mode != "object":
            raise InputDataError(f"executor/franka needs an object-mode trajectory, got mode={trajectory.mode!r}")
        points = steady_points(trajectory, plan_points_world)
        if len(points) == 0:
            raise PlanFailedError("executor/franka: the plan has no tracked points to place the contact point on")
        contact = points.mean(axis=0)
        config = self.config
        camera_origin = observation.camera.cam_to_world[:3, 3]
        workspace = self.workspace() if config.fit_workspace else None
        hand = self.tcp_position() if self.robot is not None else None
        plan = plan_from_points(trajectory, contact, points, config.manipulation, hand, self._holding,
                                camera_origin, workspace)
        if plan.mode == "grasp" and config.settle_on_support and self.puts_down(plan.contact_path):
            trajectory = settle_on_support(trajectory, plan.contact_path, points, observation)
            plan = plan_manipulation(trajectory, contact, config.manipulation, hand, self._holding,
                                     camera_origin, workspace)
        self.check_workspace(plan.waypoints)
        return plan.to_commands()

    def check_workspace(self, waypoints: list[Waypoint]) -> None:
        """Refuse (:class:`PlanFailedError`, before any motion) a plan with a waypoint outside the box."""
        low, high = self.workspace()

        def show(values) -> str:
            return "(" + ", ".join(f"{v:.3f}" for v in values) + ")"

        for index, waypoint in enumerate(waypoints):
            if np.any(waypoint.position < low - 1e-9) or np.any(waypoint.position > high + 1e-9):
                raise PlanFailedError(
                    f"executor/franka: waypoint {index} {show(waypoint.position)} m lies outside the workspace "
                    f"box {show(low)}..{show(high)} (workspace_low, workspace_high); refused before moving")

    # --- acting -------------------------------------------------------------------------------
    def execute(self, commands: Commands) -> Iterator[StepReport]:
        if commands.kind != "subgoals" or "waypoints" not in commands.data:
            raise InputDataError(f"executor/franka executes its own 'subgoals' commands; got kind={commands.kind!r}")
        waypoints = [Waypoint.from_json(w) for w in commands.data["waypoints"]]
        grasping = commands.data.get("mode") in CLOSING_MODES
        if self.config.dry_run:
            return self._dry_run(waypoints, commands.data.get("mode", "?"))
        return self._follow(waypoints, grasping, np.asarray(commands.data["contact_path"]))

    def _dry_run(self, waypoints: list[Waypoint], mode: str) -> Iterator[StepReport]:
        print(f"dry run ({mode}): {len(waypoints)} waypoint(s), robot base frame, m; nothing moves")
        for index, waypoint in enumerate(waypoints):
            x, y, z = waypoint.position
            print(f"  {index:2d}  x={x:+.3f} y={y:+.3f} z={z:+.3f}  gripper {'closed' if waypoint.closed else 'open'}")
        yield StepReport(0, waypoints[0].position if waypoints else np.zeros(3), False,
                         {"dry_run": True, "waypoints": [w.to_json() for w in waypoints]}, stopped=True)

    def _follow(self, waypoints: list[Waypoint], grasping: bool, path: np.ndarray) -> Iterator[StepReport]:
        """Motions between gripper changes; stop at a reflex (recovered) or a missed grasp."""
        runs: list[list[Waypoint]] = []
        for waypoint in waypoints:
            if runs and runs[-1][-1].closed == waypoint.closed:
                runs[-1].append(waypoint)
            else:
                runs.append([waypoint])
        for run in runs:
            if run[0].closed != self._gripper_closed():
                report = self._set_gripper(run[0].closed, grasping)
                yield report
                if report.success or (run[0].closed and grasping and not self._holding):  # a missed grasp
                    return
            ended = yield from self._move([w.position for w in run])
            if ended:
                return
        put_down = grasping and self._holding and self.puts_down(path)
        if put_down:
            yield self._set_gripper(False, grasping)
        if put_down or not grasping:  # let go: a released or pushed object rests on its own
            yield from self._lift()

    def puts_down(self, path: np.ndarray) -> bool:
        """Whether a grasp's contact path ``[T, 3]`` ends by putting the object down: its end lies
        ``release_drop_m`` below its highest point."""
        return bool(path[:, 2].max() - path[-1, 2] > self.config.release_drop_m)

    def _lift(self) -> Iterator[StepReport]:
        """Raise the hand ``approach_height_m`` (within the workspace box)."""
        lift = self.tcp_position() + np.array([0.0, 0.0, self.config.manipulation.approach_height_m])
        return self._move([np.minimum(lift, self.config.workspace_high)])

    def _move(self, positions: list[np.ndarray]) -> Iterator[StepReport]:
        """One Cartesian waypoint motion, reported every control period; returns True when the
        episode's plan must end (success, or an error that was recovered)."""
        import franky

        targets = [franky.CartesianWaypoint(franky.Affine(np.asarray(p, dtype=np.float64), np.array(HAND_DOWN_XYZW)))
                   for p in positions]
        finished = False
        try:
            self.robot.move(franky.CartesianWaypointMotion(targets), asynchronous=True)
            while not finished:
                finished = self.robot.join_motion(timeout=self.config.control_period_s)
                report = self._report()
                yield report
                if report.success:
                    return True
        except motion_errors() as error:
            finished = True  # the robot ended the motion itself
            self.robot.recover_from_errors()
            yield self._report({"error": f"{type(error).__name__}: {error}", "recovered": True})
            return True
        finally:
            if not finished:  # the runner stopped listening (a stall): stop the arm where it is
                self._stop()
        return False

    def _stop(self) -> None:
        try:
            self.robot.stop()
            self.robot.join_motion()
        except motion_errors():
            self.robot.recover_from_errors()

    def _set_gripper(self, closed: bool, grasping: bool) -> StepReport:
        config = self.config
        if not closed:
            self.gripper.move(config.open_width_m, config.gripper_speed)
            self._holding = False
            return self._report({"gripper": "opened"})
        if not grasping:  # a fist to push with
            self.gripper.move(0.0, config.gripper_speed)
            return self._report({"gripper": "closed"})
        self.gripper.grasp(0.0, config.gripper_speed, config.grasp_force_n, epsilon_inner=0.0,
                           epsilon_outer=config.open_width_m)
        width = float(self.gripper.width)
        self._holding = width >= config.min_grasp_width_m
        return self._report({"gripper": f"grasped at {width * 1000:.1f} mm" if self._holding
                             else f"missed: closed to {width * 1000:.1f} mm"})

    def _gripper_closed(self) -> bool:
        return float(self.gripper.width) < self.config.open_width_m - 0.01

    def tcp_position(self) -> np.ndarray:
        """The measured tool-centre position (robot base frame, m)."""
        return np.asarray(self.robot.current_pose.end_effector_pose.translation, dtype=np.float64).copy()

    def _report(self, info: dict | None = None) -> StepReport:
        self.steps += 1
        success = bool(self.scene.succeeded()) if self.scene is not None else False
        if self.config.record and self.scene is not None:
            self.frames.append(self.scene.render(depth=False, segmentation=False).rgb)
        return StepReport(self.steps, self.tcp_position(), success, info or {})

    def retreat(self) -> Iterator[StepReport]:
        """No plan could be made (the hand may hide the object): a hand holding it lifts it
        ``approach_height_m``, an empty hand goes home."""
        if self.config.dry_run:
            return iter(())
        return self._lift() if self._holding else self._go_home()

    def _go_home(self) -> Iterator[StepReport]:
        error = self._home()
        yield self._report({} if error is None else {"error": error, "recovered": True})

    def _home(self) -> str | None:
        """Move to ``home_joints`` (one retry after recovering from an error); the error, if any."""
        import franky

        error = None
        for _ in range(2):
            try:
                self.robot.move(franky.JointMotion(list(self.config.home_joints)))
                return None
            except motion_errors() as exception:
                error = f"{type(exception).__name__}: {exception}"
                self.robot.recover_from_errors()
        return error

    def close(self) -> None:
        for resource in ("camera", "scene", "simulator"):
            thing = getattr(self, resource, None)
            if thing is not None:
                thing.close()
                setattr(self, resource, None)
        self.robot = self.gripper = None


def motion_errors() -> tuple[type[BaseException], ...]:
    """What a motion may raise: libfranka's control and command errors (reflexes, limits) and the
    ``RuntimeError`` franky's motion planner raises for a path it cannot time."""
    import franky

    return franky.ControlException, franky.CommandException, franky.Exception, RuntimeError


def probe_robot(host: str, timeout_s: float) -> None:
    """Raise :class:`MissingResourceError` unless something accepts connections on ``host``'s
    libfranka port within ``timeout_s`` (libfranka itself would retry for much longer)."""
    try:
        with socket.create_connection((host, ROBOT_PORT), timeout=timeout_s):
            pass
    except OSError as error:
        raise MissingResourceError(
            f"executor/franka: no robot answers at {host}:{ROBOT_PORT} within {timeout_s:g} s ({error}); "
            "check executor.params.host, the network and that FCI is enabled in Desk, or plan without "
            "moving (dry_run: true)") from error


@hookimpl
def avdc_components():
    return [FrankaExecutor]
