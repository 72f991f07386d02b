"""Files a person looks at: plan video, flow colour map, tracked points, trajectory JSON."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputDataError
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


def flow_to_rgb(flow: np.ndarray, max_px: float | None = None) -> np.ndarray:
    """Colour-code a flow field ``[H, W, 2]``: hue = direction, brightness = magnitude."""
    import cv2

    magnitude, angle = cv2.cartToPolar(flow[..., 0].astype(np.float32), flow[..., 1].astype(np.float32))
    scale = max_px or max(float(magnitude.max()), 1e-6)
    hsv = np.zeros((*flow.shape[:2], 3), dtype=np.uint8)
    hsv[..., 0] = (angle * 90 / np.pi).astype(np.uint8)
    hsv[..., 1] = 255
    hsv[..., 2] = np.clip(magnitude / scale * 255, 0, 255).astype(np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def draw_tracks(plan: Plan) -> np.ndarray:
    """Frames side by side with the valid tracked points drawn (green) and the mask outline."""
    import cv2

    panels = []
    for t, frame in enumerate(plan.video.frames):
        panel = np.ascontiguousarray(frame.copy())
        if t == 0:
            contours, _ = cv2.findContours(plan.mask.pixels.astype(np.uint8), cv2.RETR_EXTERNAL,
                                           cv2.CHAIN_APPROX_SIMPLE)
            cv2.drawContours(panel, contours, -1, (255, 0, 0), 1)
        for u, v in plan.tracks.pixels[t][plan.tracks.valid[t]]:
            cv2.circle(panel, (int(round(u)), int(round(v))), 1, (0, 255, 0), -1)
        panels.append(panel)
    return np.concatenate(panels, axis=1)


def write_plan_artifacts(plan: Plan, out_dir: Path) -> dict[str, str]:
    """Write one plan's artifacts under ``out_dir``; returns ``{artifact: path}``."""
    import imageio.v3 as iio

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "video": out_dir / "plan.gif",
        "flow": out_dir / "flow.png",
        "tracks": out_dir / "tracks.png",
        "trajectory": out_dir / "trajectory.json",
    }
    write_video(paths["video"], plan.video.frames)
    iio.imwrite(paths["flow"], np.concatenate([flow_to_rgb(f) for f in plan.flow.forward], axis=1))
    iio.imwrite(paths["tracks"], draw_tracks(plan))
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
