"""solver/se3-pytorch3d on ray-cast scenes with exact ground truth (avdc_core.synthetic)."""

import numpy as np
import pytest

from avdc_core import BuildContext, InputDataError, SolveError, Tracks
from avdc_core.synthetic import SyntheticScene, box_scene, motion_errors, screw_motions
from avdc_core.testing import PoseSolverContract
from avdc_plugins.solvers.se3_pytorch3d import Se3Solver


def make_solver(**params) -> Se3Solver:
    return Se3Solver(Se3Solver.Config(**params), BuildContext())


class TestSe3Solver(PoseSolverContract):
    def make_component(self):
        return make_solver()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_recovers_box_motion_without_noise_within_1deg_5mm(seed):
    rng = np.random.default_rng(seed)
    scene = box_scene(rng, frames=6)
    points, tracks = scene.tracks(400, rng)
    trajectory = make_solver().solve(points, tracks, scene.camera)
    rotation_deg, translation_m = motion_errors(trajectory.transforms, scene.object_motions, points)
    assert rotation_deg.max() < 1.0 and translation_m.max() < 0.005
    assert trajectory.residuals_px.max() < 0.05
    assert trajectory.warnings == ()


@pytest.mark.parametrize("robust_loss", ["cauchy", "huber"])
def test_recovers_box_motion_with_30pct_outliers_and_1px_noise(robust_loss):
    rng = np.random.default_rng(3)
    scene = box_scene(rng, frames=6)
    points, tracks = scene.tracks(400, rng, noise_px=1.0, outlier_fraction=0.3)
    trajectory = make_solver(robust_loss=robust_loss).solve(points, tracks, scene.camera)
    rotation_deg, translation_m = motion_errors(trajectory.transforms, scene.object_motions, points)
    assert rotation_deg.max() < 3.0 and translation_m.max() < 0.01
    # the outliers (random pixels) are left out: roughly 70 % of the points remain inliers
    inlier_share = trajectory.inliers[1:].mean()
    assert 0.6 < inlier_share < 0.75
    assert 1.0 < trajectory.residuals_px[1:].mean() < 1.8  # ~sqrt(2) px for 1 px noise per axis


def test_camera_mode_returns_the_camera_motion():
    rng = np.random.default_rng(4)
    scene = box_scene(rng, frames=5, max_rotation_deg=10.0, max_translation_m=0.08, moving="camera")
    points, tracks = scene.tracks(500, rng, target="scene")
    trajectory = make_solver().solve(points, tracks, scene.camera, mode="camera")
    assert trajectory.mode == "camera"
    rotation_deg, translation_m = motion_errors(trajectory.transforms, scene.camera_motions, points)
    assert rotation_deg.max() < 0.5 and translation_m.max() < 0.005
    # the camera's position at the last frame follows from the returned motion
    position = (trajectory.transforms[-1] @ scene.camera.cam_to_world)[:3, 3]
    np.testing.assert_allclose(position, scene.camera_at(4).cam_to_world[:3, 3], atol=0.005)



def test_tracks_lost_to_the_background_are_reported():
    rng = np.random.default_rng(6)
    scene = box_scene(rng, frames=6, max_translation_m=0.12)
    points, tracks = scene.tracks(300, rng)
    pixels = tracks.pixels.copy()
    lost = np.arange(len(points)) < 0.4 * len(points)
    pixels[3:, lost] = pixels[0, lost]  # these tracks fall back onto the still background
    trajectory = make_solver().solve(points, Tracks(pixels, tracks.valid), scene.camera)
    flagged = {int(w.split(":")[0].split()[1]) for w in trajectory.warnings}
    assert flagged == {3, 4, 5}
    rotation_deg, translation_m = motion_errors(trajectory.transforms, scene.object_motions, points)
    assert rotation_deg.max() < 1.0 and translation_m.max() < 0.005  # the majority still wins


def _small_object_depth_error(ray_penalty: float, seed: int) -> float:
    """Along-ray error (m) of a 3 cm cube sliding sideways, tracked with 1 px noise."""
    rng = np.random.default_rng(seed)
    base = box_scene(rng, frames=4, box_size_m=0.03)
    centre = np.array([0.0, 0.0, 0.015])
    ray = centre - base.camera.cam_to_world[:3, 3]
    sideways = np.cross(ray, [0.0, 0.0, 1.0])
    motions = screw_motions(4, centre, np.zeros(3), 0.05 * sideways / np.linalg.norm(sideways))
    scene = SyntheticScene(base.camera, base.rects, motions, base.camera_motions)
    points, tracks = scene.tracks(300, rng, noise_px=1.0)
    trajectory = make_solver(ray_penalty=ray_penalty).solve(points, tracks, scene.camera)
    centre_h = np.append(centre, 1.0)
    moved = trajectory.transforms[:, :3] @ centre_h - motions[:, :3] @ centre_h
    return float(np.abs(moved @ (ray / np.linalg.norm(ray))).max())


def test_ray_penalty_keeps_a_small_noisy_object_from_sliding_along_the_ray():
    free = np.mean([_small_object_depth_error(0.0, seed) for seed in range(4)])
    penalised = np.mean([_small_object_depth_error(1.0, seed) for seed in range(4)])
    assert penalised < 0.5 * free


@pytest.fixture
def scene_and_tracks():
    rng = np.random.default_rng(7)
    scene = box_scene(rng, frames=3, width=160, height=120)
    points, tracks = scene.tracks(100, rng)
    return scene, points, tracks


def test_nan_points_are_rejected_with_a_count(scene_and_tracks):
    scene, points, tracks = scene_and_tracks
    points = points.copy()
    points[:3] = np.nan
    with pytest.raises(InputDataError, match="3 of 100"):
        make_solver().solve(points, tracks, scene.camera)


def test_points_and_tracks_must_describe_the_same_points(scene_and_tracks):
    scene, points, tracks = scene_and_tracks
    with pytest.raises(InputDataError, match="tracks carry 100"):
        make_solver().solve(points[:90], tracks, scene.camera)


def test_a_camera_that_does_not_match_the_video_is_rejected(scene_and_tracks):
    scene, points, tracks = scene_and_tracks
    wrong = type(scene.camera).from_fov(80, 60, 45.0, scene.camera.cam_to_world)
    with pytest.raises(InputDataError, match="camera"):
        make_solver().solve(points, tracks, wrong)


def test_too_few_points_raise_solve_error(scene_and_tracks):
    scene, points, tracks = scene_and_tracks
    few = Tracks(tracks.pixels[:, :5], tracks.valid[:, :5])
    with pytest.raises(SolveError, match="5 valid track"):
        make_solver().solve(points[:5], few, scene.camera)


def test_unknown_mode_is_rejected(scene_and_tracks):
    scene, points, tracks = scene_and_tracks
    with pytest.raises(InputDataError, match="mode"):
        make_solver().solve(points, tracks, scene.camera, mode="sideways")
