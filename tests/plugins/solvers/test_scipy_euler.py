"""solver/scipy-euler (avdc's SciPy variant in the paper's style) on the same synthetic scenes as
se3-lm."""

import numpy as np

from avdc_core import BuildContext
from avdc_core.synthetic import box_scene, motion_errors
from avdc_core.testing import PoseSolverContract
from avdc_plugins.solvers.scipy_euler import ScipyEulerSolver, _ransac_affine


def make_solver(**params) -> ScipyEulerSolver:
    return ScipyEulerSolver(ScipyEulerSolver.Config(**params), BuildContext())


class TestScipyEulerSolver(PoseSolverContract):
    def make_component(self):
        return make_solver(restarts=2)


def test_recovers_box_motion_without_noise_within_1deg_5mm():
    rng = np.random.default_rng(0)
    scene = box_scene(rng, frames=5)
    points, tracks = scene.tracks(300, rng)
    trajectory = make_solver(restarts=2).solve(points, tracks, scene.camera)
    rotation_deg, translation_m = motion_errors(trajectory.transforms, scene.object_motions, points)
    assert rotation_deg.max() < 1.0 and translation_m.max() < 0.005


def test_recovers_box_motion_with_outliers_after_2d_ransac():
    rng = np.random.default_rng(3)
    scene = box_scene(rng, frames=4)
    points, tracks = scene.tracks(300, rng, noise_px=1.0, outlier_fraction=0.3)
    trajectory = make_solver(restarts=0).solve(points, tracks, scene.camera)
    rotation_deg, translation_m = motion_errors(trajectory.transforms, scene.object_motions, points)
    assert rotation_deg.max() < 3.0 and translation_m.max() < 0.01
    assert 0.6 < trajectory.inliers[1:].mean() < 0.75


def test_random_restarts_escape_the_local_minimum_of_a_large_rotation():
    """A 150-degree turn traps BFGS started from the identity; random restarts find the truth."""
    rng = np.random.default_rng(2)
    scene = box_scene(rng, frames=2, max_rotation_deg=170.0, max_translation_m=0.05)
    points, tracks = scene.tracks(200, rng)
    errors = []
    for restarts in (0, 20):
        trajectory = make_solver(restarts=restarts).solve(points, tracks, scene.camera)
        errors.append(motion_errors(trajectory.transforms, scene.object_motions, points)[0][1])
    assert errors[0] > 90.0 and errors[1] < 1.0


def test_2d_ransac_separates_a_coherent_motion_from_random_pixels():
    rng = np.random.default_rng(2)
    source = rng.uniform(0, 100, size=(200, 2))
    target = source @ np.array([[0.98, 0.1], [-0.1, 0.98]]).T + [5.0, -3.0]
    outliers = np.arange(200) < 60
    target[outliers] = rng.uniform(0, 100, size=(60, 2))
    kept = _ransac_affine(source, target, np.ones(200, bool), 100, 2.0, rng)
    assert kept[~outliers].all() and kept[outliers].mean() < 0.05

