"""Read actionless videos stored in the AVDC dataset layout (the paper's published format).

Two layouts are recognised anywhere under a root folder:

* ``metaworld_dataset/<task>/<camera>/<episode>/<frame>.png`` (Meta-World, 320x240 RGB);
* ``thor_dataset/<Target>/<episode>/frames/<frame>.png`` (iTHOR navigation, 64x64 RGB).

Frames are named by their integer index (``00.png`` … ``99.png``, ``100.png`` …) and sorted
numerically. A training clip of ``clip_frames`` frames is drawn from an episode in one of two ways:

* ``span`` — the first, the last and evenly spaced frames between: one clip per episode, the
  whole task in one video (a Meta-World plan shows the whole task);
* ``window`` — ``clip_frames`` consecutive frames from a random start: what a navigation plan
  shows (one discrete action per frame pair, replanned every few actions), so that a model sees
  every part of an episode as a plan's first frame, not only its start.

The task text comes from the folder name: ``door-open`` → ``"door open"``, ``AlarmClock`` →
``"alarm clock"``. Nothing is ever unpickled: only PNG/JPG frames are read. (``avdc collect
metaworld`` writes the Meta-World layout, ``avdc collect miniworld`` the iTHOR one.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from .errors import InputDataError, MissingResourceError
from .readers import FRAME_SUFFIXES

LAYOUTS = ("metaworld_dataset", "thor_dataset")

ClipSampling = Literal["span", "window"]


@dataclass(frozen=True)
class Episode:
    """One recorded episode: its frame files in time order, its task text and its folder (where
    an ``info.json`` record may lie)."""

    frames: tuple[Path, ...]
    task: str
    folder: Path


def task_text(folder_name: str) -> str:
    """Task text from a task/target folder name: ``door-open`` → ``door open``,
    ``AlarmClock`` → ``alarm clock``."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", folder_name)
    return " ".join(re.split(r"[-_\s]+", spaced)).strip().lower()


def clip_indices(num_frames: int, clip_frames: int) -> np.ndarray:
    """Indices of the first, the last and ``clip_frames - 2`` evenly spaced frames between."""
    if num_frames < 2:
        raise InputDataError(f"an episode needs at least 2 frames for a clip, got {num_frames}")
    return np.rint(np.linspace(0, num_frames - 1, clip_frames)).astype(int)


def window_indices(num_frames: int, clip_frames: int, start: int) -> np.ndarray:
    """``clip_frames`` consecutive indices from ``start``; past the episode's end the last frame
    repeats (the agent stands still once the task is done)."""
    if num_frames < 2:
        raise InputDataError(f"an episode needs at least 2 frames for a clip, got {num_frames}")
    return np.minimum(np.arange(start, start + clip_frames), num_frames - 1)


def _frame_files(folder: Path) -> tuple[Path, ...]:
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in FRAME_SUFFIXES]
    bad = [p.name for p in files if not p.stem.isdigit()]
    if bad:
        raise InputDataError(f"episode folder {str(folder)!r} has frames not named by an integer "
                             f"index: {sorted(bad)[:5]}; expected names like 00.png, 01.png, ..., 100.png")
    if len(files) < 2:
        raise InputDataError(f"episode folder {str(folder)!r} holds {len(files)} frame image(s); "
                             "an episode needs at least 2 (PNG/JPG named 00.png, 01.png, ...)")
    return tuple(sorted(files, key=lambda p: int(p.stem)))


def _subdirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def find_episodes(root: str | Path) -> list[Episode]:
    """Every episode under ``root`` (which may be, or contain, ``metaworld_dataset`` and/or
    ``thor_dataset`` folders); raises if there is none or a folder is empty or misnamed."""
    root = Path(root)
    if not root.is_dir():
        raise MissingResourceError(f"dataset root {str(root)!r} is not a folder")
    tops = [root] if root.name in LAYOUTS else sorted(
        p for layout in LAYOUTS for p in [root / layout, *root.glob(f"*/{layout}")] if p.is_dir())
    episodes: list[Episode] = []
    for top in tops:
        if top.name == "metaworld_dataset":
            folders = [(task, ep) for task in _subdirs(top) for camera in _subdirs(task)
                       for ep in _subdirs(camera)]
        else:
            folders = [(target, ep) for target in _subdirs(top) for ep in _subdirs(target)]
        for task_folder, episode in folders:
            frames = episode if top.name == "metaworld_dataset" else episode / "frames"
            if not frames.is_dir():
                raise InputDataError(f"iTHOR episode {str(episode)!r} has no 'frames' folder; "
                                     "expected thor_dataset/<Target>/<episode>/frames/<frame>.png")
            episodes.append(Episode(_frame_files(frames), task_text(task_folder.name), episode))
    if not episodes:
        raise InputDataError(
            f"no clips found under {str(root)!r}; expected metaworld_dataset/<task>/<camera>/<episode>/"
            "<frame>.png or thor_dataset/<Target>/<episode>/frames/<frame>.png")
    return episodes


def recorded_seeds(episodes: list[Episode]) -> dict[str, list[int]]:
    """The simulator seeds of the episodes that record one (an ``info.json`` with ``task``,
    ``camera`` and ``seed``, as ``avdc collect`` writes), sorted, by ``task/camera``."""
    import json

    seeds: dict[str, set[int]] = {}
    for episode in episodes:
        path = episode.folder / "info.json"
        if not path.is_file():
            continue
        try:
            info = json.loads(path.read_text())
            key, seed = f"{info['task']}/{info['camera']}", int(info["seed"])
        except (ValueError, KeyError, TypeError) as error:
            raise InputDataError(f"{str(path)!r} is not a valid episode record (expected JSON with "
                                 f"task, camera and an integer seed): {error}") from error
        seeds.setdefault(key, set()).add(seed)
    return {key: sorted(values) for key, values in sorted(seeds.items())}


