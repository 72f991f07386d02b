"""flow/dis-template: masked template matching follows a small fast object that DIS loses."""

from __future__ import annotations

import numpy as np

from avdc_core.interfaces import BuildContext
from avdc_core.planner import MaskRefinedFlow
from avdc_core.testing import FlowEstimatorContract
from avdc_core.tracking import track_points
from avdc_core.types import Mask, Video
from avdc_plugins.flow.dis_template import DisTemplateFlow


def make_flow(**params) -> DisTemplateFlow:
    return DisTemplateFlow(DisTemplateFlow.Config(**params), BuildContext())


class TestDisTemplate(FlowEstimatorContract):
    def make_component(self):
        return make_flow()


def fast_block_video(frames: int = 4, step_px: int = 18, size: int = 10) -> tuple[Video, Mask]:
    """A small high-contrast checker block jumping ``step_px`` right and 5 px down per frame over
    a smooth static background (120x160): the block's mask at frame 0 and the video."""
    import cv2

    rng = np.random.default_rng(3)
    background = cv2.GaussianBlur(rng.integers(60, 200, (120, 160, 3), dtype=np.uint8), (0, 0), 4)
    checker = np.kron((np.indices((size // 2, size // 2)).sum(0) % 2), np.ones((2, 2)))
    block = np.stack([checker * 255, 255 - checker * 200, checker * 80], axis=-1).astype(np.uint8)
    video, top, left = [], 40, 20
    for t in range(frames):
        frame = background.copy()
        frame[top + 5 * t: top + 5 * t + size, left + step_px * t: left + step_px * t + size] = block
        video.append(frame)
    mask = np.zeros((120, 160), bool)
    mask[top:top + size, left:left + size] = True
    return Video(np.stack(video)), Mask(mask, "test")


def test_template_follows_a_small_fast_block_that_dis_loses():
    video, mask = fast_block_video()
    flow = make_flow()
    assert isinstance(flow, MaskRefinedFlow)
    rows, cols = np.nonzero(mask.pixels)
    start = np.stack([cols, rows], 1).astype(float)
    truth = start + np.array([18.0, 5.0]) * (video.num_frames - 1)
    dis = flow.estimate(video)
    dis_error = np.linalg.norm(track_points(dis, start, None).pixels[-1] - truth, axis=1)
    refined = flow.refine(video, dis, mask)
    tracks = track_points(refined, start, fb_threshold_px=1.0)
    assert np.median(dis_error) > 5.0  # DIS alone loses the block ...
    assert tracks.valid[-1].all()  # ... the template keeps it, forward-backward consistent,
    np.testing.assert_allclose(tracks.pixels[-1], truth, atol=0.5)  # at the right place
    far = np.ones(mask.pixels.shape, bool)
    far[20:90, 10:110] = False
    np.testing.assert_array_equal(refined.forward[:, far], dis.forward[:, far])  # DIS elsewhere


def test_large_objects_keep_the_dis_flow():
    video, mask = fast_block_video()
    flow = make_flow(max_pixels=50)  # the block has 100 pixels
    dis = flow.estimate(video)
    np.testing.assert_array_equal(flow.refine(video, dis, mask).forward, dis.forward)


def test_planner_refines_the_flow_with_the_mask_and_solves_the_block_motion(tmp_path):
    """Planner + dis-template + mask-file segmenter + se3 solver on the fast block, seen as a
    plane 1 m in front of the camera: the plan moves the block 18 px right and 5 px down per
    frame, i.e. 18 and 5 times depth / focal metres."""
    import cv2

    from avdc_core.planner import Planner
    from avdc_core.spec import PlanningConfig
    from avdc_core.types import Camera, Observation, SegmentTarget
    from avdc_plugins.segmenters.basic import MaskFileSegmenter
    from avdc_plugins.solvers.se3_lm import Se3Solver

    video, mask = fast_block_video()
    cv2.imwrite(str(tmp_path / "block.png"), mask.pixels.astype(np.uint8) * 255)
    camera = Camera.from_fov(160, 120, 45.0)
    observation = Observation(video.frames[0], np.full((120, 160), 1.0), camera)
    context = BuildContext()
    planner = Planner(None, make_flow(),
                      MaskFileSegmenter(MaskFileSegmenter.Config(path=str(tmp_path / "block.png")), context),
                      Se3Solver(Se3Solver.Config(), context), PlanningConfig(num_points=100))
    plan = planner.plan_from_video(observation, video, "move", SegmentTarget("block"))
    step_m = np.array([18.0, 5.0]) / camera.K[0, 0]  # 1 m deep, fx = fy
    moved = plan.trajectory.transforms[:, :3, 3] - plan.trajectory.transforms[:1, :3, 3]
    expected = np.outer(np.arange(video.num_frames), [*step_m, 0.0])
    np.testing.assert_allclose(moved[:, :2], expected[:, :2], atol=2e-3)
