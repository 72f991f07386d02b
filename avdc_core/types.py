"""Data passed between components.

Conventions, used everywhere in avdc:

* images are ``uint8`` arrays ``[H, W, 3]`` (RGB), row 0 at the top;
* pixel coordinates are ``(u, v)`` = (column, row) in pixels, the centre of the top-left pixel
  at ``(0, 0)``;
* the camera frame is OpenCV's: x right, y down, z forward (along the optical axis);
* depth is metric (metres) along the optical axis (z in the camera frame); invalid depth is
  ``0``, ``NaN`` or ``inf``;
* 3D points and rigid transforms are in the **world** frame unless a name says otherwise;
  a 4x4 transform acts on column vectors: ``x_t = T @ [x_0, 1]``.

Every dataclass checks its shapes on construction and raises
:class:`~avdc_core.errors.InputDataError` naming the field, so a bad array never travels far.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import InputDataError

if TYPE_CHECKING:
    from .simulation import SimulatedFrames, SimulatorView


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise InputDataError(message)


def _shape(name: str, array: np.ndarray, expected: str) -> str:
    return f"{name} has shape {tuple(array.shape)} and dtype {array.dtype}; expected {expected}"


@dataclass(frozen=True)
class Camera:
    """A pinhole camera: intrinsics ``K`` (pixels), pose ``cam_to_world`` and image size.

    ``cam_to_world`` maps OpenCV camera coordinates (metres) to world coordinates (metres).
    """

    K: np.ndarray
    cam_to_world: np.ndarray
    width: int
    height: int

    def __post_init__(self) -> None:
        K = np.asarray(self.K, dtype=np.float64)
        pose = np.asarray(self.cam_to_world, dtype=np.float64)
        _check(K.shape == (3, 3), _shape("camera.K", K, "(3, 3)"))
        _check(pose.shape == (4, 4), _shape("camera.cam_to_world", pose, "(4, 4)"))
        _check(bool(np.all(np.isfinite(K)) and K[0, 0] > 0 and K[1, 1] > 0),
               f"camera.K must be finite with positive focal lengths, got fx={K[0, 0]}, fy={K[1, 1]}")
        _check(bool(np.all(np.isfinite(pose))), "camera.cam_to_world has non-finite entries")
        _check(int(self.width) > 0 and int(self.height) > 0,
               f"camera size must be positive, got width={self.width}, height={self.height}")
        object.__setattr__(self, "K", K)
        object.__setattr__(self, "cam_to_world", pose)
        object.__setattr__(self, "width", int(self.width))
        object.__setattr__(self, "height", int(self.height))

    @classmethod
    def from_fov(cls, width: int, height: int, fovy_deg: float,
                 cam_to_world: np.ndarray | None = None) -> Camera:
        """A camera with square pixels, the principal point at the image centre and the given
        vertical field of view (degrees)."""
        f = 0.5 * height / np.tan(np.radians(fovy_deg) / 2)
        K = np.array([[f, 0, width / 2 - 0.5], [0, f, height / 2 - 0.5], [0, 0, 1]])
        return cls(K, np.eye(4) if cam_to_world is None else cam_to_world, width, height)

    @property
    def world_to_cam(self) -> np.ndarray:
        """The inverse of ``cam_to_world`` (4x4)."""
        return invert_rigid(self.cam_to_world)

    def check_image(self, name: str, image: np.ndarray) -> None:
        """Raise if ``image`` (``[H, W, ...]``) does not have this camera's size."""
        _check(tuple(image.shape[:2]) == (self.height, self.width),
               f"{name} is {image.shape[1]}x{image.shape[0]} (WxH) but the camera is "
               f"{self.width}x{self.height}")

    def project(self, points_world: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """World points ``[N, 3]`` (m) → pixels ``[N, 2]`` and their depth ``[N]`` (m)."""
        points_cam = transform_points(self.world_to_cam, points_world)
        depth = points_cam[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            pixels = (points_cam @ self.K.T)[:, :2] / depth[:, None]
        return pixels, depth

    def unproject(self, pixels: np.ndarray, depth: np.ndarray) -> np.ndarray:
        """Pixels ``[N, 2]`` with depth ``[N]`` (m, along the optical axis) → world points ``[N, 3]``."""
        pixels = np.asarray(pixels, dtype=np.float64)
        depth = np.asarray(depth, dtype=np.float64)
        _check(pixels.ndim == 2 and pixels.shape[1] == 2, _shape("pixels", pixels, "(N, 2)"))
        _check(depth.shape == (len(pixels),), _shape("depth", depth, f"({len(pixels)},)"))
        homogeneous = np.concatenate([pixels, np.ones((len(pixels), 1))], axis=1)
        rays = homogeneous @ np.linalg.inv(self.K).T
        return transform_points(self.cam_to_world, rays * depth[:, None])

    def to_json(self) -> dict[str, Any]:
        return {"K": self.K.tolist(), "cam_to_world": self.cam_to_world.tolist(),
                "width": self.width, "height": self.height}


def transform_points(transform: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a 4x4 rigid transform to points ``[N, 3]``; a stack of transforms ``[..., 4, 4]``
    gives each one's points, ``[..., N, 3]``."""
    points = np.asarray(points, dtype=np.float64)
    return points @ np.swapaxes(transform[..., :3, :3], -1, -2) + transform[..., None, :3, 3]


def invert_rigid(transform: np.ndarray) -> np.ndarray:
    """Inverse of a 4x4 rigid transform (or a stack ``[..., 4, 4]``)."""
    transform = np.asarray(transform, dtype=np.float64)
    rotation_t = np.swapaxes(transform[..., :3, :3], -1, -2)
    inverse = np.zeros_like(transform)
    inverse[..., :3, :3] = rotation_t
    inverse[..., :3, 3] = -(rotation_t @ transform[..., :3, 3:4])[..., 0]
    inverse[..., 3, 3] = 1.0
    return inverse


@dataclass(frozen=True)
class Observation:
    """What the robot sees now: RGB, metric depth (m) and the exact camera.

    ``simulator``: what a simulated executor knows besides (segmentation with names, the live
    scene) for privileged components (:mod:`avdc_core.simulation`); ``None`` for a real robot.
    """

    rgb: np.ndarray
    depth: np.ndarray
    camera: Camera
    simulator: SimulatorView | None = None

    def __post_init__(self) -> None:
        _check(self.rgb.ndim == 3 and self.rgb.shape[2] == 3 and self.rgb.dtype == np.uint8,
               _shape("observation.rgb", self.rgb, "(H, W, 3) uint8"))
        _check(self.depth.ndim == 2, _shape("observation.depth", self.depth, "(H, W) metres"))
        self.camera.check_image("observation.rgb", self.rgb)
        self.camera.check_image("observation.depth", self.depth)

    @property
    def valid_depth(self) -> np.ndarray:
        """``[H, W]`` bool: depth is finite and positive."""
        return np.isfinite(self.depth) & (self.depth > 0)


@dataclass(frozen=True)
class Video:
    """Frames ``[T, H, W, 3]`` uint8; frame 0 is the observation the plan starts from.

    ``simulator``: the ground truth of frames a simulator rendered (depth, segmentation, body
    poses; :class:`~avdc_core.simulation.SimulatedFrames`); ``None`` for generated videos.
    """

    frames: np.ndarray
    simulator: SimulatedFrames | None = None

    def __post_init__(self) -> None:
        f = self.frames
        _check(f.ndim == 4 and f.shape[3] == 3 and f.dtype == np.uint8,
               _shape("video.frames", f, "(T, H, W, 3) uint8"))
        _check(f.shape[0] >= 2, f"video.frames has {f.shape[0]} frame(s); a plan needs at least 2")
        _check(self.simulator is None or self.simulator.num_frames == f.shape[0],
               f"video.simulator describes {getattr(self.simulator, 'num_frames', 0)} frame(s); "
               f"the video has {f.shape[0]}")

    def first(self, count: int) -> Video:
        """The first ``count`` frames (and their ground truth)."""
        truth = None if self.simulator is None else self.simulator.first(count)
        return Video(self.frames[:count], truth)

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])


@dataclass(frozen=True)
class Flow:
    """Dense optical flow between consecutive frames, in pixels.

    ``forward[t, v, u] = (du, dv)`` moves pixel ``(u, v)`` of frame ``t`` to frame ``t + 1``;
    ``backward[t]`` (optional) maps frame ``t + 1`` back to frame ``t``. Shape ``[T-1, H, W, 2]``.
    """

    forward: np.ndarray
    backward: np.ndarray | None = None

    def __post_init__(self) -> None:
        for name in ("forward", "backward"):
            array = getattr(self, name)
            if array is None:
                continue
            _check(array.ndim == 4 and array.shape[3] == 2,
                   _shape(f"flow.{name}", array, "(T-1, H, W, 2)"))
            _check(bool(np.all(np.isfinite(array))), f"flow.{name} has non-finite values")
        if self.backward is not None:
            _check(self.backward.shape == self.forward.shape,
                   f"flow.backward has shape {self.backward.shape} but flow.forward has "
                   f"{self.forward.shape}")


@dataclass(frozen=True)
class Mask:
    """Pixels of the thing to move (``[H, W]`` bool); ``source`` says which segmenter made it."""

    pixels: np.ndarray
    source: str = ""

    def __post_init__(self) -> None:
        _check(self.pixels.ndim == 2 and self.pixels.dtype == np.bool_,
               _shape("mask.pixels", self.pixels, "(H, W) bool"))

    @property
    def count(self) -> int:
        return int(self.pixels.sum())


@dataclass(frozen=True)
class SegmentTarget:
    """What to segment: a human-readable name plus plugin-specific hints (e.g. a geom name)."""

    name: str
    hints: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Tracks:
    """``N`` points carried through ``T`` frames: pixels ``[T, N, 2]`` and ``valid [T, N]``.

    A point that left the image or failed the forward-backward check stays invalid afterwards.
    """

    pixels: np.ndarray
    valid: np.ndarray

    def __post_init__(self) -> None:
        _check(self.pixels.ndim == 3 and self.pixels.shape[2] == 2,
               _shape("tracks.pixels", self.pixels, "(T, N, 2)"))
        _check(self.valid.shape == self.pixels.shape[:2],
               _shape("tracks.valid", self.valid, f"{self.pixels.shape[:2]} bool"))


@dataclass(frozen=True)
class RigidTrajectory:
    """One rigid motion per frame, in the world frame.

    ``transforms[t]`` (4x4) maps a point at frame 0 to where it is at frame ``t``;
    ``transforms[0]`` is the identity. ``inliers [T, N]`` marks the points each frame's fit
    trusted; ``residuals_px [T]`` is the RMS reprojection error of those inliers (pixels).
    ``mode`` is ``"object"`` (an object moved, camera fixed) or ``"camera"`` (the camera moved
    through a static scene; then ``transforms`` are camera motions, see ``avdc_core.solve``).
    ``warnings`` describe frames the solver found suspicious (e.g. tracks lost to the background).

    The fit's uncertainty, when the solver gives one (``None`` otherwise), is about the position
    ``transforms[t]`` gives a reference point — the tracked points' centroid (object mode) or
    the camera centre (camera mode): ``translation_std_m [T, 3]`` is its standard deviation along
    the world axes and ``ray_std_m [T]`` along the frame-0 camera's viewing ray through the
    points' centroid (metres; both zero at frame 0). The along-ray one is what small, distant
    objects leave undetermined.
    """

    transforms: np.ndarray
    inliers: np.ndarray
    residuals_px: np.ndarray
    mode: str = "object"
    warnings: tuple[str, ...] = ()
    translation_std_m: np.ndarray | None = None
    ray_std_m: np.ndarray | None = None

    def __post_init__(self) -> None:
        T = self.transforms
        _check(T.ndim == 3 and T.shape[1:] == (4, 4), _shape("trajectory.transforms", T, "(T, 4, 4)"))
        _check(self.residuals_px.shape == (T.shape[0],),
               _shape("trajectory.residuals_px", self.residuals_px, f"({T.shape[0]},)"))
        _check(self.mode in ("object", "camera"), f"trajectory.mode is {self.mode!r}; "
               "expected 'object' or 'camera'")
        for name, expected in (("translation_std_m", (T.shape[0], 3)), ("ray_std_m", (T.shape[0],))):
            value = getattr(self, name)
            _check(value is None or value.shape == expected,
                   f"trajectory.{name} has shape {getattr(value, 'shape', None)}; expected {expected} or None")

    def to_json(self) -> dict[str, Any]:
        return {"mode": self.mode, "transforms": self.transforms.tolist(),
                "residuals_px": self.residuals_px.tolist(),
                "inlier_counts": self.inliers.sum(axis=1).tolist(), "warnings": list(self.warnings),
                "translation_std_m": None if self.translation_std_m is None else self.translation_std_m.tolist(),
                "ray_std_m": None if self.ray_std_m is None else self.ray_std_m.tolist()}


@dataclass(frozen=True)
class Commands:
    """What an executor will do for one plan.

    ``kind`` names the command family: ``"subgoals"`` (end-effector positions ``[K, 3]`` in
    metres, world frame, with a grasp flag), ``"discrete"`` (action names, e.g. navigation
    moves) or anything a third-party executor defines. ``data`` holds JSON-friendly values;
    ``data["mode"]``, when present, names the primitive chosen for the plan (a manipulator's
    grasp, push, ...), which episodes record (``EpisodeResult.plan_primitives``).
    """

    kind: str
    data: dict[str, Any]


@dataclass(frozen=True)
class StepReport:
    """The state after one executor step; the runner detects stalls from ``effector_m``.

    ``effector_m`` is the end effector's (or, for navigation, the camera's) world position (m).
    ``stopped``: the robot declared the task over (a navigating agent's *stop*); the episode
    ends here, a success or not as ``success`` says.
    """

    step: int
    effector_m: np.ndarray
    success: bool
    info: dict[str, Any] = field(default_factory=dict)
    stopped: bool = False


@dataclass(frozen=True)
class Plan:
    """Everything one planning pass produced, kept for artifacts and debugging."""

    task: str
    observation: Observation
    video: Video
    flow: Flow
    mask: Mask
    points_world: np.ndarray
    tracks: Tracks
    trajectory: RigidTrajectory
    timings_s: dict[str, float] = field(default_factory=dict)
