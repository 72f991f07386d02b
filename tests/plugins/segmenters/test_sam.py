"""segmenter/sam through the real SamPredictor, with a tiny randomly initialised SAM (no download).

The tiny model's masks mean nothing; what is checked is the plumbing around SAM: checkpoint
loading, prompt handling (spec vs hints, labels, boxes), the choice of the best candidate by
predicted IoU against SamPredictor's own outputs, image sizes, and the errors.
"""

import cv2
import numpy as np
import pytest
import torch
from pydantic import ValidationError

from avdc_core import (
    BuildContext,
    Camera,
    InputDataError,
    MissingResourceError,
    Observation,
    SegmentTarget,
    SpecError,
)
from avdc_core.masks import MaskPostprocess
from avdc_core.testing import SegmenterContract, flat_observation, textured_video
from avdc_plugins.segmenters.sam import DOWNLOAD_PAGE, SamSegmenter, build_sam_model

NO_POSTPROCESS = MaskPostprocess()
POINT = (30.0, 20.0)
BOX = (10.0, 10.0, 40.0, 30.0)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A tiny SAM's random weights (seed 1), saved as the official checkpoints are: a state dict."""
    path = tmp_path_factory.mktemp("sam") / "tiny.pth"
    torch.save(build_sam_model("tiny-test", seed=1).state_dict(), path)
    return path


def make_sam(checkpoint, **params):
    params.setdefault("postprocess", NO_POSTPROCESS)
    config = SamSegmenter.Config(model_type="tiny-test", checkpoint=str(checkpoint), **params)
    return SamSegmenter(config, BuildContext())


def predictor_outputs(segmenter, rgb, **prompts):
    """What SamPredictor itself returns for these prompts on the segmenter's own model."""
    from segment_anything import SamPredictor

    predictor = SamPredictor(segmenter.model)
    predictor.set_image(rgb)
    masks, scores, _ = predictor.predict(multimask_output=True, **prompts)
    return masks, scores


class TestSam(SegmenterContract):
    @pytest.fixture(autouse=True)
    def _checkpoint(self, checkpoint):
        self.checkpoint = checkpoint

    def make_component(self):
        return make_sam(self.checkpoint, points=[POINT])

    def test_keeps_the_candidate_with_the_highest_predicted_iou(self):
        segmenter = self.make_component()
        observation = flat_observation()
        masks, scores = predictor_outputs(segmenter, observation.rgb,
                                          point_coords=np.array([POINT]), point_labels=np.array([1]))
        best = int(np.argmax(scores))
        # The choice is discriminating: neither the first candidate nor the largest one.
        assert best != 0 and best != int(np.argmax(masks.sum(axis=(1, 2))))
        mask = segmenter.segment(observation, SegmentTarget("object"))
        np.testing.assert_array_equal(mask.pixels, masks[best])
        assert mask.source == "segmenter/sam"

    def test_box_prompt_reaches_sam(self):
        segmenter = make_sam(self.checkpoint, box=BOX)
        observation = flat_observation()
        masks, scores = predictor_outputs(segmenter, observation.rgb, box=np.array(BOX))
        mask = segmenter.segment(observation, SegmentTarget("object"))
        np.testing.assert_array_equal(mask.pixels, masks[np.argmax(scores)])
        point_mask = self.make_component().segment(observation, SegmentTarget("object"))
        assert (mask.pixels != point_mask.pixels).sum() > 100

    def test_points_and_box_together_and_background_labels(self):
        prompts = dict(points=[POINT, (50.0, 40.0)], point_labels=[1, 0], box=BOX)
        segmenter = make_sam(self.checkpoint, **prompts)
        observation = flat_observation()
        masks, scores = predictor_outputs(
            segmenter, observation.rgb, point_coords=np.array(prompts["points"]),
            point_labels=np.array([1, 0]), box=np.array(BOX))
        mask = segmenter.segment(observation, SegmentTarget("object"))
        np.testing.assert_array_equal(mask.pixels, masks[np.argmax(scores)])
        both_foreground = make_sam(self.checkpoint, **{**prompts, "point_labels": [1, 1]})
        assert (both_foreground.segment(observation, SegmentTarget("object")).pixels
                != mask.pixels).any()

    def test_hint_prompts_replace_the_spec_prompts(self):
        segmenter = self.make_component()                              # spec: a point
        observation = flat_observation()
        from_hints = segmenter.segment(observation, SegmentTarget("object", {"box": list(BOX)}))
        box_only = make_sam(self.checkpoint, box=BOX).segment(observation, SegmentTarget("object"))
        np.testing.assert_array_equal(from_hints.pixels, box_only.pixels)

    def test_mask_has_the_size_of_any_image(self):
        rgb = textured_video(frames=2, height=30, width=90).frames[0]
        observation = Observation(rgb, np.ones((30, 90)), Camera.from_fov(90, 30, 45.0))
        mask = make_sam(self.checkpoint, points=[(80.0, 5.0)]).segment(observation, SegmentTarget("o"))
        assert mask.pixels.shape == (30, 90)
        masks, scores = predictor_outputs(make_sam(self.checkpoint), rgb,
                                          point_coords=np.array([[80.0, 5.0]]), point_labels=np.array([1]))
        assert masks.shape == (3, 30, 90)
        np.testing.assert_array_equal(mask.pixels, masks[np.argmax(scores)])

    def test_postprocessing_is_applied(self):
        raw = self.make_component().segment(flat_observation(), SegmentTarget("object"))
        cleaned = make_sam(self.checkpoint, points=[POINT],
                           postprocess=MaskPostprocess(largest_component=True))
        mask = cleaned.segment(flat_observation(), SegmentTarget("object"))
        assert 0 < mask.count < raw.count and not (mask.pixels & ~raw.pixels).any()
        assert cv2.connectedComponents(mask.pixels.astype(np.uint8))[0] == 2  # background + one


