"""Photometric pose refinement on ray-cast scenes with exact ground truth, after the real solver."""

from __future__ import annotations

import numpy as np
import pytest

from avdc_core import BuildContext, SegmentTarget
from avdc_core.photometric import PhotometricConfig, refine_photometric
from avdc_core.planner import Planner
from avdc_core.spec import PlanningConfig
from avdc_core.synthetic import box_scene, motion_errors
from avdc_core.types import Flow, Mask
from avdc_plugins.solvers.se3_lm import Se3Solver


def _solved(seed: int, noise_px: float, box_size_m: float = 0.15):
    rng = np.random.default_rng(seed)
    scene = box_scene(rng, width=240, height=180, box_size_m=box_size_m, max_rotation_deg=20,
                      max_translation_m=0.08)
    frame0 = scene.render(0)
    points, tracks = scene.tracks(300, rng, noise_px=noise_px)
    trajectory = Se3Solver(Se3Solver.Config(), BuildContext()).solve(points, tracks, scene.camera)
    return scene, frame0, points, tracks, trajectory


@pytest.mark.parametrize("seed", [0, 1])
def test_refinement_recovers_what_noisy_tracks_leave_undetermined(seed):
    scene, frame0, points, tracks, trajectory = _solved(seed, noise_px=1.0)
    refined = refine_photometric(trajectory, scene.video(), Mask(frame0.object_mask), frame0.depth,
                                 scene.camera, points, tracks, PhotometricConfig())
    rot_before, trans_before = motion_errors(trajectory.transforms, scene.object_motions, points)
    rot_after, trans_after = motion_errors(refined.transforms, scene.object_motions, points)
    assert trans_after.mean() < 0.5 * trans_before.mean()
    assert rot_after.mean() < 0.5 * rot_before.mean()
    assert refined.ray_std_m[1:].max() < trajectory.ray_std_m[1:].max()  # every pixel informs the depth
    assert refined.residuals_px.shape == trajectory.residuals_px.shape
    assert refined.residuals_px[0] == pytest.approx(0, abs=1e-9)


def test_exact_poses_stay_exact():
    scene, frame0, points, tracks, trajectory = _solved(2, noise_px=0.0)
    refined = refine_photometric(trajectory, scene.video(), Mask(frame0.object_mask), frame0.depth,
                                 scene.camera, points, tracks, PhotometricConfig())
    rotation, translation = motion_errors(refined.transforms, scene.object_motions, points)
    assert translation.max() < 2e-3 and rotation.max() < 0.2


def test_an_object_with_too_few_pixels_keeps_the_solvers_poses():
    scene, frame0, points, tracks, trajectory = _solved(3, noise_px=1.0)
    config = PhotometricConfig(min_pixels=int(frame0.object_mask.sum()) + 1)
    refined = refine_photometric(trajectory, scene.video(), Mask(frame0.object_mask), frame0.depth,
                                 scene.camera, points, tracks, config)
    assert refined is trajectory


class _Exact:
    """A flow estimator that returns the scene's exact flow (to test the planner's wiring)."""

    def __init__(self, scene):
        self.scene = scene

    def estimate(self, video, backward=False):
        return Flow(np.stack([self.scene.ground_truth_flow(t) for t in range(video.num_frames - 1)]))


class _Truth:
    def __init__(self, mask):
        self.mask = mask

    def segment(self, observation, target):
        return self.mask


def test_the_planner_refines_when_the_spec_asks_and_times_it():
    scene, frame0, *_ = _solved(4, noise_px=0.0)
    solver = Se3Solver(Se3Solver.Config(), BuildContext())
    plans = {}
    for name, photometric in (("off", None), ("on", PhotometricConfig())):
        planner = Planner(None, _Exact(scene), _Truth(Mask(frame0.object_mask)), solver,
                          PlanningConfig(num_points=200, fb_threshold_px=None, photometric=photometric))
        plans[name] = planner.plan_from_video(scene.observation(), scene.video(), "move", SegmentTarget("box"))
    assert "refine" in plans["on"].timings_s and "refine" not in plans["off"].timings_s
    assert not np.array_equal(plans["on"].trajectory.transforms, plans["off"].trajectory.transforms)
    _, translation = motion_errors(plans["on"].trajectory.transforms, scene.object_motions,
                                   plans["on"].points_world)
    assert translation.max() < 3e-3  # exact tracks; the texture's aliasing costs the intensities ~2 mm
