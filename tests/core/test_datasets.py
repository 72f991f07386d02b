"""The AVDC dataset layout reader, on the real published sample and on broken copies of it."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from avdc_core import InputDataError, MissingResourceError
from avdc_core.datasets import VideoClipDataset, clip_indices, find_episodes, read_frame, task_text

from paths import DATASET_SAMPLE

SAMPLE = DATASET_SAMPLE
MW_EPISODE = SAMPLE / "metaworld/metaworld_dataset/assembly/corner/000"


def _copy_episode(tmp_path: Path, frames: int = 10) -> Path:
    """A small Meta-World-layout dataset with one 10-frame episode copied from the sample."""
    episode = tmp_path / "metaworld_dataset/door-open/corner/000"
    episode.mkdir(parents=True)
    for i in range(frames):
        shutil.copy(MW_EPISODE / f"{i:02d}.png", episode / f"{i}.png")
    return episode


def test_reads_both_layouts_of_the_published_sample():
    episodes = find_episodes(SAMPLE)
    by_task = {e.task: e for e in episodes}
    assert sorted(by_task) == ["assembly", "bread"]
    assert len(by_task["assembly"].frames) == 133 and len(by_task["bread"].frames) == 23


def test_frames_are_sorted_numerically_not_lexically():
    frames = find_episodes(SAMPLE / "metaworld")[0].frames
    assert [int(p.stem) for p in frames] == list(range(133))
    assert frames[100].name == "100.png" and frames[-1].name == "132.png"


def test_clip_takes_first_last_and_evenly_spaced_frames():
    np.testing.assert_array_equal(clip_indices(133, 8), [0, 19, 38, 57, 75, 94, 113, 132])
    np.testing.assert_array_equal(clip_indices(3, 8), [0, 0, 1, 1, 1, 1, 2, 2])
    with pytest.raises(InputDataError, match="at least 2"):
        clip_indices(1, 8)


def test_task_text_comes_from_the_folder_name():
    assert task_text("door-open") == "door open"
    assert task_text("button-press-topdown") == "button press topdown"
    assert task_text("AlarmClock") == "alarm clock"
    assert task_text("Bread") == "bread"


def test_clip_is_resized_and_starts_with_the_first_frame():
    import cv2

    dataset = VideoClipDataset(SAMPLE / "metaworld", size=(60, 80))
    frames, task = dataset[0]
    assert frames.shape == (8, 60, 80, 3) and frames.dtype == np.uint8 and task == "assembly"
    expected = cv2.resize(read_frame(MW_EPISODE / "00.png"), (80, 60), interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(frames[0], expected)
    last = cv2.resize(read_frame(MW_EPISODE / "132.png"), (80, 60), interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(frames[-1], last)


def test_random_crop_is_repeatable_per_seed_and_off_without_one():
    dataset = VideoClipDataset(SAMPLE / "thor", size=(32, 32), random_crop_scale=0.6, cache=True)
    plain, _ = dataset[0]
    a, _ = dataset[(0, 1)]
    again, _ = dataset[(0, 1)]
    other, _ = dataset[(0, 2)]
    np.testing.assert_array_equal(a, again)
    assert np.abs(a.astype(int) - other).mean() > 1.0
    assert np.abs(a.astype(int) - plain).mean() > 1.0
    np.testing.assert_array_equal(plain, VideoClipDataset(SAMPLE / "thor", size=(32, 32))[0][0])


def test_window_clips_are_consecutive_frames_from_a_seeded_start():
    dataset = VideoClipDataset(SAMPLE / "thor", size=(64, 64), clips="window", cache=True)
    episode = dataset.episodes[0]  # 23 frames
    frames = np.stack([read_frame(p) for p in episode.frames])
    np.testing.assert_array_equal(dataset[0][0], frames[:8])  # no seed: the episode's start
    starts = set()
    for seed in range(20):
        clip, _ = dataset[(0, seed)]
        start = next(s for s in range(len(frames) - 1) if np.array_equal(clip[0], frames[s]))
        # consecutive frames; past the end the last one repeats (the agent stands still)
        np.testing.assert_array_equal(clip, frames[np.minimum(np.arange(start, start + 8), len(frames) - 1)])
        starts.add(start)
    assert len(starts) > 5
    with pytest.raises(InputDataError, match="clips is 'random'; expected 'span' or 'window'"):
        VideoClipDataset(SAMPLE / "thor", size=(64, 64), clips="random")


def test_horizontal_flip_mirrors_about_half_the_seeded_draws_and_never_an_unseeded_one():
    plain = VideoClipDataset(SAMPLE / "thor", size=(64, 64), clips="window", cache=True)
    flipping = VideoClipDataset(SAMPLE / "thor", size=(64, 64), clips="window", cache=True,
                                horizontal_flip=True)
    np.testing.assert_array_equal(flipping[0][0], plain[0][0])
    mirrored = 0
    for seed in range(40):
        clip, straight = flipping[(0, seed)][0], plain[(0, seed)][0]  # same seed: same window
        if np.array_equal(clip, straight[:, :, ::-1]):
            mirrored += 1
        else:
            np.testing.assert_array_equal(clip, straight)
    assert 10 <= mirrored <= 30


def test_root_without_clips_is_a_clear_error(tmp_path):
    (tmp_path / "metaworld_dataset").mkdir()
    with pytest.raises(InputDataError, match="no clips found.*metaworld_dataset/<task>"):
        VideoClipDataset(tmp_path, size=(32, 32))


def test_missing_root_is_a_missing_resource(tmp_path):
    with pytest.raises(MissingResourceError, match="not a folder"):
        find_episodes(tmp_path / "nowhere")


def test_empty_episode_folder_is_named(tmp_path):
    empty = tmp_path / "metaworld_dataset/door-open/corner/007"
    empty.mkdir(parents=True)
    with pytest.raises(InputDataError, match="007.*holds 0 frame"):
        find_episodes(tmp_path)


def test_misnamed_frames_are_named(tmp_path):
    episode = _copy_episode(tmp_path)
    shutil.copy(episode / "0.png", episode / "first.png")
    with pytest.raises(InputDataError, match="first.png"):
        find_episodes(tmp_path)


def test_corrupt_frame_is_named(tmp_path):
    episode = _copy_episode(tmp_path)
    (episode / "9.png").write_bytes(b"not a png at all")
    dataset = VideoClipDataset(tmp_path, size=(32, 32))
    with pytest.raises(InputDataError, match="9.png.*not a readable image"):
        dataset[0]


def test_thor_episode_without_frames_folder_is_named(tmp_path):
    (tmp_path / "thor_dataset/Apple/000").mkdir(parents=True)
    with pytest.raises(InputDataError, match="no 'frames' folder"):
        find_episodes(tmp_path)


def test_pickles_in_a_dataset_are_never_loaded(tmp_path):
    episode = _copy_episode(tmp_path)
    marker = tmp_path / "unpickled"

    class Trap:
        def __reduce__(self):
            return (Path.touch, (marker,))

    (episode.parent / "actions.pkl").write_bytes(pickle.dumps(Trap()))
    (episode / "actions.pkl").write_bytes(pickle.dumps(Trap()))
    frames, task = VideoClipDataset(tmp_path, size=(24, 32))[0]
    assert frames.shape == (8, 24, 32, 3) and task == "door open"
    assert not marker.exists()
