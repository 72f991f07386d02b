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

:func:`check_motion` refuses plans whose fitted motion the track noise explains as well as no
motion at all (either the video shows no motion or the tracks settled on the static background):
a likelihood-ratio test of the fit against the identity, so that a coherent sub-pixel motion of
many tracks counts and incoherent pixel noise does not. :func:`lost_tracks` finds tracks that
sit still on the background while the fit moves their points; :func:`to_trajectory` adds the
fit's per-frame uncertainty (Gauss-Newton covariance of the least-squares fit on the inliers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import InputDataError, SolveError
from .types import Camera, RigidTrajectory, Tracks, invert_rigid, transform_points

MODES = ("object", "camera")
FRAME0_TOLERANCE_PX = 2.0
"""Median distance allowed between the projected points and the frame-0 tracks (camera check)."""
MOVED_PX = 3.0
"""A still track is lost once the fit moves its point farther than this (pixels) at the most."""
MOTION_P_VALUE = 1e-6
"""Chance that Gaussian track noise alone passes :func:`check_motion`'s motion test."""
NOISE_FLOOR_PX = 0.05
"""Track noise (pixels per axis) assumed at least, so exact tracks give finite statistics."""
MAX_RAY_STD_M = 0.05
"""Default along-ray standard deviation (m) above which a trajectory is flagged as ill-conditioned."""


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
    error = pixel_distance(project(camera.K, points_cam[valid0]), pixels0[valid0])
    if np.median(error) > FRAME0_TOLERANCE_PX:
        raise InputDataError(
            f"points_world project {np.median(error):.1f} px (median) away from their frame-0 tracks "
            f"(tolerance {FRAME0_TOLERANCE_PX} px); the camera does not match the one that lifted "
            "the points")


def project(K: np.ndarray, points_cam: np.ndarray) -> np.ndarray:
    """Camera-frame points ``[..., 3]`` → pixels ``[..., 2]`` (vectorised pinhole projection)."""
    z = np.maximum(points_cam[..., 2], 1e-9)
    return np.stack([points_cam[..., 0] / z * K[0, 0] + K[0, 2], points_cam[..., 1] / z * K[1, 1] + K[1, 2]],
                    axis=-1)


