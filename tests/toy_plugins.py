"""A tiny plugin module registered by hand in hermetic registry tests.

Its components are honest and minimal: a flow that is a known constant shift, and a segmenter
that masks the whole image. They exist to exercise discovery and spec validation, not the method.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from avdc_core import (
    ComponentConfig,
    Flow,
    FlowEstimator,
    Mask,
    Segmenter,
    Video,
    VideoGenerator,
    hookimpl,
)


class ConstantFlow(FlowEstimator):
    """Every pixel moves by the configured shift (pixels) between frames."""

    name = "constant"

    class Config(ComponentConfig):
        dx: float = 0.0
        dy: float = 0.0
        preset: Literal["fast", "medium"] = "fast"

    def estimate(self, video, backward=True):
        steps, height, width = video.frames.shape[0] - 1, *video.frames.shape[1:3]
        forward = np.broadcast_to(np.array([self.config.dx, self.config.dy]),
                                  (steps, height, width, 2)).copy()
        return Flow(forward, -forward if backward else None)


class EverythingSegmenter(Segmenter):
    """Masks every pixel."""

    name = "everything"

    def segment(self, observation, target):
        return Mask(np.ones(observation.depth.shape, dtype=bool), self.name)


class StillGenerator(VideoGenerator):
    """Imagines nothing happening: the observation repeated."""

    name = "still"

    class Config(ComponentConfig):
        frames: int = 3

    def generate(self, observation, text, seed=0):
        return Video(np.repeat(observation.rgb[None], self.config.frames, axis=0))


@hookimpl
def avdc_components():
    return [ConstantFlow, EverythingSegmenter, StillGenerator]
