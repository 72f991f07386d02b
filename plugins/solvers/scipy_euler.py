"""``solver/scipy-euler``: a SciPy solver in the paper's style — Euler angles, BFGS, random
restarts — but **not the paper's algorithm** (that is ``solver/avdc-paper``). It differs from it
in its RANSAC (a 3-point affine at 5 px, per frame, instead of a 2-point similarity anchored at the
grasp centre at 0.5 px that drops outliers for the rest of the plan), in fitting every frame from
frame 0 instead of chaining frame to frame, in its loss (no translation penalty) and in its
stopping rule (below 1 px RMS instead of a loss of 1e-3). Vectorised over points with numpy:

1. per frame, a 2D RANSAC on the tracks (an affine map from the frame-0 pixels to the frame-``t``
   pixels, ``ransac_iters`` hypotheses of 3 points scored at once) removes outliers;
2. SciPy ``minimize`` (BFGS, numerical gradients) of the mean squared reprojection error over
   the translation and the XYZ Euler angles of the motion, first from the previous frame's
   solution, then from random starts (Euler angles uniform in ``±restart_rotation_deg``,
   translation normal with ``restart_translation_m``) until the RMS error drops below
   ``stop_rms_px`` or ``restarts`` starts were tried; the best fit wins.

Frames are solved one after another (each starts from the previous one). Modes, frames, the
no-motion check and the per-frame uncertainty (:func:`~avdc_core.solve.position_covariance`, the
covariance of the least-squares fit it makes) are shared with the other solvers
(:mod:`avdc_core.solve`).
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from avdc_core import (
    Camera,
    ComponentConfig,
    PoseSolver,
    RigidTrajectory,
    SolveError,
    Tracks,
    hookimpl,
)
from avdc_core.solve import SolveProblem, prepare, project, to_trajectory

from .euler import euler_matrix


class ScipyEulerConfig(ComponentConfig):
    """Parameters of :class:`ScipyEulerSolver`."""

    ransac_iters: int = Field(default=200, ge=1, description="2D RANSAC hypotheses per frame")
    ransac_threshold_px: float = Field(default=5.0, gt=0)
    restarts: int = Field(default=50, ge=0, description="random restarts per frame at most")
    stop_rms_px: float = Field(default=1.0, gt=0, description="stop restarting below this RMS error")
    restart_rotation_deg: float = Field(default=180.0, gt=0)
    restart_translation_m: float = Field(default=0.1, gt=0)
    min_points: int = Field(default=6, ge=4)
    static_px: float = Field(default=0.5, gt=0)
    seed: int = 0


class ScipyEulerSolver(PoseSolver):
    """avdc's SciPy variant (not the paper's): affine 2D RANSAC, then SciPy minimise over
    translation + Euler angles with restarts, every frame from frame 0."""

    name = "scipy-euler"
    Config = ScipyEulerConfig

    def solve(self, points_world: np.ndarray, tracks: Tracks, camera: Camera,
              mode: str = "object") -> RigidTrajectory:
        cfg = self.config
        problem = prepare(points_world, tracks, camera, mode, cfg.min_points)
        rng = np.random.default_rng(cfg.seed)
        motions = [np.eye(4)]
        inliers = [problem.valid[0]]
        params = np.zeros(6)
        for t in range(1, problem.num_frames):
            keep = problem.valid[t] & _ransac_affine(problem.pixels[0], problem.pixels[t], problem.valid[t],
                                                     cfg.ransac_iters, cfg.ransac_threshold_px, rng)
            if keep.sum() < cfg.min_points:
                raise SolveError(f"frame {t}: 2D RANSAC kept {int(keep.sum())} track(s); "
                                 f"need {cfg.min_points}")
            params = self._fit(problem, t, keep, params, rng)
            motions.append(euler_matrix(params))
            inliers.append(keep)
        motions_cam, inliers = np.stack(motions), np.stack(inliers)
        return to_trajectory(problem, motions_cam, inliers, cfg.static_px)

    def _fit(self, problem: SolveProblem, t: int, keep: np.ndarray, start: np.ndarray,
             rng: np.random.Generator) -> np.ndarray:
        from scipy.optimize import minimize

        cfg = self.config
        points, targets = problem.points_cam[keep], problem.pixels[t, keep]

        def loss(params: np.ndarray) -> float:
            moved = points @ euler_matrix(params)[:3, :3].T + params[:3]
            return float(np.mean(np.sum((project(problem.K, moved) - targets) ** 2, axis=1)))

        best = minimize(loss, start)
        for _ in range(cfg.restarts):
            if best.fun < cfg.stop_rms_px**2:
                break
            guess = np.concatenate([rng.normal(0.0, cfg.restart_translation_m, 3),
                                    np.radians(rng.uniform(-1, 1, 3) * cfg.restart_rotation_deg)])
            result = minimize(loss, guess)
            if result.fun < best.fun:
                best = result
        return best.x


def _ransac_affine(source: np.ndarray, target: np.ndarray, valid: np.ndarray, hypotheses: int,
                   threshold_px: float, rng: np.random.Generator) -> np.ndarray:
    """Inlier mask ``[N]`` of the best 2D affine map ``source → target`` (all hypotheses at once)."""
    index = np.flatnonzero(valid)
    homogeneous = np.column_stack([source[index], np.ones(len(index))])  # [M, 3]
    samples = rng.integers(0, len(index), size=(hypotheses, 3))
    systems = homogeneous[samples]  # [H, 3, 3]
    usable = np.abs(np.linalg.det(systems)) > 1e-6
    systems[~usable] = np.eye(3)
    affine = np.linalg.solve(systems, target[index][samples])  # [H, 3, 2]
    errors = np.linalg.norm(homogeneous @ affine - target[index], axis=-1)  # [H, M]
    counts = np.where(usable, (errors < threshold_px).sum(axis=1), -1)
    best = errors[counts.argmax()] < threshold_px
    refit, *_ = np.linalg.lstsq(homogeneous[best], target[index][best], rcond=None)
    mask = np.zeros(len(source), dtype=bool)
    mask[index] = np.linalg.norm(homogeneous @ refit - target[index], axis=1) < threshold_px
    return mask


@hookimpl
def avdc_components():
    return [ScipyEulerSolver]
