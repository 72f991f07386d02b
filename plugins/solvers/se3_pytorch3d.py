"""``solver/se3-pytorch3d``: robust, batched Levenberg-Marquardt on se(3).

For every frame at once it minimises the robust reprojection error of the frame-0 points moved
by ``exp(xi) @ G`` against their tracked pixels (the paper's loss), in the frame-0 camera frame
(see :mod:`avdc_core.solve` for the frames and the two modes).

1. **Initialisation** — two candidates per frame, refined side by side: OpenCV's PnP inside
   RANSAC (``ransac_iters`` hypotheses; a closed-form fit that also ignores gross outliers) and
   the identity; the candidate with the lower robust cost wins.
2. **Refinement** — Levenberg-Marquardt with IRLS weights from a Huber or Cauchy loss
   (``loss_scale_px``), analytic Jacobians of the pinhole projection w.r.t. a left
   perturbation, and ``pytorch3d.transforms.se3_exp_map`` for the update (PyTorch3D stores the
   translation in the last *row*; we transpose to column-vector matrices).
3. **Trimming** — points farther than ``inlier_threshold_px`` from the fit are dropped, and so
   are lost tracks (:func:`~avdc_core.solve.lost_tracks`: still within ``static_px`` of their
   frame-0 pixel while the fit moves their points clearly away, by then or later); the fit is
   refined once more on the inliers by plain least squares (the efficient estimate for Gaussian
   track noise; the robust loss has done its job of finding the inliers).

Lost tracks are dropped rather than down-weighted: a track on the background says nothing
about the object, however close to the fit it lies — and on a small object the whole motion is
a few pixels, so they lie within ``inlier_threshold_px``, where the robust loss keeps them and
they pull the fit toward no motion. Two steps keep them out. Tracks that never leave their
frame-0 pixel sit out stages 1-2 while they are a minority (a real object moves most of its
tracks; points near a rotation axis that stay put return in stage 3 unless the fit moves them);
and stage 3 repeats, up to ``REFITS`` times, while each refit finds more lost tracks.

``ray_penalty`` adds ``0.5 * n * (ray_penalty * f * (d . dc) / z)**2`` to the cost, where
``dc`` is the motion of the points' centroid, ``d`` its unit viewing ray, ``z`` its depth and
``n`` the number of weighted points: moving the centroid along its ray by the distance that
shifts it 1 px sideways costs ``ray_penalty**2`` px² per point. The default is ``0`` because
real objects do move toward the camera (exact correspondences in Meta-World: 92-94 % success
without the penalty, 61 % with it); raise it (0.3-1) for noisy tracks on small objects, whose
depth the reprojection error barely constrains (the trajectory's ``ray_std_m`` says how little).

Plans whose motion the track noise explains raise :class:`~avdc_core.errors.SolveError`
(:func:`~avdc_core.solve.check_motion`); frames where many tracks were lost, and frames whose
along-ray standard deviation exceeds ``max_ray_std_m``, are reported in
``RigidTrajectory.warnings``; the trajectory carries the fit's per-frame uncertainty
(:func:`~avdc_core.solve.position_covariance`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import Field

from avdc_core import (
    BuildContext,
    Camera,
    ComponentConfig,
    PoseSolver,
    RigidTrajectory,
    SolveError,
    Tracks,
    hookimpl,
)
from avdc_core.solve import (
    SolveProblem,
    check_motion,
    lost_tracks,
    point_jacobian,
    prepare,
    projection_jacobian,
    to_trajectory,
)

if TYPE_CHECKING:
    import torch

RANSAC_POINTS = 128
"""PnP-RANSAC only initialises the fit, so it sees an evenly spread subset of this many tracks."""
REFITS = 3
"""Least-squares refits at most while each finds more lost tracks."""


class Se3Config(ComponentConfig):
    """Parameters of :class:`Se3Solver`."""

    robust_loss: Literal["huber", "cauchy", "none"] = "cauchy"
    loss_scale_px: float = Field(default=2.0, gt=0, description="robust loss scale (pixels)")
    ransac_iters: int = Field(default=100, ge=0, description="PnP-RANSAC hypotheses (0: no RANSAC)")
    ransac_threshold_px: float = Field(default=4.0, gt=0)
    inlier_threshold_px: float = Field(default=3.0, gt=0, description="final inlier cut (pixels)")
    iterations: int = Field(default=15, ge=1, description="LM iterations per stage (two stages)")
    ray_penalty: float = Field(default=0.0, ge=0, description="weight on motion along the viewing ray")
    min_points: int = Field(default=6, ge=4, description="fewest valid tracks a frame may have")
    static_px: float = Field(default=0.5, gt=0, description="tracks moving less are 'still'")
    max_ray_std_m: float = Field(default=0.05, gt=0, description="warn above this along-ray std (m)")


class Se3Solver(PoseSolver):
    """Robust batched Levenberg-Marquardt on se(3) (PyTorch3D exp map), PnP-RANSAC initialised."""

    name = "se3-pytorch3d"
    Config = Se3Config

    def __init__(self, config: Se3Config, context: BuildContext) -> None:
        super().__init__(config, context)
        import torch

        self._torch = torch
        self._device = torch.device(context.device)

    def solve(self, points_world: np.ndarray, tracks: Tracks, camera: Camera,
              mode: str = "object") -> RigidTrajectory:
        cfg = self.config
        problem = prepare(points_world, tracks, camera, mode, cfg.min_points)
        frames = problem.num_frames - 1
        fitted = self._moving_tracks(problem)
        masks = np.repeat(fitted, 2, axis=0)
        motions = self._refine(problem, self._initial_guesses(problem, fitted), masks, cfg.robust_loss)
        errors = self._errors(problem, motions)
        point_costs = _robust_cost(self._torch.as_tensor(errors), cfg.robust_loss, cfg.loss_scale_px)
        costs = np.where(masks, point_costs.numpy(), 0.0).sum(1)
        best = motions.reshape(frames, 2, 4, 4)[np.arange(frames), costs.reshape(frames, 2).argmin(1)]
        lost = self._lost(problem, best)
        for _ in range(REFITS):
            inliers = self._inliers(problem, best, lost)
            short = np.flatnonzero(inliers.sum(axis=1) < cfg.min_points)
            if len(short):
                raise SolveError(f"frame {int(short[0]) + 1}: only {int(inliers[short[0]].sum())} of "
                                 f"{int(problem.valid[short[0] + 1].sum())} tracks fit a rigid motion "
                                 f"within {cfg.inlier_threshold_px} px; need {cfg.min_points}")
            best = self._refine(problem, best, inliers, "none")
            previous, lost = lost, self._lost(problem, best)
            if np.array_equal(previous, lost):
                break
        motions_cam = np.concatenate([np.eye(4)[None], best])
        inliers = np.concatenate([problem.valid[:1], self._inliers(problem, best, lost)])
        warnings = check_motion(problem, motions_cam, inliers, cfg.static_px)
        return to_trajectory(problem, motions_cam, inliers, warnings, cfg.max_ray_std_m)

    def _inliers(self, problem: SolveProblem, motions: np.ndarray, lost: np.ndarray) -> np.ndarray:
        """``[T-1, N]``: valid tracks of frames 1.. within ``inlier_threshold_px`` of ``motions``, less ``lost``."""
        close = self._errors(problem, motions) < self.config.inlier_threshold_px
        return problem.valid[1:] & ~lost & close

    def _lost(self, problem: SolveProblem, motions: np.ndarray) -> np.ndarray:
        """``[T-1, N]`` lost tracks of frames 1.. under ``motions [T-1, 4, 4]``."""
        return lost_tracks(problem, np.concatenate([np.eye(4)[None], motions]), self.config.static_px)[1:]

    def _moving_tracks(self, problem: SolveProblem) -> np.ndarray:
        """``[T-1, N]``: the tracks the robust stage fits — the valid ones, less those that never
        leave their frame-0 pixel (by ``static_px``) while they are a minority and every frame
        keeps ``min_points`` others."""
        cfg = self.config
        displacement = np.linalg.norm(problem.pixels[1:] - problem.pixels[:1], axis=-1)
        never = problem.valid[0] & ((displacement < cfg.static_px) | ~problem.valid[1:]).all(axis=0)
        moving = problem.valid[1:] & ~never
        if never.sum() < 0.5 * problem.valid[0].sum() and (moving.sum(axis=1) >= cfg.min_points).all():
            return moving
        return problem.valid[1:]

    def _initial_guesses(self, problem: SolveProblem, fitted: np.ndarray) -> np.ndarray:
        """``[2 * (T-1), 4, 4]``: per frame the PnP-RANSAC fit to the ``fitted [T-1, N]`` tracks
        (identity if it fails), then identity."""
        import cv2

        guesses = []
        for t in range(1, problem.num_frames):
            guess = np.eye(4)
            valid = np.flatnonzero(fitted[t - 1])
            valid = valid[np.linspace(0, len(valid) - 1, min(len(valid), RANSAC_POINTS)).astype(int)]
            if self.config.ransac_iters:
                ok, rvec, tvec, _ = cv2.solvePnPRansac(
                    problem.points_cam[valid], problem.pixels[t, valid], problem.K, None,
                    iterationsCount=self.config.ransac_iters,
                    reprojectionError=self.config.ransac_threshold_px, confidence=0.999,
                    flags=cv2.SOLVEPNP_AP3P)
                if ok and np.isfinite(tvec).all():
                    guess[:3, :3] = cv2.Rodrigues(rvec)[0]
                    guess[:3, 3] = tvec.ravel()
            guesses += [guess, np.eye(4)]
        return np.stack(guesses)

    def _errors(self, problem: SolveProblem, motions: np.ndarray) -> np.ndarray:
        """``[B, N]`` reprojection errors against frames 1.. (each repeated ``B / (T-1)`` times)."""
        repeat = len(motions) // (problem.num_frames - 1)
        targets = np.repeat(problem.pixels[1:], repeat, axis=0)
        moved = np.einsum("bij,nj->bni", motions[:, :3, :3], problem.points_cam) + motions[:, None, :3, 3]
        z = np.maximum(moved[..., 2:], 1e-9)
        pixels = moved[..., :2] / z * np.diag(problem.K)[:2] + problem.K[:2, 2]
        return np.linalg.norm(pixels - targets, axis=-1)

    def _refine(self, problem: SolveProblem, motions: np.ndarray, masks: np.ndarray,
                loss: str) -> np.ndarray:
        """Levenberg-Marquardt with IRLS weights (``loss``) for a batch of motions ``[B, 4, 4]``."""
        torch = self._torch
        from pytorch3d.transforms import se3_exp_map

        cfg = self.config
        options = {"dtype": torch.float64, "device": self._device}
        repeat = len(motions) // (problem.num_frames - 1)
        points = torch.as_tensor(problem.points_cam, **options)
        targets = torch.as_tensor(np.repeat(problem.pixels[1:], repeat, axis=0), **options)
        mask = torch.as_tensor(masks, **options)
        pose = torch.as_tensor(motions, **options)
        focal = torch.as_tensor(np.diag(problem.K)[:2].copy(), **options)
        principal = torch.as_tensor(problem.K[:2, 2].copy(), **options)
        counts = mask.sum(1)
        centroid = (mask[..., None] * points).sum(1) / counts[:, None]  # [B, 3] frame-0 centroid
        ray = centroid / centroid.norm(dim=-1, keepdim=True)
        ray_scale = cfg.ray_penalty * focal.mean() / centroid[:, 2] * counts.sqrt()

        def residuals(pose: torch.Tensor) -> tuple[torch.Tensor, ...]:
            """Pixel errors, moved points, ray-penalty residual and moved centroid."""
            moved = points @ pose[:, :3, :3].transpose(1, 2) + pose[:, None, :3, 3]
            z = moved[..., 2].clamp_min(1e-9)
            error = moved[..., :2] / z[..., None] * focal + principal - targets
            moved_centroid = centroid[:, None] @ pose[:, :3, :3].transpose(1, 2)
            moved_centroid = moved_centroid[:, 0] + pose[:, :3, 3]
            ray_error = ray_scale * ((moved_centroid - centroid) * ray).sum(-1)
            return error, moved, ray_error, moved_centroid

        def cost(error: torch.Tensor, ray_error: torch.Tensor) -> torch.Tensor:
            point_cost = _robust_cost(error.norm(dim=-1), loss, cfg.loss_scale_px)
            return (mask * point_cost).sum(1) + 0.5 * ray_error**2

        damping = torch.full((len(pose),), 1e-3, **options)
        error, moved, ray_error, moved_centroid = residuals(pose)
        current = cost(error, ray_error)
        eye = torch.eye(6, **options)
        for _ in range(cfg.iterations):
            weight = mask * _robust_weight(error.norm(dim=-1), loss, cfg.loss_scale_px)
            jac = projection_jacobian(moved, focal)  # [B, N, 2, 6]
            weighted = (jac * weight[..., None, None]).reshape(len(pose), -1, 6).transpose(1, 2)
            hessian = weighted @ jac.reshape(len(pose), -1, 6)
            gradient = (weighted @ error.reshape(len(pose), -1, 1))[..., 0]
            centroid_jac = point_jacobian(moved_centroid)  # [B, 3, 6]
            ray_jac = ray_scale[:, None] * (ray[:, None] @ centroid_jac)[:, 0]
            hessian = hessian + ray_jac[:, :, None] * ray_jac[:, None, :]
            gradient = gradient + ray_jac * ray_error[:, None]
            scaled = hessian + damping[:, None, None] * (hessian.diagonal(dim1=1, dim2=2)[:, :, None] * eye
                                                        + 1e-9 * eye)
            step = -torch.linalg.solve(scaled, gradient[..., None])[..., 0]
            # PyTorch3D: [translation | rotation] log, row-vector matrices (translation in the last row).
            candidate = se3_exp_map(step).transpose(1, 2) @ pose
            new_error, new_moved, new_ray_error, new_centroid = residuals(candidate)
            new_cost = cost(new_error, new_ray_error)
            better = new_cost < current
            pose = torch.where(better[:, None, None], candidate, pose)
            error = torch.where(better[:, None, None], new_error, error)
            moved = torch.where(better[:, None, None], new_moved, moved)
            ray_error = torch.where(better, new_ray_error, ray_error)
            moved_centroid = torch.where(better[:, None], new_centroid, moved_centroid)
            current = torch.where(better, new_cost, current)
            damping = torch.where(better, damping / 3, damping * 4).clamp(1e-9, 1e9)
            if bool((step.norm(dim=1) < 1e-8).all()):
                break
        return pose.cpu().numpy()


def _robust_cost(error: torch.Tensor, loss: str, scale: float) -> torch.Tensor:
    """Robust cost of pixel errors (``0.5 * e**2`` near zero)."""
    import torch

    if loss == "huber":
        return torch.where(error <= scale, 0.5 * error**2, scale * (error - 0.5 * scale))
    if loss == "cauchy":
        return 0.5 * scale**2 * torch.log1p((error / scale) ** 2)
    return 0.5 * error**2


def _robust_weight(error: torch.Tensor, loss: str, scale: float) -> torch.Tensor:
    """IRLS weight ``rho'(e) / e`` of pixel errors."""
    if loss == "huber":
        return (scale / error.clamp_min(1e-12)).clamp_max(1.0)
    if loss == "cauchy":
        return 1.0 / (1.0 + (error / scale) ** 2)
    return error.new_ones(error.shape)


@hookimpl
def avdc_components():
    return [Se3Solver]
