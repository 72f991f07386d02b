"""What every pose solver shares: input checks, the camera-frame problem, modes and motion checks.

Solvers work in the camera frame of frame 0. With ``C0 = camera.cam_to_world`` and ``X`` the
points in that camera frame, a solver finds per frame ``G_t`` (4x4) such that the tracked pixels
are the projections of ``G_t @ X``. :func:`to_trajectory` turns these into world-frame motions:

* ``mode="object"`` (camera fixed, object moves): ``transforms[t] = C0 @ G_t @ inv(C0)`` maps a
  point of the object at frame 0 to where it is at frame ``t`` (world frame).
* ``mode="camera"`` (static scene, camera moves): ``transforms[t] = C0 @ inv(G_t) @ inv(C0)``,
  the inverse of the apparent scene motion. It is the camera's own motion in the world frame:
  the camera's pose at frame ``t`` is ``transforms[t] @ C0`` and its position moves from
  ``C0[:3, 3]`` to ``transforms[t][:3, :3] @ C0[:3, 3] + transforms[t][:3, 3]``.

:func:`check_motion` refuses plans whose tracked points never move (an identity fit with a
near-zero residual is then meaningless: either the video shows no motion or the tracks settled
on the static background) and describes suspicious frames in ``RigidTrajectory.warnings``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import InputDataError, SolveError
from .types import Camera, RigidTrajectory, Tracks, invert_rigid, transform_points

MODES = ("object", "camera")
FRAME0_TOLERANCE_PX = 2.0
"""Median distance allowed between the projected points and the frame-0 tracks (camera check)."""


@dataclass(frozen=True)
class SolveProblem:
    """A checked solve input in the camera frame of frame 0.

    ``points_cam [N, 3]`` (m), ``pixels [T, N, 2]`` and ``valid [T, N]`` from the tracks
    (invalid pixels set to 0), ``K`` the intrinsics, ``camera`` the frame-0 camera, ``mode``.
    """

    points_cam: np.ndarray
    pixels: np.ndarray
    valid: np.ndarray
    camera: Camera
    mode: str

    @property
    def K(self) -> np.ndarray:
        return self.camera.K

    @property
    def num_frames(self) -> int:
        return int(self.pixels.shape[0])


def prepare(points_world: np.ndarray, tracks: Tracks, camera: Camera, mode: str,
            min_points: int) -> SolveProblem:
    """Check a solver's inputs and express them in the frame-0 camera frame.

    Raises :class:`InputDataError` for malformed input (shapes, non-finite values, points behind
    the camera, a camera that does not match the tracks) and :class:`SolveError` when a frame has
    fewer than ``min_points`` valid tracks.
    """
    if mode not in MODES:
        raise InputDataError(f"solver mode is {mode!r}; expected one of {MODES}")
    points_world = np.asarray(points_world, dtype=np.float64)
    if points_world.ndim != 2 or points_world.shape[1] != 3:
        raise InputDataError(f"points_world has shape {points_world.shape}; expected (N, 3) metres")
    finite = np.isfinite(points_world).all(axis=1)
    if not finite.all():
        raise InputDataError(
            f"points_world has {int((~finite).sum())} of {len(points_world)} point(s) with NaN/inf "
            "coordinates (bad depth under the mask?); drop them before solving")
    if tracks.pixels.shape[1] != len(points_world):
        raise InputDataError(f"tracks carry {tracks.pixels.shape[1]} point(s) but points_world has "
                             f"{len(points_world)}; they must describe the same points")
    if tracks.pixels.shape[0] < 2:
        raise InputDataError(f"tracks cover {tracks.pixels.shape[0]} frame(s); a solve needs >= 2")
    valid = np.asarray(tracks.valid, dtype=bool)
    pixels = np.where(valid[..., None], tracks.pixels, 0.0).astype(np.float64)
    if not np.isfinite(pixels).all():
        raise InputDataError("tracks.pixels has NaN/inf values at points marked valid")
    points_cam = transform_points(camera.world_to_cam, points_world)
    if len(points_cam) and points_cam[:, 2].min() <= 0:
        raise InputDataError(f"{int((points_cam[:, 2] <= 0).sum())} point(s) of points_world lie "
                             "behind the camera (depth <= 0); wrong camera or wrong points?")
    _check_frame0(points_cam, pixels[0], valid[0], camera)
    counts = valid.sum(axis=1)
    low = np.flatnonzero(counts < min_points)
    if len(low):
        raise SolveError(f"frame {int(low[0])} has {int(counts[low[0]])} valid track(s); the solve "
                         f"needs at least {min_points} (tracks lost to occlusion or the image border?)")
    return SolveProblem(points_cam, pixels, valid, camera, mode)


def _check_frame0(points_cam: np.ndarray, pixels0: np.ndarray, valid0: np.ndarray,
                  camera: Camera) -> None:
    inside = ((pixels0[:, 0] >= -0.5) & (pixels0[:, 0] <= camera.width - 0.5)
              & (pixels0[:, 1] >= -0.5) & (pixels0[:, 1] <= camera.height - 0.5))
    if (valid0 & ~inside).any():
        raise InputDataError(
            f"{int((valid0 & ~inside).sum())} frame-0 track(s) lie outside the camera's "
            f"{camera.width}x{camera.height} image; the camera does not match the video")
    if not valid0.any():
        return
    error = np.linalg.norm(project(camera.K, points_cam[valid0]) - pixels0[valid0], axis=1)
    if np.median(error) > FRAME0_TOLERANCE_PX:
        raise InputDataError(
            f"points_world project {np.median(error):.1f} px (median) away from their frame-0 tracks "
            f"(tolerance {FRAME0_TOLERANCE_PX} px); the camera does not match the one that lifted "
            "the points")


def project(K: np.ndarray, points_cam: np.ndarray) -> np.ndarray:
    """Camera-frame points ``[..., 3]`` → pixels ``[..., 2]`` (vectorised pinhole projection)."""
    z = np.maximum(points_cam[..., 2:3], 1e-9)
    return (points_cam[..., :2] / z) * np.diag(K)[:2] + K[:2, 2]


def reprojection_errors(problem: SolveProblem, motions_cam: np.ndarray) -> np.ndarray:
    """``[T, N]`` pixel distances between ``project(G_t @ X)`` and the tracks (any validity)."""
    moved = (np.einsum("tij,nj->tni", motions_cam[:, :3, :3], problem.points_cam)
             + motions_cam[:, None, :3, 3])
    return np.linalg.norm(project(problem.K, moved) - problem.pixels, axis=-1)


def to_trajectory(problem: SolveProblem, motions_cam: np.ndarray, inliers: np.ndarray,
                  warnings: tuple[str, ...] = ()) -> RigidTrajectory:
    """World-frame :class:`RigidTrajectory` from camera-frame motions ``G_t`` (see module doc).

    ``residuals_px[t]`` is the RMS reprojection error of frame ``t``'s inliers.
    """
    errors = reprojection_errors(problem, motions_cam)
    counts = np.maximum(inliers.sum(axis=1), 1)
    rms = np.sqrt((np.where(inliers, errors, 0.0) ** 2).sum(axis=1) / counts)
    c0 = problem.camera.cam_to_world
    if problem.mode == "camera":
        motions_cam = invert_rigid(motions_cam)
    transforms = c0 @ motions_cam @ invert_rigid(c0)
    transforms[0] = np.eye(4)
    return RigidTrajectory(transforms, inliers, rms, problem.mode, tuple(warnings))


def check_motion(problem: SolveProblem, motions_cam: np.ndarray, inliers: np.ndarray,
                 static_px: float, moved_px: float = 3.0,
                 lost_fraction: float = 0.3) -> tuple[str, ...]:
    """Refuse a plan whose inlier tracks never move; return warnings about suspicious frames.

    Raises :class:`SolveError` when the median displacement of each frame's inliers from frame
    0 stays below ``static_px``: the near-identity fit would then be a guess, not a measurement.
    Warns for a frame where at least ``lost_fraction`` of the valid tracks sit still (within
    ``static_px`` of frame 0) although the fit moves those points by more than ``moved_px`` —
    the signature of tracks that fell off the object and settled on the static background.
    """
    displacement = np.linalg.norm(problem.pixels - problem.pixels[:1], axis=-1)
    per_frame = [np.median(displacement[t][inliers[t]]) if inliers[t].any() else 0.0
                 for t in range(1, problem.num_frames)]
    if max(per_frame) < static_px:
        what = "object" if problem.mode == "object" else "scene"
        raise SolveError(
            f"the tracked {what} points never move (largest median displacement "
            f"{max(per_frame):.2f} px < static_px={static_px}): the video shows no motion or the "
            "tracks settled on the static background; refusing to return an identity trajectory")
    predicted = np.linalg.norm(
        project(problem.K, np.einsum("tij,nj->tni", motions_cam[:, :3, :3], problem.points_cam)
                + motions_cam[:, None, :3, 3]) - problem.pixels[:1], axis=-1)
    warnings = []
    for t in range(1, problem.num_frames):
        still = problem.valid[t] & (displacement[t] < static_px) & (predicted[t] > moved_px)
        share = still.sum() / max(problem.valid[t].sum(), 1)
        if share >= lost_fraction:
            warnings.append(f"frame {t}: {share:.0%} of the tracks stay still where the fit moves "
                            f"them > {moved_px} px (tracks lost to the static background?)")
    return tuple(warnings)
