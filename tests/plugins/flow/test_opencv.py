"""flow/opencv-dis and flow/opencv-farneback against exact flow of ray-cast scenes."""

import numpy as np
import pytest
from pydantic import ValidationError

from avdc_core import BuildContext
from avdc_core.synthetic import box_scene
from avdc_core.testing import FlowEstimatorContract, textured_video
from avdc_plugins.flow.opencv import OpenCvDis, OpenCvFarneback


def dis(preset: str = "medium", upsample: int = 1) -> OpenCvDis:
    return OpenCvDis(OpenCvDis.Config(preset=preset, upsample=upsample), BuildContext())


class TestOpenCvDis(FlowEstimatorContract):
    def make_component(self):
        return dis()


class TestOpenCvFarneback(FlowEstimatorContract):
    def make_component(self):
        return OpenCvFarneback(OpenCvFarneback.Config(), BuildContext())


@pytest.fixture(scope="module")
def box_video():
    scene = box_scene(np.random.default_rng(0), frames=3, width=160, height=120, max_rotation_deg=8.0,
                      max_translation_m=0.03)
    renders = [scene.render(t) for t in range(3)]
    truth = np.stack([scene.ground_truth_flow(t, renders[t]) for t in range(2)])
    return scene.video(), truth, np.stack([r.object_mask for r in renders[:2]])


@pytest.mark.parametrize("make, scene_px, object_px", [
    (lambda: dis("medium"), 0.1, 1.2),
    (lambda: dis("fine"), 0.05, 0.5),
    (lambda: dis("fine", upsample=2), 0.05, 0.5),
    (lambda: OpenCvFarneback(OpenCvFarneback.Config(), BuildContext()), 0.1, 1.0),
])
def test_flow_matches_the_exact_flow_of_a_moving_box(box_video, make, scene_px, object_px):
    video, truth, on_object = box_video
    flow = make().estimate(video, backward=False)
    error = np.linalg.norm(flow.forward - truth, axis=-1)
    assert error.mean() < scene_px
    assert error[on_object].mean() < object_px


def test_fine_preset_beats_medium_on_the_moving_object(box_video):
    video, truth, on_object = box_video
    errors = [np.linalg.norm(dis(p).estimate(video, backward=False).forward - truth, axis=-1)[on_object]
              .mean() for p in ("medium", "fine")]
    assert errors[1] < errors[0]


@pytest.mark.parametrize("preset, upsample", [("ultrafast", 1), ("fast", 1), ("medium", 1), ("fine", 1),
                                              ("medium", 2), ("fine", 3)])
def test_forward_and_backward_flow_of_a_shift_are_opposite(preset, upsample):
    video = textured_video(frames=3, height=64, width=96, shift_px=2)
    flow = dis(preset, upsample).estimate(video, backward=True)
    inner = (slice(None), slice(8, -8), slice(8, -8))
    np.testing.assert_allclose(np.median(flow.forward[inner], axis=(1, 2)), [[2, 0]] * 2, atol=0.25)
    np.testing.assert_allclose(np.median(flow.backward[inner], axis=(1, 2)), [[-2, 0]] * 2, atol=0.25)
    assert flow.forward.dtype == np.float32


def test_unknown_preset_is_rejected_with_the_choices():
    with pytest.raises(ValidationError, match="ultrafast"):
        OpenCvDis.Config(preset="superfine")
