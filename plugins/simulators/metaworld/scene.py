"""A Meta-World v3 task seen through one camera: environment, offscreen rendering, exact camera.

**Image orientation.** avdc uses Meta-World v3 renders *as they come* from ``mujoco.Renderer``
(rows top to bottom), everywhere: executor observations, oracle videos, ``avdc collect`` output.
With that orientation the exact camera is a plain pinhole camera (measured: a body's position
projects to within 0.1 px of its mask centroid). The ``corner`` camera is mounted upside down,
so its images show the scene upside down; that is the scene, not a bug. The paper's published
frames are ``np.flipud`` of these (a mirror image, which no rigid camera pose can describe): flip
them before mixing them with data or observations from avdc.

Rendering is offscreen through EGL (``MUJOCO_GL=egl`` is set, unless the user set it, before
``mujoco`` is first imported); shadows and reflections are off (4x faster, same geometry).
Depth is metric along the optical axis; the far plane (background) is set to ``0`` (invalid).
Segmentation is the geom id per pixel, ``-1`` where no geom is seen.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from avdc_core.errors import MissingResourceError, SpecError
from avdc_core.simulation import (
    ExpertRollout,
    SceneParts,
    SimulatedFrames,
    SimulatedScene,
    SimulatorView,
    load_triton_before_egl,
)
from avdc_core.types import Camera, Observation, Video

from .tasks import FINGER_BODIES, unknown_name

SUFFIX = "-v3-goal-observable"
os.environ.setdefault("MUJOCO_GL", "egl")  # must precede the first `import mujoco` in the process

HIDDEN_GROUP = 5
"""A geom group that MuJoCo's default visual options do not draw (groups 3-5 are hidden)."""

ROBOT_ROOT_BODY = "hand"
"""A body of the Sawyer arm: every geom under its root body (the robot's base) is the robot."""

TABLE_TOP_Z = 0.0
"""Height (world z, m) of the table top in every Meta-World task (its box geom spans -0.054..0)."""

BACKGROUND_DEPTH_M = 10.0
"""Depth beyond this is the far plane (the scene is ~1-3 m away; the far plane ~113 m)."""


def import_mujoco() -> Any:
    """``mujoco``, imported with EGL offscreen rendering unless ``MUJOCO_GL`` says otherwise
    (Triton first: :func:`avdc_core.simulation.load_triton_before_egl`)."""
    os.environ.setdefault("MUJOCO_GL", "egl")
    load_triton_before_egl()
    try:
        import mujoco
    except ImportError as error:
        raise MissingResourceError("Meta-World support needs mujoco and metaworld: "
                                   "pip install 'avdc[metaworld]'") from error
    return mujoco


def _env_dict() -> dict[str, Any]:
    import_mujoco()
    try:
        from metaworld.env_dict import ALL_V3_ENVIRONMENTS_GOAL_OBSERVABLE
    except ImportError as error:
        raise MissingResourceError("Meta-World support needs metaworld: "
                                   "pip install 'avdc[metaworld]'") from error
    return ALL_V3_ENVIRONMENTS_GOAL_OBSERVABLE


def task_names() -> list[str]:
    """Every Meta-World v3 goal-observable task, without the ``-v3-goal-observable`` suffix."""
    return sorted(name[: -len(SUFFIX)] for name in _env_dict())


def check_task(task: str, field: str = "task") -> str:
    """``task`` without a ``-v3``/``-v3-goal-observable`` suffix; raises listing valid names."""
    base = task.removesuffix(SUFFIX).removesuffix("-v3")
    names = task_names()
    if base not in names:
        raise SpecError(f"{field}: {unknown_name('task', task, names)}")
    return base


def make_env(task: str, seed: int) -> Any:
    """A fresh goal-observable environment of ``task``; ``seed`` fixes object and goal positions."""
    env = _env_dict()[check_task(task) + SUFFIX](seed=seed)
    env.reset()
    return env


@dataclass(frozen=True)
class Render:
    """One rendered view: RGB ``[H, W, 3]`` uint8, depth ``[H, W]`` (m, 0 = background) and
    segmentation ``[H, W]`` int32 geom ids (``-1`` = background)."""

    rgb: np.ndarray | None
    depth: np.ndarray | None
    segmentation: np.ndarray | None


