"""What every MuJoCo world shares: one fixed camera rendered offscreen (RGB, metric depth,
segmentation by geom, optionally with the robot hidden), its exact pinhole model, body poses,
states as flat vectors, and videos of states with their ground truth.

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
from avdc_core.simulation import SceneParts, SimulatedFrames, SimulatedScene, SimulatorView, load_triton_before_egl
from avdc_core.types import Camera, Observation, Video

os.environ.setdefault("MUJOCO_GL", "egl")  # must precede the first `import mujoco` in the process

HIDDEN_GROUP = 5
"""A geom group that MuJoCo's default visual options do not draw (groups 3-5 are hidden)."""

BACKGROUND_DEPTH_M = 10.0
"""Depth beyond this is the far plane (the scenes are ~1-3 m away; the far plane ~100 m)."""


def import_mujoco(extra: str = "metaworld") -> Any:
    """``mujoco``, imported with EGL offscreen rendering unless ``MUJOCO_GL`` says otherwise
    (Triton first: :func:`avdc_core.simulation.load_triton_before_egl`); ``extra`` names the
    avdc extra that installs it, for the error."""
    os.environ.setdefault("MUJOCO_GL", "egl")
    load_triton_before_egl()
    try:
        import mujoco
    except ImportError as error:
        raise MissingResourceError(f"this world needs mujoco: pip install 'avdc[{extra}]'") from error
    return mujoco


@dataclass(frozen=True)
class Render:
    """One rendered view: RGB ``[H, W, 3]`` uint8, depth ``[H, W]`` (m, 0 = background) and
    segmentation ``[H, W]`` int32 geom ids (``-1`` = background)."""

    rgb: np.ndarray | None
    depth: np.ndarray | None
    segmentation: np.ndarray | None


class MujocoScene(SimulatedScene):
    """A MuJoCo model seen through one named camera; subclasses set ``world``, ``task`` and
    ``data`` (the live ``MjData``) and call :meth:`_setup` once the model exists."""

    task: str = ""

    def _setup(self, model: Any, camera: str, width: int, height: int, robot_root_body: str) -> None:
        """Camera, renderer, names and the robot's geoms (every geom under the root body of
        ``robot_root_body``); raises :class:`SpecError` for an unknown camera and
        :class:`MissingResourceError` when offscreen rendering fails."""
        mujoco = self.mujoco
        self.model = model
        self.width, self.height = int(width), int(height)
        cameras = [model.camera(i).name for i in range(model.ncam)]
        if camera not in cameras:
            raise SpecError(f"camera: the scene has no camera {camera!r}; its cameras: {', '.join(cameras)}")
        self.camera_names = cameras
        self.camera_name = camera
        self.camera_id = model.camera(camera).id
        global_vis = model.vis.global_
        global_vis.offwidth = max(global_vis.offwidth, self.width)
        global_vis.offheight = max(global_vis.offheight, self.height)
        try:
            self.renderer = mujoco.Renderer(model, self.height, self.width)
        except mujoco.FatalError as error:
            raise MissingResourceError(
                f"offscreen rendering failed (MUJOCO_GL={os.environ.get('MUJOCO_GL')!r}): {error}. "
                "Set MUJOCO_GL=egl before anything imports mujoco; `avdc doctor` checks rendering") from error
        flags = self.renderer.scene.flags
        flags[mujoco.mjtRndFlag.mjRND_SHADOW] = False
        flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = False
        self.geom_names = [model.geom(i).name for i in range(model.ngeom)]
        self.body_names = [model.body(i).name for i in range(model.nbody)]
        self.geom_body = np.asarray(model.geom_bodyid, dtype=np.int64).copy()
        self.robot_root = int(model.body_rootid[model.body(robot_root_body).id])
        self.robot_geoms = np.flatnonzero(model.body_rootid[self.geom_body] == self.robot_root)
        self.parts = SceneParts(tuple(self.geom_names), self.geom_body, tuple(self.body_names))

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
        camera of the model, by name). ``hide_robot``: draw the scene without the robot
        (``robot_geoms``), as if it were transparent — what lies behind it is seen
        (simulator-only; no camera can do this); ``rgb=False`` skips the colour pass."""
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

    def body_poses(self, data: Any = None) -> np.ndarray:
        """World poses ``[nbody, 4, 4]`` of every body in ``data``."""
        data = self.data if data is None else data
        poses = np.tile(np.eye(4), (self.model.nbody, 1, 1))
        poses[:, :3, :3] = np.asarray(data.xmat).reshape(-1, 3, 3)
        poses[:, :3, 3] = data.xpos
        return poses

    def touching(self, body_a: str | list[str], body_b: str) -> bool:
        """Whether any body of ``body_a`` is in contact with ``body_b`` in the live state."""
        model, contacts = self.model, self.data.contact
        names_a = [body_a] if isinstance(body_a, str) else body_a
        ids_a = [model.body(name).id for name in names_a]
        id_b = model.body(body_b).id
        pairs = model.geom_bodyid[np.stack([contacts.geom1, contacts.geom2])]
        return bool(np.any((np.isin(pairs[0], ids_a) & (pairs[1] == id_b))
                           | (np.isin(pairs[1], ids_a) & (pairs[0] == id_b))))
