"""avdc collect metaworld: expert demonstrations in the AVDC dataset layout."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("metaworld")

from avdc_core.datasets import find_episodes, read_frame  # noqa: E402
from avdc_core.errors import SpecError  # noqa: E402
from avdc_plugins.simulators.metaworld.collect import collect_demonstrations  # noqa: E402


def test_collect_writes_readable_successful_demos_with_depth_and_resumes(tmp_path):
    calls = []
    written = collect_demonstrations(["handle-press"], ["corner", "corner3"], 1, tmp_path,
                                     depth=True, segmentation=True, resolution=(80, 60),
                                     progress=calls.append)
    assert written == {"handle-press": 1} and calls == [1]
    folder = tmp_path / "metaworld_dataset" / "handle-press" / "corner" / "000"
    info = json.loads((folder / "info.json").read_text())
    frames = sorted(folder.glob("*.png"), key=lambda p: int(p.stem))
    assert len(frames) == info["frames"] > 10
    assert frames[10].name == "10.png" and frames[0].name == "00.png"
    # the dataset reader (issue 5) reads what we write, in time order
    episodes = find_episodes(tmp_path)
    assert len(episodes) == 2 and episodes[0].task == "handle press"
    assert [p.name for p in episodes[0].frames] == [p.name for p in frames]
    image = read_frame(frames[0])
    assert image.shape == (60, 80, 3)
    # depth is millimetres with 0 where nothing is seen; segmentation ids agree with it
    import cv2

    depth = cv2.imread(str(folder / "depth" / "00.png"), cv2.IMREAD_UNCHANGED)
    seg = cv2.imread(str(folder / "segmentation" / "00.png"), cv2.IMREAD_UNCHANGED)
    assert depth.dtype == np.uint16 and seg.dtype == np.uint16
    assert 300 < np.median(depth[depth > 0]) < 3000
    assert np.all(seg[depth == 0] == 0)
    camera = json.loads((folder / "camera.json").read_text())
    assert camera["width"] == 80 and camera["height"] == 60
    # a second run finds the episode complete and writes nothing
    stamp = frames[0].stat().st_mtime_ns
    collect_demonstrations(["handle-press"], ["corner", "corner3"], 1, tmp_path, resolution=(80, 60))
    assert frames[0].stat().st_mtime_ns == stamp


def test_unknown_camera_lists_valid_cameras(tmp_path):
    with pytest.raises(SpecError, match="valid cameras: .*corner3"):
        collect_demonstrations(["handle-press"], ["corner9"], 1, tmp_path)


def test_cli_collect_runs(tmp_path):
    from avdc_cli.main import main

    code = main(["collect", "metaworld", "--tasks", "handle-press", "--cameras", "corner2",
                 "--episodes", "1", "--out", str(tmp_path)])
    assert code == 0
    assert (tmp_path / "metaworld_dataset" / "handle-press" / "corner2" / "000" / "info.json").is_file()