class MetaWorldScene(SimulatedScene):
    """One Meta-World task, one camera and an offscreen renderer.

    ``env`` is the live environment; :meth:`render` draws any ``MjData`` of the same model (the
    live one by default), so oracle rollouts on cloned states render with the same camera.
    Segmentation parts are MuJoCo geoms (:attr:`parts`).
    """

    world = "metaworld"

    def __init__(self, task: str, camera: str, width: int = 320, height: int = 240,
                 seed: int = 0) -> None:
        self.mujoco = import_mujoco()
        self.task = check_task(task)
        self.width, self.height = int(width), int(height)
        self.env = make_env(self.task, seed)
        self.model = self.env.model
        cameras = [self.model.camera(i).name for i in range(self.model.ncam)]
        if camera not in cameras:
            self.env.close()
            raise SpecError(f"camera: {unknown_name('camera', camera, cameras)}")
        self.camera_names = cameras
        self.camera_name = camera
        self.camera_id = self.model.camera(camera).id
        global_vis = self.model.vis.global_
        global_vis.offwidth = max(global_vis.offwidth, self.width)
        global_vis.offheight = max(global_vis.offheight, self.height)
        try:
            self.renderer = self.mujoco.Renderer(self.model, self.height, self.width)
        except self.mujoco.FatalError as error:
            self.env.close()
            raise MissingResourceError(
                f"offscreen rendering failed (MUJOCO_GL={os.environ.get('MUJOCO_GL')!r}): {error}. "
                "Set MUJOCO_GL=egl before anything imports mujoco (or import "
                "avdc_plugins.simulators.metaworld.scene first); `avdc doctor` checks rendering") from error
        flags = self.renderer.scene.flags
        flags[self.mujoco.mjtRndFlag.mjRND_SHADOW] = False
        flags[self.mujoco.mjtRndFlag.mjRND_REFLECTION] = False
        self.geom_names = [self.model.geom(i).name for i in range(self.model.ngeom)]
        self.body_names = [self.model.body(i).name for i in range(self.model.nbody)]
        self.geom_body = np.asarray(self.model.geom_bodyid, dtype=np.int64).copy()
        self.robot_root = int(self.model.body_rootid[self.model.body(ROBOT_ROOT_BODY).id])
        self.robot_geoms = np.flatnonzero(self.model.body_rootid[self.geom_body] == self.robot_root)
        self.parts = SceneParts(tuple(self.geom_names), self.geom_body, tuple(self.body_names))

    @property
    def data(self) -> Any:
        return self.env.data

    # --- camera and rendering -------------------------------------------------------------
    def camera(self, data: Any = None, camera: str | None = None) -> Camera:
        """The exact pinhole camera (OpenCV frame) of the rendered images."""
        data = self.data if data is None else data
        camera_id = self.camera_id if camera is None else self.model.camera(camera).id
        fovy = float(self.model.cam_fovy[camera_id])
        rot_wc = data.cam_xmat[camera_id].reshape(3, 3)  # columns: right, up, backward
        cam_to_world = np.eye(4)
        cam_to_world[:3, :3] = rot_wc @ np.diag([1.0, -1.0, -1.0])
        cam_to_world[:3, 3] = data.cam_xpos[camera_id]
        return Camera.from_fov(self.width, self.height, fovy, cam_to_world)

    def render(self, data: Any = None, depth: bool = True, segmentation: bool = True,
               camera: str | None = None, rgb: bool = True, hide_robot: bool = False) -> Render:
        """Render ``data`` (the live state by default) through the scene's camera (or another
        camera of the model, by name). ``hide_robot``: draw the scene without the Sawyer arm
        and gripper (``robot_geoms``), as if they were transparent — what lies behind them
        is seen (simulator-only; no camera can do this); ``rgb=False`` skips the colour pass."""
        data = self.data if data is None else data
        camera_id = self.camera_id if camera is None else self.model.camera(camera).id
        groups = self.model.geom_group[self.robot_geoms].copy()
        if hide_robot:  # geom groups only affect drawing, never the physics
            self.model.geom_group[self.robot_geoms] = HIDDEN_GROUP
        try:
            return self._render(data, camera_id, rgb, depth, segmentation)
        finally:
            self.model.geom_group[self.robot_geoms] = groups

    def _render(self, data: Any, camera_id: int, rgb: bool, depth: bool, segmentation: bool) -> Render:
        renderer = self.renderer
        colour = depth_m = seg = None
        if rgb:
            renderer.update_scene(data, camera=camera_id)
            colour = renderer.render().copy()
        if depth:
            renderer.enable_depth_rendering()
            renderer.update_scene(data, camera=camera_id)
            depth_m = renderer.render().astype(np.float64)
            renderer.disable_depth_rendering()
            depth_m[~(depth_m < BACKGROUND_DEPTH_M)] = 0.0
        if segmentation:
            renderer.enable_segmentation_rendering()
            renderer.update_scene(data, camera=camera_id)
            raw = renderer.render()
            renderer.disable_segmentation_rendering()
            is_geom = raw[..., 1] == int(self.mujoco.mjtObj.mjOBJ_GEOM)
            seg = np.where(is_geom, raw[..., 0], -1).astype(np.int32)
        return Render(colour, depth_m, seg)

    def observation(self) -> Observation:
        """The live state as an :class:`Observation` with its :class:`SimulatorView`."""
        view = self.render()
        truth = SimulatorView(self.world, self.task, self.camera_name, view.segmentation, self.parts, self)
        return Observation(view.rgb, view.depth, self.camera(), truth)

    # --- privileged: expert and ground-truth video ----------------------------------------------
    def expert_rollout(self, max_steps: int, extra_steps: int = 0) -> ExpertRollout:
        """Meta-World's scripted expert (:mod:`.experts`) run on a copy of the live state."""
        from .experts import run_expert

        return run_expert(self, max_steps, extra_steps)

    def render_video(self, states) -> Video:
        """Render ``states`` through this scene's camera, with depth, segmentation and body poses
        per frame, also with the robot hidden (:meth:`render`)."""
        frames, depth, segmentation, poses, hidden = [], [], [], [], []
        for state in states:
            data = self.data_from_state(state)
            view = self.render(data)
            frames.append(view.rgb)
            depth.append(view.depth)
            segmentation.append(view.segmentation)
            poses.append(self.body_poses(data))
            hidden.append(self.render(data, rgb=False, hide_robot=True))
        camera = self.camera()
        truth = SimulatedFrames(
            np.stack(depth), np.stack(segmentation), self.parts, np.stack(poses), (camera,) * len(frames),
            depth_without_robot=np.stack([view.depth for view in hidden]),
            segmentation_without_robot=np.stack([view.segmentation for view in hidden]))
        return Video(np.stack(frames), truth)

    # --- state --------------------------------------------------------------------------------
    def state(self, data: Any = None) -> np.ndarray:
        """The full integration state of ``data`` (live by default) as a flat vector."""
        mujoco = self.mujoco
        data = self.data if data is None else data
        spec = mujoco.mjtState.mjSTATE_INTEGRATION
        state = np.empty(mujoco.mj_stateSize(self.model, spec))
        mujoco.mj_getState(self.model, data, state, spec)
        return state

    def data_from_state(self, state: np.ndarray) -> Any:
        """A fresh ``MjData`` set to ``state`` with all derived quantities computed."""
        mujoco = self.mujoco
        data = mujoco.MjData(self.model)
        mujoco.mj_setState(self.model, data, state, mujoco.mjtState.mjSTATE_INTEGRATION)
        mujoco.mj_forward(self.model, data)
        return data

    def clone_env(self) -> Any:
        """A copy of the live environment sharing its model but on its own ``MjData``
        (``copy``/``deepcopy`` rebuild a different model): stepping it never touches the live
        simulation."""
        clone = object.__new__(type(self.env))  # not copy.copy: Meta-World's __setstate__
        clone.__dict__.update(self.env.__dict__)  # reloads the model, losing the reset's changes
        clone.data = self.data_from_state(self.state())
        clone.curr_path_length = 0
        return clone

    def bodies_in_hand(self) -> set[str]:
        """Names of the bodies that a left finger and a right finger both touch now, leaving out
        the robot and whatever is fixed to the world (the table, a box: ``body_weldid`` 0)."""
        model = self.model
        contacts = self.data.contact
        touching = model.geom_bodyid[np.stack([contacts.geom1, contacts.geom2])]  # [2, ncon] bodies
        touched = []
        for side in ("left", "right"):
            fingers = [model.body(name).id for name in FINGER_BODIES if name.startswith(side)]
            others = np.concatenate([touching[1][np.isin(touching[0], fingers)],
                                     touching[0][np.isin(touching[1], fingers)]])
            movable = (model.body_weldid[others] != 0) & (model.body_rootid[others] != self.robot_root)
            touched.append(set(others[movable].tolist()))
        return {model.body(body).name for body in touched[0] & touched[1]}

    def workspace(self) -> tuple[np.ndarray, np.ndarray]:
        """``(low, high)`` corners (world, m) of the box the tool centre can reach and move
        objects in: Meta-World's bounds of the hand's mocap target, shifted to the tool centre
        (the hand keeps its orientation), and not below the table top."""
        env = self.env
        offset = env.tcp_center - self.data.body("hand").xpos
        low = np.array(env.mocap_low, dtype=np.float64) + offset
        low[2] = max(low[2], TABLE_TOP_Z)
        return low, np.array(env.mocap_high, dtype=np.float64) + offset

    def release_windup(self) -> None:
        """Put the mocap target (which Meta-World's actions move, and which pulls the hand through
        a weld) back on the hand. While the hand is blocked, every step's action moves the target
        further ahead — up to the workspace bounds — and a later motion first has to undo that
        lead (integrator windup)."""
        env = self.env
        self.data.mocap_pos[0] = np.clip(self.data.body("hand").xpos, env.mocap_low, env.mocap_high)

    def body_poses(self, data: Any = None) -> np.ndarray:
        """World poses ``[nbody, 4, 4]`` of every body in ``data``."""
        data = self.data if data is None else data
        poses = np.tile(np.eye(4), (self.model.nbody, 1, 1))
        poses[:, :3, :3] = np.asarray(data.xmat).reshape(-1, 3, 3)
        poses[:, :3, 3] = data.xpos
        return poses

    def close(self) -> None:
        self.renderer.close()
        self.env.close()
