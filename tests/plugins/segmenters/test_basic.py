"""mask-file, flow-motion and whole-scene on constructed inputs; flow-motion on real DIS flow."""

import cv2
import numpy as np
import pytest

from avdc_core import (
    BuildContext,
    Camera,
    Flow,
    FlowEstimator,
    InputDataError,
    MissingResourceError,
    Observation,
    PoseSolver,
    SegmentTarget,
    SolveError,
    Video,
)
from avdc_core.masks import MaskPostprocess
from avdc_core.planner import FIRST_FLOW_HINT, Planner
from avdc_core.testing import SegmenterContract, flat_observation
from avdc_plugins.segmenters.basic import (
    FlowMotionSegmenter,
    MaskFileSegmenter,
    WholeSceneSegmenter,
)

from images import iou, moving_square_pair  # noqa: E402


def write_png(path, pixels):
    cv2.imwrite(str(path), pixels.astype(np.uint8) * 255)


def dis_flow(frames):
    """OpenCV DIS (medium preset) forward flow for each consecutive pair, ``[T-1, H, W, 2]``."""
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    grey = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames]
    return np.stack([dis.calc(a, b, None) for a, b in zip(grey[:-1], grey[1:], strict=True)]).astype(np.float64)


def observation_of(rgb, depth_m=1.0):
    height, width = rgb.shape[:2]
    return Observation(rgb, np.full((height, width), depth_m), Camera.from_fov(width, height, 45.0))


# --- mask-file ---------------------------------------------------------------------------------

class TestMaskFile(SegmenterContract):
    @pytest.fixture(autouse=True)
    def _mask(self, tmp_path):
        self.path = tmp_path / "mask.png"
        pixels = np.zeros((48, 64), bool)
        pixels[10:30, 20:40] = True
        write_png(self.path, pixels)

    def make_component(self):
        return MaskFileSegmenter(MaskFileSegmenter.Config(path=str(self.path)), BuildContext())

    def test_reads_the_png_exactly(self):
        mask = self.make_component().segment(flat_observation(), SegmentTarget("anything"))
        assert mask.count == 400 and mask.pixels[10:30, 20:40].all()
        assert mask.source == "segmenter/mask-file"


def test_mask_folder_picks_the_png_named_after_the_target(tmp_path):
    for name, rows in (("door", slice(0, 10)), ("drawer handle", slice(20, 25))):
        pixels = np.zeros((48, 64), bool)
        pixels[rows, :] = True
        write_png(tmp_path / f"{name}.png", pixels)
    config = MaskFileSegmenter.Config(path=".")
    segmenter = MaskFileSegmenter(config, BuildContext(base_dir=tmp_path))  # relative to the spec
    assert segmenter.segment(flat_observation(), SegmentTarget("door")).count == 640
    assert segmenter.segment(flat_observation(), SegmentTarget("drawer handle")).count == 320


def test_missing_target_file_names_the_file_and_the_available_targets(tmp_path):
    write_png(tmp_path / "door.png", np.ones((48, 64), bool))
    segmenter = MaskFileSegmenter(MaskFileSegmenter.Config(path=str(tmp_path)), BuildContext())
    with pytest.raises(MissingResourceError) as caught:
        segmenter.segment(flat_observation(), SegmentTarget("faucet"))
    message = str(caught.value)
    assert str(tmp_path / "faucet.png") in message and "door" in message


def test_missing_mask_path_fails_when_built(tmp_path):
    with pytest.raises(MissingResourceError, match="nope.png"):
        MaskFileSegmenter(MaskFileSegmenter.Config(path=str(tmp_path / "nope.png")), BuildContext())


def test_mask_of_the_wrong_size_names_both_sizes(tmp_path):
    write_png(tmp_path / "m.png", np.ones((40, 50), bool))
    segmenter = MaskFileSegmenter(MaskFileSegmenter.Config(path=str(tmp_path / "m.png")), BuildContext())
    with pytest.raises(InputDataError, match=r"is 50x40 \(WxH\) but the observation is 64x48"):
        segmenter.segment(flat_observation(), SegmentTarget("x"))


def test_mask_file_applies_postprocessing_and_reports_an_empty_result(tmp_path):
    pixels = np.zeros((48, 64), bool)
    pixels[10:30, 20:40] = True
    pixels[40:42, 5:7] = True
    write_png(tmp_path / "m.png", pixels)
    config = MaskFileSegmenter.Config(
        path=str(tmp_path / "m.png"), postprocess=MaskPostprocess(largest_component=True, erode_px=2))
    mask = MaskFileSegmenter(config, BuildContext()).segment(flat_observation(), SegmentTarget("x"))
    assert mask.count == 16 * 16
    config = MaskFileSegmenter.Config(path=str(tmp_path / "m.png"),
                                      postprocess=MaskPostprocess(erode_px=11))
    with pytest.raises(InputDataError, match=r"segmenter/mask-file.*'x'.*404 px before, 0 after"):
        MaskFileSegmenter(config, BuildContext()).segment(flat_observation(), SegmentTarget("x"))