def pixel_distance(pixels: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Euclidean distance ``[...]`` between pixel arrays ``[..., 2]`` (broadcast)."""
    return np.hypot(pixels[..., 0] - other[..., 0], pixels[..., 1] - other[..., 1])


def robust_cost(error: np.ndarray, loss: str, scale: float | np.ndarray) -> np.ndarray:
    """Robust cost of residuals ``error`` (``0.5 * e**2`` near zero): ``loss`` is ``"huber"``
    (for distances, ``error >= 0``), ``"cauchy"`` or ``"none"``; ``scale`` broadcasts."""
    if loss == "huber":
        return np.where(error <= scale, 0.5 * error**2, scale * (error - 0.5 * scale))
    if loss == "cauchy":
        return 0.5 * scale**2 * np.log1p((error / scale) ** 2)
    return 0.5 * error**2


def robust_weight(error: np.ndarray, loss: str, scale: float | np.ndarray) -> np.ndarray:
    """IRLS weight ``rho'(e) / e`` of :func:`robust_cost`."""
    if loss == "huber":
        return np.minimum(scale / np.maximum(error, 1e-12), 1.0)
    if loss == "cauchy":
        return 1.0 / (1.0 + (error / scale) ** 2)
    return np.ones_like(error)


def reprojection_errors(problem: SolveProblem, motions_cam: np.ndarray) -> np.ndarray:
    """``[T, N]`` pixel distances between ``project(G_t @ X)`` and the tracks (any validity)."""
    return pixel_distance(project(problem.K, transform_points(motions_cam, problem.points_cam)), problem.pixels)


def track_noise_px(errors: np.ndarray, keep: np.ndarray) -> float:
    """Robust track noise (pixels per axis) from reprojection ``errors`` at ``keep``: their median
    over ``sqrt(2 ln 2)`` (the median of the norm of 2D Gaussian noise), at least
    :data:`NOISE_FLOOR_PX`; up to half of the kept tracks may be outliers."""
    median = float(np.median(errors[keep])) if keep.any() else 0.0
    return max(median / np.sqrt(2 * np.log(2)), NOISE_FLOOR_PX)


def point_jacobian(points: np.ndarray) -> np.ndarray:
    """d(exp(xi) p)/d(xi) at xi = 0 for points ``[..., 3]``: ``[I | -[p]x]``, shape ``[..., 3, 6]``.

    ``xi = (v, w)``: translation (m), then rotation (radians), a left perturbation.
    """
    x, y, z = np.moveaxis(points, -1, 0)
    jac = np.zeros((*points.shape[:-1], 3, 6))
    jac[..., 0, 0] = jac[..., 1, 1] = jac[..., 2, 2] = 1.0
    jac[..., 0, 4], jac[..., 0, 5] = z, -y
    jac[..., 1, 3], jac[..., 1, 5] = -z, x
    jac[..., 2, 3], jac[..., 2, 4] = y, -x
    return jac


def projection_jacobian(points: np.ndarray, focal: np.ndarray) -> np.ndarray:
    """Jacobian ``[..., 2, 6]`` (pixels per unit of ``xi``) of the pixel of ``exp(xi) p`` at 0,
    for camera-frame points ``[..., 3]`` and ``focal = (fx, fy)``; written out in closed form
    (the product of the projection's and :func:`point_jacobian`'s) because solvers evaluate
    it for every track at every iteration."""
    x, y, z = np.moveaxis(points, -1, 0)
    inv_z = 1.0 / np.maximum(z, 1e-9)
    xz, yz = x * inv_z, y * inv_z
    fx, fy = focal
    jac = np.zeros((*points.shape[:-1], 2, 6))
    jac[..., 0, 0], jac[..., 0, 2] = fx * inv_z, -fx * xz * inv_z
    jac[..., 0, 3], jac[..., 0, 4], jac[..., 0, 5] = -fx * xz * yz, fx * (1 + xz * xz), -fx * yz
    jac[..., 1, 1], jac[..., 1, 2] = fy * inv_z, -fy * yz * inv_z
    jac[..., 1, 3], jac[..., 1, 4], jac[..., 1, 5] = -fy * (1 + yz * yz), fy * xz * yz, fy * xz
    return jac


def se3_exp(twist: np.ndarray) -> np.ndarray:
    """``[B, 4, 4]`` rigid transforms ``exp(xi)`` of twists ``[B, 6]`` = (v, w) (Rodrigues'
    formula and its translation counterpart, with Taylor series near zero rotation)."""
    v, w = twist[:, :3], twist[:, 3:]
    angle2 = (w * w).sum(axis=1)
    angle = np.sqrt(angle2)
    small = angle < 1e-4
    safe = np.where(small, 1.0, angle)
    a = np.where(small, 1 - angle2 / 6, np.sin(safe) / safe)
    b = np.where(small, 0.5 - angle2 / 24, (1 - np.cos(safe)) / safe**2)
    c = np.where(small, 1 / 6 - angle2 / 120, (safe - np.sin(safe)) / safe**3)
    skew = np.zeros((len(twist), 3, 3))
    skew[:, 0, 1], skew[:, 0, 2], skew[:, 1, 2] = -w[:, 2], w[:, 1], -w[:, 0]
    skew[:, 1, 0], skew[:, 2, 0], skew[:, 2, 1] = w[:, 2], -w[:, 1], w[:, 0]
    skew2 = skew @ skew
    transform = np.zeros((len(twist), 4, 4))
    transform[:, 3, 3] = 1.0
    transform[:, :3, :3] = np.eye(3) + a[:, None, None] * skew + b[:, None, None] * skew2
    left = np.eye(3) + b[:, None, None] * skew + c[:, None, None] * skew2
    transform[:, :3, 3] = (left @ v[:, :, None])[..., 0]
    return transform


def to_trajectory(problem: SolveProblem, motions_cam: np.ndarray, inliers: np.ndarray, static_px: float,
                  max_ray_std_m: float = MAX_RAY_STD_M, lost: np.ndarray | None = None) -> RigidTrajectory:
    """World-frame :class:`RigidTrajectory` from camera-frame motions ``G_t`` (see module doc),
    once :func:`check_motion` (with ``static_px`` and the solver's ``lost [T, N]`` tracks, if it
    has them) has accepted the motion; its warnings come along.

    ``residuals_px[t]`` is the RMS reprojection error of frame ``t``'s inliers; the uncertainty
    comes from :func:`position_covariance`, and a warning names the frames whose along-ray
    standard deviation exceeds ``max_ray_std_m``.
    """
    errors = reprojection_errors(problem, motions_cam)
    warnings = check_motion(problem, motions_cam, inliers, errors, static_px, lost)
    counts = np.maximum(inliers.sum(axis=1), 1)
    rms = np.sqrt((np.where(inliers, errors, 0.0) ** 2).sum(axis=1) / counts)
    covariance, ray = position_covariance(problem, motions_cam, inliers, errors)
    ray_std = np.sqrt(np.maximum(np.einsum("i,tij,j->t", ray, covariance, ray), 0.0))
    uncertain = np.flatnonzero(ray_std > max_ray_std_m)
    if len(uncertain):
        warnings = (*warnings, f"frames {', '.join(map(str, uncertain))}: the motion along the viewing ray "
                    f"is uncertain (standard deviation up to {1000 * ray_std.max():.0f} mm > "
                    f"max_ray_std_m={max_ray_std_m}): a small or distant object with noisy tracks")
    c0 = problem.camera.cam_to_world
    if problem.mode == "camera":
        motions_cam = invert_rigid(motions_cam)
    transforms = c0 @ motions_cam @ invert_rigid(c0)
    transforms[0] = np.eye(4)
    return RigidTrajectory(transforms, inliers, rms, problem.mode, tuple(warnings),
                           np.sqrt(np.maximum(np.diagonal(covariance, axis1=1, axis2=2), 0.0)), ray_std)


def position_covariance(problem: SolveProblem, motions_cam: np.ndarray, inliers: np.ndarray,
                        errors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Covariance ``[T, 3, 3]`` (m², world frame; zero at frame 0) of the position each frame's
    motion gives the reference point — the points' centroid (``mode="object"``) or the camera
    centre (``"camera"``) — and the unit viewing ray ``[3]`` (world frame) from the frame-0
    camera to the points' centroid.

    It is the Gauss-Newton covariance ``s2 (J^T J)^-1`` of a least-squares fit of each frame's
    motion to its inliers, ``J`` the reprojection Jacobian at the returned motion and ``s2`` the
    inliers' residual variance per pixel axis (at least :data:`NOISE_FLOOR_PX` squared),
    propagated to the reference point to first order. It describes what the tracks determine:
    priors such as a solver's ray penalty are not counted.
    """
    frames = problem.num_frames - 1
    motions = motions_cam[1:]
    jac = projection_jacobian(transform_points(motions, problem.points_cam), np.diag(problem.K)[:2])
    weight = inliers[1:].astype(np.float64)
    jac = jac.reshape(frames, -1, 6)  # [T-1, 2N, 6]
    information = np.swapaxes(jac * np.repeat(weight, 2, axis=1)[..., None], 1, 2) @ jac
    dof = np.maximum(2 * weight.sum(axis=1) - 6, 1.0)
    variance = np.maximum((weight * errors[1:] ** 2).sum(axis=1) / dof, NOISE_FLOOR_PX**2)
    try:
        inverse = np.linalg.inv(information)
    except np.linalg.LinAlgError:  # a frame whose inliers leave a direction free
        inverse = np.linalg.pinv(information)
    twist = variance[:, None, None] * inverse
    centroid = problem.points_cam[problem.valid[0]].mean(axis=0)
    return reference_covariance(twist, motions, centroid, problem.camera, problem.mode)


def reference_covariance(twist: np.ndarray, motions: np.ndarray, centroid: np.ndarray, camera: Camera,
                         mode: str) -> tuple[np.ndarray, np.ndarray]:
    """:func:`position_covariance`'s result from the covariance ``twist [T-1, 6, 6]`` of the
    left perturbations of frames 1.. (``motions [T-1, 4, 4]``, frame-0 camera frame) and the
    points' frame-0 ``centroid`` (camera frame)."""
    if mode == "object":
        reference = point_jacobian(motions[:, :3, :3] @ centroid + motions[:, :3, 3])
    else:  # the camera centre G_t^-1 0 moves by -R_t^T v under exp(xi) G_t
        reference = np.concatenate([-np.swapaxes(motions[:, :3, :3], 1, 2),
                                    np.zeros((len(motions), 3, 3))], axis=2)
    rotation = camera.cam_to_world[:3, :3]
    covariance = rotation @ reference @ twist @ np.swapaxes(reference, 1, 2) @ rotation.T
    ray = rotation @ centroid / np.linalg.norm(centroid)
    return np.concatenate([np.zeros((1, 3, 3)), covariance]), ray


def lost_tracks(problem: SolveProblem, motions_cam: np.ndarray, static_px: float,
                moved_px: float = MOVED_PX) -> np.ndarray:
    """``[T, N]``: tracks lost to the static background by frame ``t``.

    A valid track is still in a frame where it lies within ``static_px`` of its frame-0 pixel. It
    is lost in frame ``t`` when it is still from ``t`` through some frame ``s >= t`` by which the
    fit has moved its point farther than a real track could be from where it was observed:
    ``moved_px``, or ``static_px + 3 sigma`` when the noise ``sigma`` of the other tracks
    (:func:`track_noise_px`) makes that less. Looking ahead catches the early frames of a
    motion, where the fit has not yet moved the point far; points the fit barely moves (near a
    rotation's axis) are never lost.
    """
    displacement = pixel_distance(problem.pixels, problem.pixels[:1])
    still = problem.valid & (displacement < static_px)
    moved = project(problem.K, transform_points(motions_cam, problem.points_cam))
    predicted = pixel_distance(moved, problem.pixels[:1])
    others = problem.valid & ~still
    others[0] = False
    noise = track_noise_px(pixel_distance(moved, problem.pixels), others)
    reach = min(moved_px, static_px + 3 * noise)
    lost = np.zeros_like(still)
    ahead = np.zeros(still.shape[1])  # farthest the fit moves each point over its still frames ahead
    for t in range(problem.num_frames - 1, 0, -1):
        ahead = np.where(still[t], np.maximum(ahead, predicted[t]), 0.0)
        lost[t] = ahead > reach
    return lost


def check_motion(problem: SolveProblem, motions_cam: np.ndarray, inliers: np.ndarray, errors: np.ndarray,
                 static_px: float, lost: np.ndarray | None = None, moved_px: float = MOVED_PX,
                 lost_fraction: float = 0.3, p_value: float = MOTION_P_VALUE) -> tuple[str, ...]:
    """Refuse a plan whose motion the track noise explains; return warnings about lost tracks.

    The test is a likelihood ratio of the fit against the identity under Gaussian track noise:
    the drop in squared reprojection error, in units of the robust noise variance
    (:func:`track_noise_px` of the fit's errors), against the chi-square quantile with
    ``6 (T - 1)`` degrees of freedom that noise alone exceeds with probability ``p_value``. So a
    coherent motion of many tracks counts however small their displacement, and noise does not
    however large. It counts the inliers and the valid tracks the identity explains as closely
    as the fit explains its inliers (choosing the inliers by the fit must not favour it), never
    lost ones (:func:`lost_tracks`). Raises :class:`SolveError` when the motion is not
    significant. Warns for a frame where at least ``lost_fraction`` of the valid tracks are lost.
    ``errors [T, N]``: :func:`reprojection_errors` of ``motions_cam``; ``lost [T, N]``: its
    :func:`lost_tracks` (computed here when ``None``).
    """
    from scipy.special import chdtri

    fit = errors[1:]
    identity = pixel_distance(project(problem.K, problem.points_cam), problem.pixels)[1:]
    if lost is None:
        lost = lost_tracks(problem, motions_cam, static_px, moved_px)
    usable = problem.valid[1:] & ~lost[1:]
    reach = np.where(inliers[1:], fit, 0.0).max(axis=1, keepdims=True)
    counted = usable & (inliers[1:] | (identity <= reach))
    noise = track_noise_px(fit, usable)
    statistic = float(np.where(counted, identity**2 - fit**2, 0.0).sum()) / noise**2
    threshold = float(chdtri(6 * (problem.num_frames - 1), p_value))
    if statistic < threshold:
        what = "object" if problem.mode == "object" else "scene"
        raise SolveError(
            f"the tracked {what} points never move beyond their noise: the fit reduces the squared "
            f"reprojection error by {statistic:.1f} noise variances ({noise:.2f} px track noise), "
            f"noise alone reaches {threshold:.1f} (p={p_value}); the video shows no motion or the "
            "tracks settled on the static background; refusing to return a guessed trajectory")
    warnings = []
    for t in range(1, problem.num_frames):
        share = lost[t].sum() / max(problem.valid[t].sum(), 1)
        if share >= lost_fraction:
            warnings.append(f"frame {t}: {share:.0%} of the tracks stay at their frame-0 pixel where the "
                            "fit moves their points (tracks lost to the static background?); "
                            f"{int((lost[t] & ~inliers[t]).sum())} of them left out of the fit")
    return tuple(warnings)