def test_point_outside_the_image_names_the_prompt_and_the_image_size(checkpoint):
    segmenter = make_sam(checkpoint, points=[POINT, (70.0, 5.0)])
    with pytest.raises(InputDataError) as caught:
        segmenter.segment(flat_observation(), SegmentTarget("object"))
    message = str(caught.value)
    assert "point prompt #1 (70, 5)" in message and "params" in message
    assert "64x48 image" in message


def test_box_outside_the_image_from_hints_is_named(checkpoint):
    target = SegmentTarget("object", {"box": [10, 10, 40, 60]})
    with pytest.raises(InputDataError, match=r"box prompt \(10, 10, 40, 60\) from target.hints "
                                             r"is outside the 64x48 image"):
        make_sam(checkpoint).segment(flat_observation(), target)


def test_no_prompt_at_all_says_where_to_give_one(checkpoint):
    with pytest.raises(InputDataError, match=r"no prompt for target 'door'.*--point/--box"):
        make_sam(checkpoint).segment(flat_observation(), SegmentTarget("door"))


def test_bad_prompt_in_hints_is_an_input_error(checkpoint):
    target = SegmentTarget("object", {"points": [[1, 2]], "point_labels": [1, 0]})
    with pytest.raises(InputDataError, match="point_labels has 2 entries but points has 1"):
        make_sam(checkpoint).segment(flat_observation(), target)


def test_empty_mask_after_postprocessing_is_reported(checkpoint):
    segmenter = make_sam(checkpoint, points=[POINT], postprocess=MaskPostprocess(erode_px=40))
    with pytest.raises(InputDataError, match=r"segmenter/sam.*'object' is empty.*px before, 0 after"):
        segmenter.segment(flat_observation(), SegmentTarget("object"))


def test_missing_checkpoint_names_the_file_and_the_official_download(tmp_path):
    config = SamSegmenter.Config(model_type="vit_b", checkpoint="weights/sam.pth", points=[POINT])
    with pytest.raises(MissingResourceError) as caught:
        SamSegmenter(config, BuildContext(base_dir=tmp_path))
    message = str(caught.value)
    assert str(tmp_path / "weights" / "sam.pth") in message
    assert "sam_vit_b_01ec64.pth" in message and DOWNLOAD_PAGE in message


def test_checkpoint_of_another_model_is_rejected(tmp_path):
    path = tmp_path / "other.pth"
    torch.save({"linear.weight": torch.zeros(2, 2)}, path)
    with pytest.raises(InputDataError, match=r"other.pth.*not a tiny-test SAM state dict"):
        make_sam(path)


def test_checkpoints_load_with_weights_only(tmp_path):
    path = tmp_path / "pickled.pth"
    torch.save({"anything": ValueError("arbitrary pickled objects are refused")}, path)
    with pytest.raises(InputDataError, match="pickled.pth"):
        make_sam(path)


def test_safetensors_checkpoint_gives_the_same_masks(checkpoint, tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "tiny.safetensors"
    save_file(torch.load(checkpoint, weights_only=True), str(path))
    target = SegmentTarget("object", {"points": [POINT]})
    np.testing.assert_array_equal(make_sam(path).segment(flat_observation(), target).pixels,
                                  make_sam(checkpoint).segment(flat_observation(), target).pixels)


def test_random_weights_are_seeded_without_touching_the_global_generator():
    state = torch.get_rng_state()
    first = build_sam_model("tiny-test", seed=3).state_dict()
    again = build_sam_model("tiny-test", seed=3).state_dict()
    other = build_sam_model("tiny-test", seed=4).state_dict()
    assert torch.equal(torch.get_rng_state(), state)
    key = "mask_decoder.iou_prediction_head.layers.0.weight"
    assert torch.equal(first[key], again[key]) and not torch.equal(first[key], other[key])


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_unavailable_device_is_a_spec_error(checkpoint):
    config = SamSegmenter.Config(model_type="tiny-test", checkpoint=str(checkpoint))
    with pytest.raises(SpecError, match="device 'cuda'"):
        SamSegmenter(config, BuildContext(device="cuda"))


def test_config_checks_prompts_and_model_type():
    with pytest.raises(ValidationError, match="one label per point"):
        SamSegmenter.Config(checkpoint="x.pth", points=[POINT], point_labels=[1, 1])
    with pytest.raises(ValidationError, match="x0 < x1"):
        SamSegmenter.Config(checkpoint="x.pth", box=(40, 10, 10, 30))
    with pytest.raises(ValidationError, match="vit_b"):
        SamSegmenter.Config(checkpoint="x.pth", model_type="vit_s")
