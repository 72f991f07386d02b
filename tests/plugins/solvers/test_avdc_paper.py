"""solver/avdc-paper: the AVDC paper's solver as its description states it, on known scenes."""

import numpy as np

from avdc_core import BuildContext, Tracks
from avdc_core.synthetic import box_scene, motion_errors
from avdc_core.testing import PoseSolverContract
from avdc_plugins.solvers.avdc_paper import AvdcPaperSolver, _ransac_similarity


def make_solver(**params) -> AvdcPaperSolver:
    return AvdcPaperSolver(AvdcPaperSolver.Config(**params), BuildContext())


class TestAvdcPaperSolver(PoseSolverContract):
    def make_component(self):
        return make_solver()


def test_the_defaults_are_the_papers():
    config = AvdcPaperSolver.Config()
    assert (config.ransac_hypotheses, config.inlier_threshold_px, config.restarts, config.stop_loss) == \
        (100, 0.5, 50, 1e-3)


def test_similarity_ransac_keeps_the_anchors_motion_and_drops_the_rest():
    rng = np.random.default_rng(2)
    source = rng.uniform(0, 100, size=(200, 2))
    angle, scale = np.radians(8.0), 1.05
    rotation = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    target = source @ rotation.T + [5.0, -3.0]
    outliers = np.arange(200) >= 140
    target[outliers] += rng.uniform(2, 10, size=(60, 2))
    kept = _ransac_similarity(source, target, np.ones(200, bool), 0, 100, 0.5, rng)
    assert kept[~outliers].all() and not kept[outliers].any()


def test_an_outlier_is_dropped_for_the_rest_of_the_plan():
    """Tracks corrupted in frame 1 only are never inliers again, although later frames fit. (A 2D
    similarity at 0.5 px fits a turning box's exact tracks only in part: most are dropped too,
    the paper's RANSAC as described; enough stay to recover the motion.)"""
    rng = np.random.default_rng(4)
    scene = box_scene(rng, frames=4)
    points, tracks = scene.tracks(300, rng)
    pixels = tracks.pixels.copy()
    pixels[1, :40] += 6.0
    trajectory = make_solver(restarts=0).solve(points, Tracks(pixels, tracks.valid), scene.camera)
    assert not trajectory.inliers[1:, :40].any() and trajectory.inliers[-1, 40:].sum() >= 20
    rotation_deg, translation_m = motion_errors(trajectory.transforms, scene.object_motions, points)
    assert rotation_deg.max() < 1.0 and translation_m.max() < 0.005


def test_restarts_run_only_while_the_loss_stays_above_the_threshold(monkeypatch):
    import scipy.optimize

    calls = []
    real = scipy.optimize.minimize
    monkeypatch.setattr(scipy.optimize, "minimize", lambda *a, **k: calls.append(1) or real(*a, **k))
    rng = np.random.default_rng(6)
    scene = box_scene(rng, frames=2)
    points, exact = scene.tracks(200, rng)
    make_solver(restarts=3).solve(points, exact, scene.camera)
    assert len(calls) == 1  # exact tracks: the run from zero reaches the threshold
    calls.clear()
    noise = np.random.default_rng(7).normal(0, 0.3, exact.pixels.shape)
    noise[0] = 0
    noisy = Tracks(exact.pixels + noise, exact.valid)
    make_solver(restarts=3, inlier_threshold_px=2.0).solve(points, noisy, scene.camera)
    assert len(calls) == 4  # 0.3 px noise keeps the loss above 1e-3 px²: every restart runs

