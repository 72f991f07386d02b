"""``generator/video-file``: a video read from disk instead of imagined.

For planning from a recorded or separately generated video (a human demonstration, the output
of ``avdc generate``): the frames must start from the current observation. Frame 0 of the
returned video *is* the observation; the file's own first frame only has to match it.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from pydantic import Field

from avdc_core import ComponentConfig, InputDataError, MissingResourceError, Video, VideoGenerator, hookimpl

FRAME_SUFFIXES = (".png", ".jpg", ".jpeg")


def read_frames(path: Path) -> np.ndarray:
    """``[T, H, W, 3]`` uint8 from a folder of numbered images (numeric order) or a GIF/MP4."""
    import imageio.v3 as iio

    if path.is_dir():
        files = sorted((p for p in path.iterdir() if p.suffix.lower() in FRAME_SUFFIXES),
                       key=lambda p: [int(s) if s.isdigit() else s for s in re.split(r"(\d+)", p.stem)])
        if not files:
            raise InputDataError(f"video folder {str(path)!r} has no {'/'.join(FRAME_SUFFIXES)} frames")
        frames = [iio.imread(p) for p in files]
    elif path.is_file():
        frames = list(iio.imiter(path))
    else:
        raise MissingResourceError(f"video {str(path)!r} does not exist (a folder of frames or a GIF/MP4)")
    shapes = {frame.shape[:2] for frame in frames}
    if len(shapes) != 1:
        raise InputDataError(f"video {str(path)!r} mixes frame sizes {sorted(shapes)}")
    return np.stack([np.ascontiguousarray(frame[..., :3]) for frame in frames]).astype(np.uint8)


class VideoFileGenerator(VideoGenerator):
    """A video from disk (frames folder, GIF or MP4) whose first frame matches the observation."""

    name = "video-file"

    class Config(ComponentConfig):
        path: str = Field(description="folder of numbered frames, or a GIF/MP4 file")
        max_first_frame_diff: float = Field(
            default=10.0, ge=0, description="largest mean |difference| (0-255) between the file's "
            "first frame and the observation")

    @classmethod
    def check_files(cls, config, context):
        path = context.resolve(config.path)
        if not path.exists():
            raise MissingResourceError(f"generator.params.path: video {str(path)!r} does not exist "
                                       "(a folder of frames or a GIF/MP4)")

    def generate(self, observation, text, seed=0):
        import cv2

        path = self.context.resolve(self.config.path)
        frames = read_frames(path)
        height, width = observation.rgb.shape[:2]
        if frames.shape[1:3] != (height, width):
            frames = np.stack([cv2.resize(f, (width, height), interpolation=cv2.INTER_AREA) for f in frames])
        difference = float(np.abs(frames[0].astype(np.float64) - observation.rgb).mean())
        if difference > self.config.max_first_frame_diff:
            raise InputDataError(
                f"generator.params.path: the first frame of {str(path)!r} differs from the observation "
                f"by {difference:.1f} grey levels on average (max_first_frame_diff = "
                f"{self.config.max_first_frame_diff}); the video must start from the current view")
        frames[0] = observation.rgb
        return Video(frames)


@hookimpl
def avdc_components():
    return [VideoFileGenerator]
