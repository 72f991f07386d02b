"""avdc collect miniworld: the expert's walks in the AVDC iTHOR layout, read back for training."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

if importlib.util.find_spec("miniworld") is None:  # imported by the scene, after headless is set
    pytest.skip("miniworld is not installed (pip install 'avdc[miniworld]')", allow_module_level=True)

from avdc_core.datasets import VideoClipDataset, find_episodes, read_frame, recorded_seeds  # noqa: E402
from avdc_core.errors import SpecError  # noqa: E402
from avdc_plugins.simulators.miniworld.collect import collect_demonstrations  # noqa: E402


def test_collect_writes_the_thor_layout_that_training_reads_and_resumes(tmp_path):
    calls = []
    written = collect_demonstrations(["one-room", "hallway"], 2, tmp_path, first_seed=7, hold_frames=2,
                                     progress=calls.append)
    assert written == {"one-room": 2, "hallway": 2} and calls == [1, 1, 1, 1]
    folder = tmp_path / "thor_dataset" / "RedBox" / "one-room-000"
    info = json.loads((folder / "info.json").read_text())
    frames = sorted((folder / "frames").glob("*.png"), key=lambda p: int(p.stem))
    assert len(frames) == info["frames"] == info["steps"] + 3 and info["seed"] >= 7
    assert read_frame(frames[0]).shape == (64, 64, 3)
    # once the box is reached the agent stands still: the last frame repeats, the one before differs
    last, held, moving = (read_frame(frames[i]) for i in (-1, -3, -4))
    np.testing.assert_array_equal(last, held)
    assert np.any(held != moving)
    # the dataset reader finds every episode, names the task after the target, knows the seeds
    episodes = find_episodes(tmp_path)
    assert len(episodes) == 4 and {e.task for e in episodes} == {"red box"}
    seeds = recorded_seeds(episodes)
    assert set(seeds) == {"one-room/agent", "hallway/agent"} and len(seeds["one-room/agent"]) == 2
    clip, text = VideoClipDataset(tmp_path, (64, 64), clips="window")[(0, 3)]
    assert clip.shape == (8, 64, 64, 3) and text == "red box"
    # a second run finds every episode complete and writes nothing
    stamp = frames[0].stat().st_mtime_ns
    assert collect_demonstrations(["one-room", "hallway"], 2, tmp_path, first_seed=7) == written
    assert frames[0].stat().st_mtime_ns == stamp


def test_unknown_task_names_the_valid_ones(tmp_path):
    with pytest.raises(SpecError, match="--tasks: unknown MiniWorld task 'hallwya'; did you mean 'hallway'"):
        collect_demonstrations(["hallwya"], 1, tmp_path)


def test_cli_collect_runs(tmp_path):
    from avdc_cli.main import main

    assert main(["collect", "miniworld", "--tasks", "hallway", "--episodes", "1", "--size", "32",
                 "--out", str(tmp_path)]) == 0
    (episode,) = find_episodes(tmp_path)
    assert read_frame(episode.frames[0]).shape == (32, 32, 3)
