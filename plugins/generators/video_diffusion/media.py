"""Write videos for people to look at: GIF (imageio) or MP4 (OpenCV's bundled FFmpeg)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from avdc_core import InputDataError

VIDEO_SUFFIXES = (".gif", ".mp4")


def write_video(path: str | Path, frames: np.ndarray, fps: float = 4.0) -> Path:
    """Write ``frames [T, H, W, 3]`` uint8 RGB as a looping GIF or an MP4, by ``path``'s suffix."""
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
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    if not writer.isOpened():
        raise InputDataError(f"OpenCV cannot write MP4 to {str(path)!r} (no FFmpeg backend); write a .gif")
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def write_sample_gif(path: Path, truth: np.ndarray, sample: np.ndarray) -> None:
    """A GIF whose top row plays the real clip and bottom row the sample (upscaled to >= 128 px)."""
    grid = np.concatenate([truth, sample], axis=1)
    scale = max(1, 128 // truth.shape[1])
    write_video(path, grid.repeat(scale, axis=1).repeat(scale, axis=2))
