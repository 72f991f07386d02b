"""``generator/video-file``: a video read from disk instead of imagined.

For planning from a recorded or separately generated video (a human demonstration, the output
of ``avdc generate``): the frames must start from the current observation. Frame 0 of the
returned video *is* the observation; the file's own first frame only has to match it.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from avdc_core import ComponentConfig, InputDataError, MissingResourceError, Video, VideoGenerator, hookimpl
from avdc_core.readers import read_video


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
        frames = read_video(path)
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
