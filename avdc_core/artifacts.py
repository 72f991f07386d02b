"""Files a person looks at: plan video, flow colour map, tracked points, trajectory JSON."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputDataError
from .plan_figures import flow_figure, tracks_figure, trajectory_figure
from .types import Plan


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (a crash never leaves half a file): through a temporary file of
    this writer's own (process and thread), renamed over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        tmp.write_text(json.dumps(data, indent=2))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


VIDEO_SUFFIXES = (".gif", ".mp4", ".webm")
FOURCC = {".mp4": "mp4v", ".webm": "VP90"}
"""OpenCV's codec per suffix: MPEG-4 part 2 in MP4 (players, not browsers) and VP9 in WebM (what
browsers play, so ``avdc eval --video`` writes WebM for ``avdc report``)."""


def write_video(path: str | Path, frames: np.ndarray, fps: float = 4.0) -> Path:
    """Write ``frames [T, H, W, 3]`` uint8 RGB as a looping GIF, an MP4 or a WebM, by ``path``'s suffix."""
    path = Path(path)
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        raise InputDataError(f"output {str(path)!r} has suffix {path.suffix!r}; expected one of {VIDEO_SUFFIXES}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".gif":
        import imageio.v3 as iio

        iio.imwrite(path, frames, duration=1000 / fps, loop=0)
        return path
    import cv2

    height, width = frames.shape[1:3]
    suffix = path.suffix.lower()
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*FOURCC[suffix]), fps, (width, height))
    if not writer.isOpened():
        raise InputDataError(f"OpenCV cannot write {suffix} to {str(path)!r} (no FFmpeg backend with "
                             f"{FOURCC[suffix]}); write a .gif")
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def write_plan_artifacts(plan: Plan, out_dir: Path, title: str = "plan") -> dict[str, str]:
    """Write one plan's artifacts under ``out_dir``: its video, figures of its flow, tracked
    points and recovered motion (headed by ``title``, e.g. task, camera, seed and plan) and the
    trajectory as JSON; returns ``{artifact: path}``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "video": out_dir / "plan.gif",
        "flow": out_dir / "flow.png",
        "tracks": out_dir / "tracks.png",
        "motion": out_dir / "trajectory.png",
        "trajectory": out_dir / "trajectory.json",
    }
    write_video(paths["video"], plan.video.frames)
    flow_figure(plan, paths["flow"], title)
    tracks_figure(plan, paths["tracks"], title)
    trajectory_figure(plan, paths["motion"], title)
    write_json(paths["trajectory"], {
        "task": plan.task,
        "camera": plan.observation.camera.to_json(),
        "num_points": int(len(plan.points_world)),
        "mask_pixels": plan.mask.count,
        "valid_tracks_per_frame": plan.tracks.valid.sum(axis=1).tolist(),
        "timings_s": plan.timings_s,
        **plan.trajectory.to_json(),
    })
    return {name: str(path) for name, path in paths.items()}