def read_frame(path: Path) -> np.ndarray:
    """An RGB uint8 ``[H, W, 3]`` image; raises naming the file if it cannot be decoded."""
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise InputDataError(f"frame {str(path)!r} is not a readable image (corrupt or not PNG/JPG)")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def write_frame(path: Path, image: np.ndarray) -> None:
    """Write an RGB uint8 ``[H, W, 3]`` frame, or a one-channel (e.g. 16-bit depth) image, as a
    PNG; creates the folder; raises naming the file if it cannot be written."""
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    data = cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if image.ndim == 3 else image
    if not cv2.imwrite(str(path), data):
        raise InputDataError(f"could not write {str(path)!r}")


def resize_rgb(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize an RGB image (area filter when shrinking, linear when enlarging)."""
    import cv2

    if image.shape[:2] == (height, width):
        return image
    shrink = image.shape[0] > height or image.shape[1] > width
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


class VideoClipDataset:
    """One clip per episode: ``(frames [clip_frames, H, W, 3] uint8, task text)``, drawn as
    ``clips`` says (``span`` or ``window``, see the module's docstring).

    Frames are resized (stretched) to ``size = (height, width)``. With ``random_crop_scale < 1``
    each draw first crops the same random box (each side ``random_crop_scale``…1 of the frame) from
    every frame — augmentation for training; pass ``seed`` to :meth:`clip` to make it repeatable.
    With ``horizontal_flip`` each seeded draw mirrors the whole clip left-right with chance 1/2:
    valid where a mirrored video is as plausible as the original (a camera walking through a room,
    whose left and right turns swap), not for a one-handed robot arm.
    With ``window`` clips the start is drawn from the same seed (no seed: the episode's start).
    ``cache=True`` keeps the decoded frames in memory (small datasets).
    A map-style dataset: ``dataset[i]`` or ``dataset[(i, seed)]`` works with a torch DataLoader.
    """

    def __init__(self, root: str | Path, size: tuple[int, int], clip_frames: int = 8,
                 random_crop_scale: float = 1.0, cache: bool = False, clips: ClipSampling = "span",
                 horizontal_flip: bool = False) -> None:
        if clips not in ("span", "window"):
            raise InputDataError(f"clips is {clips!r}; expected 'span' or 'window'")
        if not 0 < random_crop_scale <= 1:
            raise InputDataError(f"random_crop_scale is {random_crop_scale}; expected 0 < scale <= 1")
        if clip_frames < 2:
            raise InputDataError(f"clip_frames is {clip_frames}; expected at least 2")
        self.episodes = find_episodes(root)
        self.size = (int(size[0]), int(size[1]))
        self.clip_frames = clip_frames
        self.random_crop_scale = random_crop_scale
        self.clips = clips
        self.horizontal_flip = horizontal_flip
        self._cache: dict[int, np.ndarray] | None = {} if cache else None

    def __len__(self) -> int:
        return len(self.episodes)

    @property
    def tasks(self) -> list[str]:
        """Distinct task texts, sorted."""
        return sorted({e.task for e in self.episodes})

    def _raw_frames(self, index: int) -> np.ndarray:
        """The frames a clip is drawn from: the span's picks, or every frame for windows."""
        if self._cache is not None and index in self._cache:
            return self._cache[index]
        episode = self.episodes[index]
        picked = (episode.frames if self.clips == "window" else
                  [episode.frames[i] for i in clip_indices(len(episode.frames), self.clip_frames)])
        frames = [read_frame(p) for p in picked]
        shapes = {f.shape for f in frames}
        if len(shapes) > 1:
            raise InputDataError(f"episode {str(episode.folder)!r} mixes frame sizes {sorted(shapes)}")
        stacked = np.stack(frames)
        if self._cache is not None:
            self._cache[index] = stacked
        return stacked

    def clip(self, index: int, seed: int | None = None) -> tuple[np.ndarray, str]:
        """Clip ``index``; ``seed`` draws the random crop and flip (neither when ``seed`` is None)."""
        frames = self._raw_frames(index)
        rng = np.random.default_rng(seed)
        if self.clips == "window":
            start = 0 if seed is None else int(rng.integers(0, len(frames) - 1))
            frames = frames[window_indices(len(frames), self.clip_frames, start)]
        if seed is not None and self.random_crop_scale < 1:
            height, width = frames.shape[1:3]
            scale = rng.uniform(self.random_crop_scale, 1.0)
            h, w = max(1, round(height * scale)), max(1, round(width * scale))
            top, left = rng.integers(0, height - h + 1), rng.integers(0, width - w + 1)
            frames = frames[:, top:top + h, left:left + w]
        if seed is not None and self.horizontal_flip and rng.random() < 0.5:
            frames = np.ascontiguousarray(frames[:, :, ::-1])
        resized = np.stack([resize_rgb(f, *self.size) for f in frames])
        return resized, self.episodes[index].task

    def __getitem__(self, key: int | tuple[int, int]) -> tuple[np.ndarray, str]:
        index, seed = key if isinstance(key, tuple) else (key, None)
        return self.clip(int(index), seed)
