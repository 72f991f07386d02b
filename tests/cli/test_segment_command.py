"""`avdc segment`: the spec's segmenter on one image → mask.png + overlay.png; prompts and errors."""

import imageio.v3 as iio
import numpy as np
import pytest
import torch
import yaml

from avdc_cli.main import main
from avdc_core import BuildContext, SegmentTarget
from avdc_core.testing import flat_observation
from avdc_plugins.segmenters.sam import SamSegmenter, build_sam_model

from images import iou, moving_square_pair


def write_spec(tmp_path, segmenter, flow=None):
    spec = {
        "generator": {"plugin": "oracle"},
        "flow": flow or {"plugin": "sim-flow"},
        "segmenter": segmenter,
        "solver": {"plugin": "se3-lm"},
    }
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def run(capsys, *argv):
    code = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def image(tmp_path):
    rgb = flat_observation().rgb                      # 64x48 texture
    path = tmp_path / "image.png"
    iio.imwrite(path, rgb)
    return path, rgb


@pytest.fixture
def sam_spec(tmp_path):
    torch.save(build_sam_model("tiny-test", seed=1).state_dict(), tmp_path / "tiny.pth")
    params = {"model_type": "tiny-test", "checkpoint": "tiny.pth",  # relative to the spec
              "box": [10, 10, 40, 30], "postprocess": {"largest_component": True}}
    return write_spec(tmp_path, {"plugin": "sam", "params": params}), params


def test_sam_point_on_the_command_line_replaces_the_spec_box(capsys, tmp_path, image, sam_spec):
    spec, params = sam_spec
    code, out, err = run(capsys, "segment", spec, "--image", image[0], "--point", "30,20",
                         "--out", tmp_path / "out")
    assert code == 0, err
    written = iio.imread(tmp_path / "out" / "mask.png")
    config = SamSegmenter.Config(**{**params, "checkpoint": str(tmp_path / "tiny.pth")})
    segmenter = SamSegmenter(config, BuildContext())
    expected = segmenter.segment(flat_observation(), SegmentTarget("object", {"points": [[30, 20]]}))
    from_box = segmenter.segment(flat_observation(), SegmentTarget("object"))
    assert (expected.pixels != from_box.pixels).any()           # the override is visible
    np.testing.assert_array_equal(written > 0, expected.pixels)
    assert set(np.unique(written)) <= {0, 255}
    assert f"segmenter/sam: {expected.count} px" in out and "overlay.png" in out


def test_overlay_tints_the_mask_and_leaves_the_rest(capsys, tmp_path, image):
    mask = np.zeros((48, 64), bool)
    mask[10:30, 20:40] = True
    iio.imwrite(tmp_path / "m.png", mask.astype(np.uint8) * 255)
    spec = write_spec(tmp_path, {"plugin": "mask-file", "params": {"path": "m.png"}})
    code, out, err = run(capsys, "segment", spec, "--image", image[0], "--out", tmp_path / "out")
    assert code == 0, err
    np.testing.assert_array_equal(iio.imread(tmp_path / "out" / "mask.png") > 0, mask)
    overlay = iio.imread(tmp_path / "out" / "overlay.png")
    rgb = image[1]
    far = np.ones_like(mask)
    far[8:32, 18:42] = False                                    # away from mask and outline
    np.testing.assert_array_equal(overlay[far], rgb[far])
    tinted = np.round(0.55 * rgb[11:29, 21:39] + 0.45 * np.array([255, 220, 0]))
    np.testing.assert_array_equal(overlay[11:29, 21:39], tinted)  # inside, off the outline
    np.testing.assert_array_equal(overlay[10, 20:40], [[255, 220, 0]] * 20)  # the outline
    assert "segmenter/mask-file: 400 px (13.0 % of 64x48) for target 'object'" in out


def test_depth_reaches_the_segmenter(capsys, tmp_path, image):
    depth = np.ones((48, 64))
    depth[:12] = 0.0                                            # no depth in the top quarter
    np.save(tmp_path / "depth.npy", depth)
    spec = write_spec(tmp_path, {"plugin": "whole-scene"})
    code, out, err = run(capsys, "segment", spec, "--image", image[0], "--depth", tmp_path / "depth.npy",
                         "--target", "scene", "--out", tmp_path / "out")
    assert code == 0, err
    assert (iio.imread(tmp_path / "out" / "mask.png") > 0).sum() == 36 * 64


def test_prompts_for_a_segmenter_without_prompts_are_refused(capsys, tmp_path, image):
    spec = write_spec(tmp_path, {"plugin": "whole-scene"})
    code, _, err = run(capsys, "segment", spec, "--image", image[0], "--box", "1,2,3,4")
    assert code == 2
    assert "segmenter/whole-scene" in err and "segmenter/sam" in err and len(err.splitlines()) == 1


def test_prompt_outside_the_image_is_one_line_naming_prompt_and_size(capsys, tmp_path, image, sam_spec):
    code, _, err = run(capsys, "segment", sam_spec[0], "--image", image[0], "--point", "5,60")
    assert code == 6
    assert "point prompt #0 (5, 60) from target.hints is outside the 64x48 image" in err
    assert "Traceback" not in err


def test_malformed_point_names_the_option_and_the_format(capsys, tmp_path, image, sam_spec):
    code, _, err = run(capsys, "segment", sam_spec[0], "--image", image[0], "--point", "5;6")
    assert code == 6 and "--point '5;6': expected u,v or u,v,label" in err


def test_background_point_label_and_bad_label(capsys, tmp_path, image, sam_spec):
    out = tmp_path / "out"
    assert run(capsys, "segment", sam_spec[0], "--image", image[0], "--point", "30,20",
               "--point", "50,40,0", "--out", out)[0] == 0
    code, _, err = run(capsys, "segment", sam_spec[0], "--image", image[0], "--point", "30,20,2")
    assert code == 6 and "point_labels" in err


def test_missing_checkpoint_is_exit_5_with_the_official_file(capsys, tmp_path, image):
    spec = write_spec(tmp_path, {"plugin": "sam", "params": {"checkpoint": "sam_vit_b.pth"}})
    code, _, err = run(capsys, "segment", spec, "--image", image[0], "--point", "3,4")
    assert code == 5 and "sam_vit_b_01ec64.pth" in err and str(tmp_path / "sam_vit_b.pth") in err


def test_mask_of_the_wrong_size_via_the_command(capsys, tmp_path, image):
    iio.imwrite(tmp_path / "m.png", np.zeros((10, 10), np.uint8))
    spec = write_spec(tmp_path, {"plugin": "mask-file", "params": {"path": "m.png"}})
    code, _, err = run(capsys, "segment", spec, "--image", image[0])
    assert code == 6 and "is 10x10 (WxH) but the observation is 64x48" in err



def test_flow_motion_gets_its_flow_from_the_next_image(capsys, tmp_path):
    frames, truth = moving_square_pair()
    for index, frame in enumerate(frames):
        iio.imwrite(tmp_path / f"{index}.png", frame)
    spec = write_spec(tmp_path, {"plugin": "flow-motion", "params": {"threshold_px": 2.0}},
                      flow={"plugin": "opencv-dis", "params": {"preset": "medium"}})
    code, out, err = run(capsys, "segment", spec, "--image", tmp_path / "0.png",
                         "--next-image", tmp_path / "1.png", "--target", "cube", "--out", tmp_path / "out")
    assert code == 0, err
    assert iou(iio.imread(tmp_path / "out" / "mask.png") > 0, truth) > 0.8
    code, _, err = run(capsys, "segment", spec, "--image", tmp_path / "0.png")
    assert code == 6 and "--next-image" in err
