"""`avdc plan` end to end with real components on a ray-cast scene whose motion is known.

The "imagined" video is the scene's exact rendering (generator/video-file), so the recovered
motion is compared with ground truth: real DIS flow, mask file, tracking and SE(3) solve.
"""

import json

import imageio.v3 as iio
import numpy as np
import pytest
import yaml

from avdc_cli.main import main
from avdc_core.synthetic import box_scene, motion_errors


@pytest.fixture(scope="module")
def scene_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scene")
    scene = box_scene(np.random.default_rng(3), frames=5, max_rotation_deg=12, max_translation_m=0.05)
    first = scene.render(0)
    iio.imwrite(folder / "rgb.png", first.rgb)
    np.save(folder / "depth.npy", first.depth)
    iio.imwrite(folder / "mask.png", first.object_mask.astype(np.uint8) * 255)
    (folder / "camera.json").write_text(json.dumps(scene.camera.to_json()))
    (folder / "video").mkdir()
    for t, frame in enumerate(scene.video().frames):
        iio.imwrite(folder / "video" / f"{t}.png", frame)
    (folder / "spec.yaml").write_text(yaml.safe_dump({
        "generator": {"plugin": "video-file", "params": {"path": "video"}},
        # DIS "medium" drifts ~0.15 px per frame on this scene (3.3 degrees after 4 frames);
        # "fine" with the mask's border eroded stays within 0.4 degrees / 4 mm
        "flow": {"plugin": "opencv-dis", "params": {"preset": "fine"}},
        "segmenter": {"plugin": "mask-file",
                      "params": {"path": "mask.png", "postprocess": {"erode_px": 3}}},
        "solver": {"plugin": "se3-lm"},
    }))
    return folder, scene, first


def test_plan_recovers_the_known_object_motion(scene_files, capsys):
    folder, scene, first = scene_files
    out = folder / "out"
    code = main(["plan", str(folder / "spec.yaml"), "--image", str(folder / "rgb.png"),
                 "--depth", str(folder / "depth.npy"), "--camera", str(folder / "camera.json"),
                 "--text", "turn the box", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    for name in ("plan.gif", "flow.png", "tracks.png", "trajectory.png", "trajectory.json"):
        assert (out / name).stat().st_size > 0
    trajectory = json.loads((out / "trajectory.json").read_text())
    estimated = np.array(trajectory["transforms"])
    object_points = first.points_world[first.object_mask]
    rotation_deg, translation_m = motion_errors(estimated, scene.object_motions, object_points)
    assert rotation_deg.max() < 1.0
    assert translation_m.max() < 0.006
    assert trajectory["task"] == "turn the box"


def test_plan_with_depth_of_the_wrong_size_is_a_clear_error(scene_files, capsys, tmp_path):
    folder, _, first = scene_files
    np.save(tmp_path / "small.npy", first.depth[::2, ::2])
    code = main(["plan", str(folder / "spec.yaml"), "--image", str(folder / "rgb.png"),
                 "--depth", str(tmp_path / "small.npy"), "--camera", str(folder / "camera.json"),
                 "--text", "turn the box", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 6 and "observation.depth is 160x120 (WxH) but the camera is 320x240" in err
