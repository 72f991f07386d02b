"""Segmenters that need no model: a mask drawn by a person, moving pixels, the whole scene.

* ``segmenter/mask-file`` — a PNG per run, or a folder with one ``<target name>.png`` per target;
* ``segmenter/flow-motion`` — pixels whose flow between the plan's first two frames exceeds a
  threshold; the :class:`~avdc_core.planner.Planner` hands that flow over as the target hint
  ``FIRST_FLOW_HINT`` (callers of ``segment()`` outside a planner put it there themselves);
* ``segmenter/whole-scene`` — every pixel with valid depth, for navigation (the static scene is
  tracked and the camera's motion is the inverse of its apparent motion).

All three run their mask through :mod:`avdc_core.masks` (the ``postprocess`` parameter).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydantic import Field

from avdc_core import (
    BuildContext,
    ComponentConfig,
    InputDataError,
    Mask,
    MissingResourceError,
    Observation,
    Segmenter,
    SegmentTarget,
    hookimpl,
)
from avdc_core.masks import MaskPostprocess, postprocess_mask
from avdc_core.planner import FIRST_FLOW_HINT


class MaskFileSegmenter(Segmenter):
    """A mask drawn by a person: one PNG per run, or a folder of ``<target>.png`` files."""

    name = "mask-file"

    class Config(ComponentConfig):
        path: str = Field(description="a PNG mask (non-zero = object), or a folder holding "
                                      "one '<target name>.png' per target")
        postprocess: MaskPostprocess = MaskPostprocess()

    def __init__(self, config: Config, context: BuildContext) -> None:
        super().__init__(config, context)
        self.check_files(config, context)
        self.path = context.resolve(config.path)

    @classmethod
    def check_files(cls, config: Config, context: BuildContext) -> None:
        path = context.resolve(config.path)
        if not path.exists():
            raise MissingResourceError(
                f"segmenter/mask-file: params.path {str(path)!r} does not exist; give a PNG "
                "mask or a folder with one '<target name>.png' per target")

    def mask_file(self, target: SegmentTarget) -> Path:
        """The PNG used for ``target``: the configured file, or ``<folder>/<target.name>.png``."""
        if self.path.is_file():
            return self.path
        path = self.path / f"{target.name}.png"
        if not path.is_file():
            available = sorted(p.stem for p in self.path.glob("*.png"))
            raise MissingResourceError(
                f"segmenter/mask-file: no mask for target {target.name!r}: {str(path)!r} does not "
                f"exist; masks in that folder are for: {', '.join(available) or '(none)'}")
        return path

    def segment(self, observation: Observation, target: SegmentTarget) -> Mask:
        import cv2

        path = self.mask_file(target)
        image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if image is None:
            raise InputDataError(f"segmenter/mask-file: {str(path)!r} is not a readable image; "
                                 "expected a PNG mask (non-zero = object)")
        height, width = observation.depth.shape
        if image.shape[:2] != (height, width):
            raise InputDataError(
                f"segmenter/mask-file: mask {str(path)!r} is {image.shape[1]}x{image.shape[0]} "
                f"(WxH) but the observation is {width}x{height}")
        raw = image if image.ndim == 2 else image[..., :3].any(axis=2)  # colour masks: any channel
        return postprocess_mask(raw, self.config.postprocess, segmenter="segmenter/mask-file",
                                target=target.name)


class FlowMotionSegmenter(Segmenter):
    """Pixels that move: flow magnitude between the plan's first two frames above a threshold."""

    name = "flow-motion"

    class Config(ComponentConfig):
        threshold_px: float = Field(default=1.0, gt=0,
                                    description="a pixel moves if its first-pair flow is longer")
        postprocess: MaskPostprocess = MaskPostprocess(largest_component=True, erode_px=1)

    def segment(self, observation: Observation, target: SegmentTarget) -> Mask:
        flow = target.hints.get(FIRST_FLOW_HINT)
        if flow is None:
            raise InputDataError(
                f"segmenter/flow-motion needs the flow from frame 0 to frame 1 as "
                f"target.hints[{FIRST_FLOW_HINT!r}] ([H, W, 2] pixels); the Planner adds it — "
                "outside a plan pass it yourself (avdc segment: --next-image)")
        flow = np.asarray(flow)
        height, width = observation.depth.shape
        if flow.shape != (height, width, 2):
            raise InputDataError(
                f"segmenter/flow-motion: target.hints[{FIRST_FLOW_HINT!r}] has shape {flow.shape}; "
                f"expected ({height}, {width}, 2) for the {width}x{height} observation")
        moving = np.hypot(flow[..., 0], flow[..., 1]) > self.config.threshold_px
        return postprocess_mask(moving, self.config.postprocess, segmenter="segmenter/flow-motion",
                                target=target.name)


class WholeSceneSegmenter(Segmenter):
    """Every pixel with valid depth — the static scene whose motion gives the camera's (navigation)."""

    name = "whole-scene"

    class Config(ComponentConfig):
        max_depth_m: float | None = Field(
            default=None, gt=0, description="drop pixels farther than this (e.g. a simulator's "
                                            "far plane); None keeps every valid depth")
        postprocess: MaskPostprocess = MaskPostprocess()

    def segment(self, observation: Observation, target: SegmentTarget) -> Mask:
        pixels = observation.valid_depth
        if self.config.max_depth_m is not None:
            pixels &= observation.depth <= self.config.max_depth_m
        return postprocess_mask(pixels, self.config.postprocess, segmenter="segmenter/whole-scene",
                                target=target.name)


@hookimpl
def avdc_components():
    return [MaskFileSegmenter, FlowMotionSegmenter, WholeSceneSegmenter]
