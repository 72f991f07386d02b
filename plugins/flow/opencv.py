"""OpenCV optical flow: ``flow/opencv-dis`` (the offline default) and ``flow/opencv-farneback``.

Both convert frames to grayscale and compute the flow of every consecutive pair, forward and,
when asked, backward (frame ``t + 1`` → ``t``, for the tracker's forward-backward check).
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Literal

import numpy as np
from pydantic import Field

from avdc_core import BuildContext, ComponentConfig, Flow, FlowEstimator, Video, hookimpl

DIS_FINE = {"finest_scale": 0, "gradient_descent_iterations": 100, "variational_refinement_iterations": 10}
"""The ``fine`` preset: MEDIUM refined down to full resolution with more iterations (on Meta-World it
helps the median error on small fast objects, not the 90th percentile)."""


class _PairwiseFlow(FlowEstimator):
    """Runs ``self._pair(gray_a, gray_b)`` over consecutive grayscale frames."""

    def estimate(self, video: Video, backward: bool = True) -> Flow:
        import cv2

        gray = [cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) for frame in video.frames]
        forward = np.stack([self._pair(a, b) for a, b in zip(gray[:-1], gray[1:], strict=True)])
        back = np.stack([self._pair(b, a) for a, b in zip(gray[:-1], gray[1:], strict=True)]) if backward else None
        return Flow(forward, back)

    @abstractmethod
    def _pair(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        """Flow ``[H, W, 2]`` float32 from grayscale ``first`` to ``second``."""


class DisConfig(ComponentConfig):
    """Parameters of :class:`OpenCvDis`."""

    preset: Literal["ultrafast", "fast", "medium", "fine"] = Field(
        default="medium", description="OpenCV DIS preset; 'fine' = finest scale 0, 100 GD + 10 VR iterations")
    upsample: int = Field(default=1, ge=1, le=4, description="run DIS on frames enlarged this many times: "
                          "small objects then cover more of its 8x8 patches (cost grows with its square)")


class OpenCvDis(_PairwiseFlow):
    """OpenCV DIS optical flow (presets ultrafast / fast / medium / fine)."""

    name = "opencv-dis"
    Config = DisConfig

    def __init__(self, config: DisConfig, context: BuildContext) -> None:
        super().__init__(config, context)
        import cv2

        presets = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST, "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
                   "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM, "fine": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}
        self._dis = cv2.DISOpticalFlow_create(presets[config.preset])
        if config.preset == "fine":
            self._dis.setFinestScale(DIS_FINE["finest_scale"])
            self._dis.setGradientDescentIterations(DIS_FINE["gradient_descent_iterations"])
            self._dis.setVariationalRefinementIterations(DIS_FINE["variational_refinement_iterations"])

    def _pair(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        import cv2

        scale = self.config.upsample
        if scale == 1:
            return self._dis.calc(first, second, None).astype(np.float32)
        height, width = first.shape
        first, second = (cv2.resize(image, (width * scale, height * scale), interpolation=cv2.INTER_CUBIC)
                         for image in (first, second))
        flow = self._dis.calc(first, second, None)
        return (cv2.resize(flow, (width, height), interpolation=cv2.INTER_AREA) / scale).astype(np.float32)


class FarnebackConfig(ComponentConfig):
    """Parameters of :class:`OpenCvFarneback` (OpenCV's ``calcOpticalFlowFarneback``)."""

    pyr_scale: float = Field(default=0.5, gt=0, lt=1)
    levels: int = Field(default=4, ge=1)
    winsize: int = Field(default=15, ge=3)
    iterations: int = Field(default=3, ge=1)
    poly_n: Literal[5, 7] = 5
    poly_sigma: float = Field(default=1.2, gt=0)


class OpenCvFarneback(_PairwiseFlow):
    """OpenCV Farneback dense optical flow."""

    name = "opencv-farneback"
    Config = FarnebackConfig

    def _pair(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        import cv2

        c = self.config
        flow = cv2.calcOpticalFlowFarneback(first, second, None, c.pyr_scale, c.levels, c.winsize,
                                            c.iterations, c.poly_n, c.poly_sigma, 0)
        return flow.astype(np.float32)


@hookimpl
def avdc_components():
    return [OpenCvDis, OpenCvFarneback]