# --- flow-motion -------------------------------------------------------------------------------

class TestFlowMotion(SegmenterContract):
    def make_component(self):
        return FlowMotionSegmenter(FlowMotionSegmenter.Config(threshold_px=2.0), BuildContext())

    def sample_input(self):
        frames, _ = moving_square_pair()
        return observation_of(frames[0]), SegmentTarget("cube", {FIRST_FLOW_HINT: dis_flow(frames)[0]})

    def test_returns_the_moving_region_of_a_known_motion(self):
        frames, truth = moving_square_pair()
        observation, target = self.sample_input()
        plain = FlowMotionSegmenter(FlowMotionSegmenter.Config(
            threshold_px=2.0, postprocess=MaskPostprocess(largest_component=True)), BuildContext())
        moving = plain.segment(observation, target).pixels
        assert iou(moving, truth) > 0.85                     # measured 0.90
        # The default 1 px erosion pulls the mask off the square's border, where the flow of the
        # cube and of the uncovered background blur together (measured: 41 → 14 px outside).
        eroded = self.make_component().segment(observation, target).pixels
        assert (eroded & ~truth).sum() < 0.5 * (moving & ~truth).sum()
        assert eroded.sum() > 0.8 * truth.sum()

    def test_without_the_flow_hint_says_how_to_give_it(self):
        with pytest.raises(InputDataError, match=FIRST_FLOW_HINT):
            self.make_component().segment(flat_observation(), SegmentTarget("cube"))

    def test_flow_of_the_wrong_size_names_both_sizes(self):
        target = SegmentTarget("cube", {FIRST_FLOW_HINT: np.zeros((10, 12, 2))})
        with pytest.raises(InputDataError, match=r"\(10, 12, 2\).*\(48, 64, 2\)"):
            self.make_component().segment(flat_observation(), target)

    def test_nothing_moving_is_an_empty_mask_error(self):
        target = SegmentTarget("cube", {FIRST_FLOW_HINT: np.full((48, 64, 2), 0.5)})
        with pytest.raises(InputDataError, match=r"'cube' is empty.*0 px before"):
            self.make_component().segment(flat_observation(), target)


class _DisFlow(FlowEstimator):
    """Real OpenCV DIS flow, for the planner test (the flow plugins live in their own issue)."""

    name = "test-dis"

    def estimate(self, video, backward=True):
        return Flow(dis_flow(video.frames), dis_flow(video.frames[::-1])[::-1] if backward else None)


class _StopAfterSegmenting(PoseSolver):
    """Ends the planning pass after tracking: this test is about what reached the segmenter."""

    name = "stop"

    def solve(self, points_world, tracks, camera, mode="object"):
        self.points_world = points_world
        raise SolveError("stopped by the test after segmentation")


def test_planner_hands_the_first_pair_flow_to_flow_motion():
    frames, truth = moving_square_pair()
    segmenter = FlowMotionSegmenter(FlowMotionSegmenter.Config(threshold_px=2.0), BuildContext())
    solver = _StopAfterSegmenting(_StopAfterSegmenting.Config(), BuildContext())
    planner = Planner(generator=None, flow=_DisFlow(_DisFlow.Config(), BuildContext()),
                      segmenter=segmenter, solver=solver)
    observation = observation_of(frames[0])
    with pytest.raises(SolveError):
        planner.plan_from_video(observation, Video(frames), "push the cube", SegmentTarget("cube"))
    pixels = observation.camera.project(solver.points_world)[0].round().astype(int)
    assert truth[pixels[:, 1], pixels[:, 0]].mean() > 0.98   # sampled points sit on the cube


# --- whole-scene -------------------------------------------------------------------------------

class TestWholeScene(SegmenterContract):
    def make_component(self, **params):
        return WholeSceneSegmenter(WholeSceneSegmenter.Config(**params), BuildContext())

    def test_masks_every_pixel_with_valid_depth(self):
        observation = flat_observation()
        observation.depth[:5] = 0.0
        observation.depth[5:8, :10] = np.nan
        observation.depth[40:, 60:] = np.inf
        mask = self.make_component().segment(observation, SegmentTarget("scene"))
        assert mask.count == 48 * 64 - 5 * 64 - 3 * 10 - 8 * 4

    def test_far_plane_is_dropped_when_asked(self):
        observation = flat_observation()
        observation.depth[20:, :] = 113.0
        mask = self.make_component(max_depth_m=50.0).segment(observation, SegmentTarget("scene"))
        assert mask.count == 20 * 64
