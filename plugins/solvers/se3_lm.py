"""``solver/se3-lm``: robust, batched Levenberg-Marquardt on se(3).

For every frame at once it minimises the robust reprojection error of the frame-0 points moved
by ``exp(xi) @ G`` against their tracked pixels (the paper's loss), in the frame-0 camera frame
(see :mod:`avdc_core.solve` for the frames and the two modes).

0. **Least-squares shortcut** — each frame starts from its direct linear transform
   (:func:`_linear_motions`; no motion where that is not unique, e.g. for a plane) and is
   refined by plain least squares, then restarted from its neighbours' motions (below). If
   every valid track then lies within ``inlier_threshold_px`` and none is lost, that fit is the
   answer: stages 1-3 would end in the same least-squares fit on the same inliers (tested).
   Clean tracks take this path only.
1. **Initialisation** — two candidates per frame, refined side by side: OpenCV's PnP inside
   RANSAC (``ransac_iters`` hypotheses; a closed-form fit that also ignores gross outliers) and
   the identity; the candidate with the lower robust cost wins, then is restarted from its
   neighbours' motions.
2. **Refinement** — Levenberg-Marquardt with IRLS weights from a Huber or Cauchy loss
   (``loss_scale_px``), closed-form Jacobians of the pinhole projection w.r.t. a left
   perturbation and the closed-form exponential map (:mod:`avdc_core.solve`).
3. **Trimming** — points farther than ``inlier_threshold_px`` from the fit are dropped, and so
   are lost tracks (:func:`~avdc_core.solve.lost_tracks`: still within ``static_px`` of their
   frame-0 pixel while the fit moves their points clearly away, by then or later); the fit is
   refined once more on the inliers by plain least squares (the efficient estimate for Gaussian
   track noise; the robust loss has done its job of finding the inliers).

Why NumPy and not PyTorch3D (this solver used ``pytorch3d.transforms.se3_exp_map`` on torch
tensors until 2026-12): the problems are small (7 frames x a few hundred tracks), so per-call
overhead dominates. One exponential map of 7 twists took 0.35 ms through PyTorch3D and takes
0.035 ms here, and the whole solve went from 22-34 ms to 2-3 ms on exact tracks
(``benchmarks/bench_solver.py``). The damping starts at ``1e-8`` (Gauss-Newton while steps
succeed): Marquardt damping of ``1e-3`` times the Hessian's diagonal slows convergence along the
poorly determined direction of a small object (its depth) to linear.

**Restarts from the neighbours** (``Se3Solver._restart_from_neighbours``) — a small object
that turns far has more than one minimum of reprojection error, and the linear or PnP start can
lie in the wrong one while the frame before or after does not (a door lock's lever turned 100
degrees: 111-131 degrees off with exact correspondences). Each frame that the fit does not
explain exactly restarts from the neighbouring frames' motions, each also turned by
``RESTART_TURNS_DEG`` about the camera axes through the object's centroid, and keeps the lowest
cost. Exact tracks skip it; on the solver benchmark's noisy tracks it takes a solve from 3.6 to
70 ms (``restarts: false`` turns it off).

Lost tracks are dropped rather than down-weighted: a track on the background says nothing
about the object, however close to the fit it lies — and on a small object the whole motion is
a few pixels, so they lie within ``inlier_threshold_px``, where the robust loss keeps them and
they pull the fit toward no motion. Two steps keep them out. Tracks that never leave their
frame-0 pixel sit out stages 0-2 while they are a minority (a real object moves most of its
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

from dataclasses import replace
from typing import Literal

import numpy as np
from pydantic import Field

from avdc_core import Camera, ComponentConfig, PoseSolver, RigidTrajectory, SolveError, Tracks, hookimpl
from avdc_core.solve import (
    SolveProblem,
    lost_tracks,
    pixel_distance,
    point_jacobian,
    prepare,
    project,
    projection_jacobian,
    robust_cost,
    robust_weight,
    se3_exp,
    to_trajectory,
)
from avdc_core.types import transform_points

RANSAC_POINTS = 128
"""PnP-RANSAC only initialises the fit, so it sees an evenly spread subset of this many tracks."""
REFITS = 3
"""Least-squares refits at most while each finds more lost tracks."""
LINEAR_GAP = 10.0
"""The linear start is used where its eigenvalue is this many times below the next one (measured
on a 15 cm box, 500 tracks: 1e12 exact, ~300 at 0.3 px noise, ~27 at 1 px; ~1 for a plane)."""
EXACT_PX = 0.01
"""A frame whose root-mean-square reprojection error is below this (pixels) is not restarted."""
RESTART_POINTS = 64
"""Restarts (``Se3Solver._restart_from_neighbours``) search on an evenly spread sample of this many tracks."""
RESTART_PASSES = 3
"""Restart passes at most (the door lock's lever needed 1-3)."""
RESTART_TURNS_DEG = (-120.0, -60.0, 60.0, 120.0)
"""Turns about each camera axis, besides none, that a restart tries (see ``_restart_from_neighbours``)."""
CONVERGED = 1e-6
"""Levenberg-Marquardt takes a step without checking its cost, and stops, once no step component
exceeds this (m or rad): at the distances and focal lengths of a tabletop camera such a step
moves no pixel by more than ~1e-3 px."""


class Se3Config(ComponentConfig):
    """Parameters of :class:`Se3Solver`."""

    robust_loss: Literal["huber", "cauchy", "none"] = "cauchy"
    loss_scale_px: float = Field(default=2.0, gt=0, description="robust loss scale (pixels)")
    ransac_iters: int = Field(default=100, ge=0, description="PnP-RANSAC hypotheses (0: no RANSAC)")
    ransac_threshold_px: float = Field(default=4.0, gt=0)
    inlier_threshold_px: float = Field(default=3.0, gt=0, description="final inlier cut (pixels)")
    iterations: int = Field(default=15, ge=1, description="Levenberg-Marquardt iterations at most per fit")
    ray_penalty: float = Field(default=0.0, ge=0, description="weight on motion along the viewing ray")
    min_points: int = Field(default=6, ge=4, description="fewest valid tracks a frame may have")
    restarts: bool = Field(default=True, description="restart each frame from its neighbours' motions "
                           "(a small object turned far; see the module doc); off: noisy solves take "
                           "a twentieth of the time")
    static_px: float = Field(default=0.5, gt=0, description="tracks moving less are 'still'")
    max_ray_std_m: float = Field(default=0.05, gt=0, description="warn above this along-ray std (m)")


class Se3Solver(PoseSolver):
    """Robust batched Levenberg-Marquardt on se(3): a least-squares shortcut for clean tracks,
    PnP-RANSAC initialised otherwise."""

    name = "se3-lm"
    Config = Se3Config

    def solve(self, points_world: np.ndarray, tracks: Tracks, camera: Camera,
              mode: str = "object") -> RigidTrajectory:
        cfg = self.config
        problem = prepare(points_world, tracks, camera, mode, cfg.min_points)
        fitted = self._moving_tracks(problem)
        best, costs = self._refine(problem, _linear_motions(problem, fitted), fitted, "none")
        best = self._restart_from_neighbours(problem, best, costs, fitted, "none")
        lost = self._lost(problem, best)
        inliers = self._inliers(problem, best, lost)
        if not np.array_equal(inliers, problem.valid[1:]):
            best, lost, inliers = self._robust_fit(problem, fitted)
        elif not np.array_equal(fitted, inliers):
            best, lost, inliers = self._refit(problem, best, lost)
        motions_cam = np.concatenate([np.eye(4)[None], best])
        lost = np.concatenate([np.zeros_like(lost[:1]), lost])
        inliers = np.concatenate([problem.valid[:1], inliers])
        return to_trajectory(problem, motions_cam, inliers, cfg.static_px, cfg.max_ray_std_m, lost)

    def _robust_fit(self, problem: SolveProblem,
                    fitted: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Stages 1-3 (module doc) on the ``fitted [T-1, N]`` tracks: camera-frame motions
        ``[T-1, 4, 4]`` of frames 1.., their lost tracks and their inliers ``[T-1, N]``."""
        cfg = self.config
        frames = problem.num_frames - 1
        masks = np.repeat(fitted, 2, axis=0)
        motions, costs = self._refine(problem, self._initial_guesses(problem, fitted), masks, cfg.robust_loss)
        costs = costs.reshape(frames, 2)
        pick = costs.argmin(1)
        best = motions.reshape(frames, 2, 4, 4)[np.arange(frames), pick]
        best = self._restart_from_neighbours(problem, best, costs[np.arange(frames), pick], fitted, cfg.robust_loss)
        return self._refit(problem, best, self._lost(problem, best))

    def _restart_from_neighbours(self, problem: SolveProblem, motions: np.ndarray, costs: np.ndarray,
                                 masks: np.ndarray, loss: str) -> np.ndarray:
        """``motions [T-1, 4, 4]`` (at ``costs [T-1]``) after restarting each frame from its
        neighbours' motions (:meth:`_restart_sample`) on an evenly spread sample of
        ``RESTART_POINTS`` of the ``masks [T-1, N]`` tracks; a frame keeps a restart only if,
        refined on all its tracks, it ends at a lower ``loss``.

        The reprojection error of a small object has more than one minimum once it turns far. A
        door lock's lever (46-84 tracks spread over 3 x 1 cm, 1.8 m away) turned 100 degrees:
        from the linear start or PnP, Levenberg-Marquardt ended 50-130 degrees away from the true
        motion, at 2-5 times its error, with exact correspondences (Meta-World door-unlock,
        corner2 and corner3, seeds 0-1); restarting from the neighbouring frames' motions alone
        found the true basin in some of them. Adding turns of 60 and 120 degrees reached its error
        in all four. Frames the fit already explains to ``EXACT_PX`` (root mean square) are at the
        global minimum: nothing runs then."""
        if not self.config.restarts or (costs <= 0.5 * EXACT_PX**2 * masks.sum(axis=1)).all():
            return motions
        columns = np.flatnonzero(masks.any(axis=0))
        sample = columns[np.linspace(0, len(columns) - 1, min(len(columns), RESTART_POINTS)).astype(int)]
        starts = self._restart_sample(replace(problem, points_cam=problem.points_cam[sample],
                                              pixels=problem.pixels[:, sample], valid=problem.valid[:, sample]),
                                      motions, masks[:, sample], loss)
        if starts is motions:
            return motions
        refined, refined_costs = self._refine(problem, starts, masks, loss)
        better = refined_costs < costs * (1 - 1e-9)
        return np.where(better[:, None, None], refined, motions)

    def _restart_sample(self, problem: SolveProblem, motions: np.ndarray, masks: np.ndarray,
                        loss: str) -> np.ndarray:
        """``motions [T-1, 4, 4]`` with each frame restarted from the motion of the frame before,
        of the frame after and the constant-velocity step from the two before, each also turned
        by ``RESTART_TURNS_DEG`` about each camera axis through the object's centroid there; a
        restart that ends at a lower ``loss`` replaces the frame's motion, for up to
        ``RESTART_PASSES`` passes while any frame improves (``motions`` itself when none does)."""
        frames = len(motions)
        turns = _turns_about_axes(RESTART_TURNS_DEG)  # [K, 3, 3]
        centroid = problem.points_cam[masks.any(axis=0)].mean(axis=0)
        tried = np.repeat(masks, 3 * len(turns), axis=0)
        costs = self._refine(problem, motions, masks, loss, iterations=0)[1]
        for _ in range(RESTART_PASSES):
            full = np.concatenate([np.eye(4)[None], motions])
            before, after = full[:-1], np.concatenate([full[2:], full[-1:]])
            steady = before @ np.linalg.inv(np.concatenate([full[:1], full[:-2]])) @ before
            bases = np.stack([before, after, steady], axis=1).reshape(-1, 4, 4)  # [3(T-1), 4, 4]
            moved = transform_points(bases, centroid[None])[:, 0]  # [3(T-1), 3]
            about = np.tile(np.eye(4), (len(bases), len(turns), 1, 1))
            about[:, :, :3, :3] = turns
            about[:, :, :3, 3] = moved[:, None] - (turns @ moved[:, None, :, None])[..., 0]
            restarts, restart_costs = self._refine(problem, (about @ bases[:, None]).reshape(-1, 4, 4), tried, loss)
            restart_costs = restart_costs.reshape(frames, -1)
            pick = restart_costs.argmin(axis=1)
            lowest = restart_costs[np.arange(frames), pick]
            better = lowest < costs * (1 - 1e-9)
            if not better.any():
                break
            chosen = restarts.reshape(frames, -1, 4, 4)[np.arange(frames), pick]
            motions = np.where(better[:, None, None], chosen, motions)
            costs = np.where(better, lowest, costs)
        return motions

    def _refit(self, problem: SolveProblem, motions: np.ndarray,
               lost: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Stage 3 from ``motions [T-1, 4, 4]`` and their ``lost [T-1, N]`` tracks: the least-squares
        motions, their lost tracks and their inliers ``[T-1, N]``."""
        cfg = self.config
        for _ in range(REFITS):
            inliers = self._inliers(problem, motions, lost)
            short = np.flatnonzero(inliers.sum(axis=1) < cfg.min_points)
            if len(short):
                raise SolveError(f"frame {int(short[0]) + 1}: only {int(inliers[short[0]].sum())} of "
                                 f"{int(problem.valid[short[0] + 1].sum())} tracks fit a rigid motion "
                                 f"within {cfg.inlier_threshold_px} px; need {cfg.min_points}")
            motions = self._refine(problem, motions, inliers, "none")[0]
            previous, lost = lost, self._lost(problem, motions)
            if np.array_equal(previous, lost):
                break
        return motions, lost, self._inliers(problem, motions, lost)

    def _inliers(self, problem: SolveProblem, motions: np.ndarray, lost: np.ndarray) -> np.ndarray:
        """``[T-1, N]``: valid tracks of frames 1.. within ``inlier_threshold_px`` of ``motions``, less ``lost``."""
        close = self._errors(problem, motions) < self.config.inlier_threshold_px
        return problem.valid[1:] & ~lost & close

    def _lost(self, problem: SolveProblem, motions: np.ndarray) -> np.ndarray:
        """``[T-1, N]`` lost tracks of frames 1.. under ``motions [T-1, 4, 4]``."""
        return lost_tracks(problem, np.concatenate([np.eye(4)[None], motions]), self.config.static_px)[1:]

    def _moving_tracks(self, problem: SolveProblem) -> np.ndarray:
        """``[T-1, N]``: the tracks stages 0-2 fit — the valid ones, less those that never
        leave their frame-0 pixel (by ``static_px``) while they are a minority and every frame
        keeps ``min_points`` others."""
        cfg = self.config
        displacement = pixel_distance(problem.pixels[1:], problem.pixels[:1])
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
        return pixel_distance(project(problem.K, transform_points(motions, problem.points_cam)), targets)

    def _refine(self, problem: SolveProblem, motions: np.ndarray, masks: np.ndarray, loss: str,
                iterations: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Levenberg-Marquardt with IRLS weights (``loss``) for a batch of motions ``[B, 4, 4]``,
        at most ``iterations`` (default: the config's) steps: the motions and their costs ``[B]``
        (once converged, the cost before the last step, which moves no pixel by ~1e-3 px)."""
        cfg = self.config
        repeat = len(motions) // (problem.num_frames - 1)
        points = problem.points_cam
        targets = np.repeat(problem.pixels[1:], repeat, axis=0)
        mask = masks.astype(np.float64)
        focal = np.diag(problem.K)[:2]
        counts = mask.sum(1)
        centroid = (mask @ points) / counts[:, None]  # [B, 3] frame-0 centroid
        ray = centroid / np.linalg.norm(centroid, axis=-1, keepdims=True)
        ray_scale = cfg.ray_penalty * focal.mean() / centroid[:, 2] * np.sqrt(counts)

        def moved_centroid(pose: np.ndarray) -> np.ndarray:
            return (pose[:, :3, :3] @ centroid[..., None])[..., 0] + pose[:, :3, 3]

        def residuals(pose: np.ndarray) -> tuple[np.ndarray, ...]:
            """Pixel errors and their norms, moved points, ray-penalty residual and cost."""
            moved = transform_points(pose, points)
            error = project(problem.K, moved) - targets
            distance = np.hypot(error[..., 0], error[..., 1])
            cost = (mask * robust_cost(distance, loss, cfg.loss_scale_px)).sum(1)
            ray_error = np.zeros(len(pose))
            if cfg.ray_penalty:
                ray_error = ray_scale * ((moved_centroid(pose) - centroid) * ray).sum(-1)
                cost = cost + 0.5 * ray_error**2
            return error, distance, moved, ray_error, cost

        pose = motions
        damping = np.full(len(pose), 1e-8)
        state = residuals(pose)
        for _ in range(cfg.iterations if iterations is None else iterations):
            error, distance, moved, ray_error, current = state
            weight = mask * robust_weight(distance, loss, cfg.loss_scale_px)
            jac = projection_jacobian(moved, focal).reshape(len(pose), -1, 6)  # [B, 2N, 6]
            weighted = np.swapaxes(jac * np.repeat(weight, 2, axis=1)[..., None], 1, 2)
            hessian = weighted @ jac
            gradient = (weighted @ error.reshape(len(pose), -1, 1))[..., 0]
            if cfg.ray_penalty:
                ray_jac = ray_scale[:, None] * (ray[:, None] @ point_jacobian(moved_centroid(pose)))[:, 0]
                hessian = hessian + ray_jac[:, :, None] * ray_jac[:, None, :]
                gradient = gradient + ray_jac * ray_error[:, None]
            diagonal = np.diagonal(hessian, axis1=1, axis2=2)
            scaled = hessian + (damping[:, None] * (diagonal + 1e-9))[:, :, None] * np.eye(6)
            step = -np.linalg.solve(scaled, gradient[..., None])[..., 0]
            candidate = se3_exp(step) @ pose
            if (np.abs(step) < CONVERGED).all():
                return candidate, current
            new = residuals(candidate)
            better = new[-1] < current
            if better.all():
                pose, state = candidate, new
            else:
                pose = np.where(better[:, None, None], candidate, pose)
                state = tuple(np.where(better.reshape(-1, *[1] * (n.ndim - 1)), n, old)
                              for n, old in zip(new, state, strict=True))
            damping = np.where(better, damping / 10, damping * 10).clip(1e-12, 1e9)
        return pose, state[-1]


def _linear_motions(problem: SolveProblem, masks: np.ndarray) -> np.ndarray:
    """``[T-1, 4, 4]``: the direct linear transform (DLT) of frames 1.. — per frame the 3x4
    ``[R | t]`` whose projections of the masked points satisfy the pinhole equations in the least
    squares sense (the smallest eigenvector of ``A^T A``, built from moments of the normalised
    points), made rigid by SVD. Exact for exact tracks of points that do not lie on a plane, a
    start for Levenberg-Marquardt otherwise. Where the solution is not unique (the next
    eigenvalue less than ``LINEAR_GAP`` times the smallest: points on a plane, or too few), the
    frame starts from no motion instead."""
    centre = problem.points_cam.mean(axis=0)
    spread = max(np.sqrt(((problem.points_cam - centre) ** 2).sum(axis=1).mean()), 1e-12)
    points = np.concatenate([(problem.points_cam - centre) / spread, np.ones((len(problem.points_cam), 1))], 1)
    K = problem.K
    x = (problem.pixels[1:, :, 0] - K[0, 2]) / K[0, 0]
    y = (problem.pixels[1:, :, 1] - K[1, 2]) / K[1, 1]
    weight = masks.astype(np.float64)
    frames = len(weight)
    outer = (points[:, :, None] * points[:, None, :]).reshape(len(points), 16)  # X X^T per point
    coefficients = np.concatenate([weight, weight * x, weight * y, weight * (x * x + y * y)])
    plain, moment_x, moment_y, moment_r = (coefficients @ outer).reshape(4, frames, 4, 4)
    normal = np.zeros((frames, 3, 4, 3, 4))  # A^T A over the 12 entries of [R | t], row by row
    normal[:, 0, :, 0] = normal[:, 1, :, 1] = plain
    normal[:, 0, :, 2] = normal[:, 2, :, 0] = -moment_x
    normal[:, 1, :, 2] = normal[:, 2, :, 1] = -moment_y
    normal[:, 2, :, 2] = moment_r
    normal = normal.reshape(frames, 12, 12)
    values, vectors = np.linalg.eigh(normal)
    projection = vectors[:, :, 0].reshape(-1, 3, 4)  # [lambda s R | lambda (R c + t)]
    left, singular, right = np.linalg.svd(projection[:, :, :3])
    sign = np.sign(np.linalg.det(left @ right))
    rotation = sign[:, None, None] * (left @ right)
    scale = sign * singular.mean(axis=1) / spread  # lambda
    motions = np.repeat(np.eye(4)[None], frames, axis=0)
    motions[:, :3, :3] = rotation
    motions[:, :3, 3] = projection[:, :, 3] / scale[:, None] - rotation @ centre
    unique = (values[:, 1] > LINEAR_GAP * np.maximum(values[:, 0], 0.0)) & np.isfinite(motions).all(axis=(1, 2))
    return np.where(unique[:, None, None], motions, np.eye(4))


def _turns_about_axes(angles_deg: tuple[float, ...]) -> np.ndarray:
    """``[1 + 3 * len(angles_deg), 3, 3]``: no turn, then turns by each angle about x, y and z."""
    turns = [np.eye(3)]
    for axis in range(3):
        twist = np.zeros((len(angles_deg), 6))
        twist[:, 3 + axis] = np.radians(angles_deg)
        turns += list(se3_exp(twist)[:, :3, :3])
    return np.stack(turns)


@hookimpl
def avdc_components():
    return [Se3Solver]
