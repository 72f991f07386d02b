"""``solver/avdc-paper``: the AVDC paper's pose solver, re-implemented from its description —
the baseline that avdc's own solvers are measured against.

Written from the algorithm as the paper's released evaluation code runs it (not from that code):

1. frames are chained: frame ``t``'s motion is fitted to the points as frame ``t-1``'s fit left
   them, from the tracks of ``t-1`` to those of ``t``, and composed onto it;
2. per frame, a 2D RANSAC of a similarity (scale, rotation, translation in the image) between
   the pixels of ``t-1`` and ``t``: each of ``ransac_hypotheses`` (100) hypotheses is fixed by two
   correspondences, the grasp centre's and one drawn at random; a track within
   ``inlier_threshold_px`` (0.5 px) of the best hypothesis is an inlier, and an outlier is
   dropped for the rest of the plan;
3. SciPy BFGS from zero over ``[tx, ty, tz, ex, ey, ez]`` (metres, XYZ Euler radians) of the loss
   ``mean squared reprojection error (px²) + max(1, |t|) - 1`` (a penalty on translations beyond
   1 m); while the loss stays ``>= stop_loss`` (1e-3), up to ``restarts`` (50) more runs start from
   ``randn(6)``; the lowest loss wins.

The grasp centre is not a solver input in avdc's interface; it is taken as the valid frame-0
track nearest to the centroid of the valid frame-0 tracks (the object's centre in the image),
and while it is tracked it is one of every hypothesis's two points (when it is lost, the
usable track nearest to its last pixel takes its place). Modes, frames, the no-motion check and
the per-frame uncertainty are shared with avdc's other solvers (:mod:`avdc_core.solve`); the
uncertainty (:func:`~avdc_core.solve.position_covariance`) is that of a least-squares fit from
frame 0 to each frame's inliers at the returned motion, an approximation for this chained fit.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from avdc_core import Camera, ComponentConfig, PoseSolver, RigidTrajectory, SolveError, Tracks, hookimpl
from avdc_core.solve import prepare, project, to_trajectory

from .euler import euler_matrix


class AvdcPaperConfig(ComponentConfig):
    """Parameters of :class:`AvdcPaperSolver` (defaults: the paper's)."""

    ransac_hypotheses: int = Field(default=100, ge=1, description="2D similarity hypotheses per frame")
    inlier_threshold_px: float = Field(default=0.5, gt=0, description="RANSAC inlier distance")
    restarts: int = Field(default=50, ge=0, description="BFGS runs from randn(6) at most, after the one from zero")
    stop_loss: float = Field(default=1e-3, gt=0, description="no restart once the loss is below this")
    min_points: int = Field(default=6, ge=3)
    static_px: float = Field(default=0.5, gt=0)
    seed: int = 0


class AvdcPaperSolver(PoseSolver):
    """The AVDC paper's solver: chained frame-to-frame 2D similarity RANSAC anchored at the grasp
    centre, then BFGS over translation + Euler angles with random restarts (the baseline)."""

    name = "avdc-paper"
    Config = AvdcPaperConfig

    def solve(self, points_world: np.ndarray, tracks: Tracks, camera: Camera,
              mode: str = "object") -> RigidTrajectory:
        cfg = self.config
        problem = prepare(points_world, tracks, camera, mode, cfg.min_points)
        rng = np.random.default_rng(cfg.seed)
        alive = problem.valid[0].copy()
        anchor = _grasp_centre(problem.pixels[0], alive)
        current = problem.points_cam.copy()  # the points where the previous frame's fit put them
        motions, inliers = [np.eye(4)], [alive.copy()]
        for t in range(1, problem.num_frames):
            usable = alive & problem.valid[t]
            if usable.sum() < cfg.min_points:
                raise SolveError(f"frame {t}: {int(usable.sum())} track(s) left after dropping outliers; "
                                 f"need {cfg.min_points}")
            if not usable[anchor]:
                anchor = _nearest(problem.pixels[t - 1], usable, problem.pixels[t - 1, anchor])
            alive = usable & _ransac_similarity(problem.pixels[t - 1], problem.pixels[t], usable, anchor,
                                                cfg.ransac_hypotheses, cfg.inlier_threshold_px, rng)
            if alive.sum() < cfg.min_points:
                raise SolveError(f"frame {t}: the 2D RANSAC kept {int(alive.sum())} track(s); need {cfg.min_points}")
            step = euler_matrix(self._fit(problem.K, current[alive], problem.pixels[t, alive], rng))
            current = current @ step[:3, :3].T + step[:3, 3]
            motions.append(step @ motions[-1])
            inliers.append(alive.copy())
        motions_cam, inliers_array = np.stack(motions), np.stack(inliers)
        return to_trajectory(problem, motions_cam, inliers_array, cfg.static_px)

    def _fit(self, K: np.ndarray, points: np.ndarray, targets: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        from scipy.optimize import minimize

        def loss(params: np.ndarray) -> float:
            moved = points @ euler_matrix(params)[:3, :3].T + params[:3]
            error = float(np.mean(np.sum((project(K, moved) - targets) ** 2, axis=1)))
            return error + max(1.0, float(np.linalg.norm(params[:3]))) - 1.0

        best = minimize(loss, np.zeros(6), method="BFGS")
        for _ in range(self.config.restarts):
            if best.fun < self.config.stop_loss:
                break
            result = minimize(loss, rng.standard_normal(6), method="BFGS")
            if result.fun < best.fun:
                best = result
        return best.x


def _grasp_centre(pixels: np.ndarray, valid: np.ndarray) -> int:
    """The valid track nearest to the valid tracks' centroid."""
    return _nearest(pixels, valid, pixels[valid].mean(axis=0))


def _nearest(pixels: np.ndarray, valid: np.ndarray, point: np.ndarray) -> int:
    index = np.flatnonzero(valid)
    return int(index[np.argmin(np.linalg.norm(pixels[index] - point, axis=1))])


def _ransac_similarity(source: np.ndarray, target: np.ndarray, valid: np.ndarray, anchor: int, hypotheses: int,
                       threshold_px: float, rng: np.random.Generator) -> np.ndarray:
    """Inlier mask ``[N]`` of the best 2D similarity ``source → target`` among ``hypotheses``, each
    fixed by the anchor's correspondence and one other drawn at random (as complex numbers:
    ``w = a z + b``)."""
    index = np.flatnonzero(valid & (np.arange(len(source)) != anchor))
    z, w = source[:, 0] + 1j * source[:, 1], target[:, 0] + 1j * target[:, 1]
    others = index[rng.integers(0, len(index), size=hypotheses)]
    spread = z[others] - z[anchor]
    usable = np.abs(spread) > 1e-6
    a = np.where(usable, (w[others] - w[anchor]) / np.where(usable, spread, 1.0), 0.0)
    b = w[anchor] - a * z[anchor]
    errors = np.abs(a[:, None] * z[None, valid] + b[:, None] - w[None, valid])  # [H, M]
    counts = np.where(usable, (errors < threshold_px).sum(axis=1), -1)
    mask = np.zeros(len(source), dtype=bool)
    mask[np.flatnonzero(valid)] = errors[counts.argmax()] < threshold_px
    return mask


@hookimpl
def avdc_components():
    return [AvdcPaperSolver]
