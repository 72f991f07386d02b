"""Mask post-processing shared by every segmenter: make a raw mask fit for tracking.

Tracked points should sit on one object, away from its silhouette: a point on the border may
take the depth of the background behind it (a depth discontinuity) and its flow is the least
reliable. Two optional steps, in this order, fix that:

1. **erode** the mask by ``erode_px`` pixels (a disk of that radius; the image border does not
   erode the mask, it is no depth discontinuity);
2. keep the **largest connected component** (8-connected), dropping specks and distractors —
   after erosion, so that a thin bridge to a neighbour is cut before the choice.

API (stable; segmenters embed the config as a field ``postprocess``)::

    from avdc_core.masks import MaskPostprocess, postprocess_mask

    class Config(ComponentConfig):
        postprocess: MaskPostprocess = MaskPostprocess(largest_component=True, erode_px=1)

    def segment(self, observation, target):
        raw = ...                                   # [H, W] bool (or any array; non-zero = in)
        return postprocess_mask(raw, self.config.postprocess,
                                segmenter=f"{self.kind}/{self.name}", target=target.name)

:func:`postprocess_mask` returns a :class:`~avdc_core.types.Mask` whose ``source`` is the
segmenter, logs the pixel count before and after at INFO level (logger ``avdc_core.masks``), and
raises :class:`~avdc_core.errors.InputDataError` — naming the segmenter, the target and both
counts — when nothing is left. :func:`draw_overlay` draws a mask over its image for eyes.
"""

from __future__ import annotations

import logging

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from .errors import InputDataError
from .types import Mask

logger = logging.getLogger(__name__)


class MaskPostprocess(BaseModel):
    """How a raw mask is cleaned up before its pixels are tracked (a segmenter's ``postprocess``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    largest_component: bool = Field(
        default=False, description="keep only the largest 8-connected component (after erosion)")
    erode_px: int = Field(
        default=0, ge=0, le=64,
        description="erode the mask border by this many pixels (disk radius); 0 = off")

    def describe(self) -> str:
        """The active steps in words, for messages."""
        steps = [f"eroded {self.erode_px} px"] if self.erode_px else []
        steps += ["largest component kept"] if self.largest_component else []
        return ", ".join(steps) or "no post-processing"


def erode(pixels: np.ndarray, radius_px: int) -> np.ndarray:
    """``pixels [H, W]`` bool eroded by a disk of ``radius_px``; the image border does not erode."""
    import cv2

    if radius_px == 0:
        return pixels.copy()
    size = 2 * radius_px + 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    eroded = cv2.erode(pixels.astype(np.uint8), kernel, borderType=cv2.BORDER_CONSTANT,
                       borderValue=1)
    return eroded.astype(bool)


def largest_component(pixels: np.ndarray) -> np.ndarray:
    """The largest 8-connected component of ``pixels [H, W]`` bool (all False if empty).

    Ties go to the component whose first pixel comes first in row-major order.
    """
    import cv2

    count, labels, stats, _ = cv2.connectedComponentsWithStats(pixels.astype(np.uint8), connectivity=8)
    if count <= 1:
        return np.zeros_like(pixels, dtype=bool)
    biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return labels == biggest


def postprocess_mask(raw: np.ndarray, settings: MaskPostprocess, *, segmenter: str,
                     target: str) -> Mask:
    """Apply ``settings`` to ``raw [H, W]`` (non-zero = in the mask) and return the final mask.

    Raises :class:`InputDataError` if the result is empty (or ``raw`` is not 2-D).
    """
    raw = np.asarray(raw)
    if raw.ndim != 2:
        raise InputDataError(f"{segmenter}: the raw mask for target {target!r} has shape "
                             f"{raw.shape}; expected (H, W)")
    pixels = raw != 0
    before = int(pixels.sum())
    if settings.erode_px:
        pixels = erode(pixels, settings.erode_px)
    if settings.largest_component:
        pixels = largest_component(pixels)
    after = int(pixels.sum())
    logger.info("%s: target %r: %d px raw, %d px after post-processing (%s)",
                segmenter, target, before, after, settings.describe())
    if after == 0:
        hint = ("lower postprocess.erode_px" if before and settings.erode_px
                else "check the segmenter's input (prompt, file, threshold)")
        raise InputDataError(
            f"{segmenter}: the mask for target {target!r} is empty after post-processing "
            f"({before} px before, {after} after; {settings.describe()}); {hint}")
    return Mask(pixels, source=segmenter)


def draw_overlay(rgb: np.ndarray, pixels: np.ndarray, color: tuple[int, int, int] = (255, 220, 0),
                 opacity: float = 0.45) -> np.ndarray:
    """``rgb [H, W, 3]`` uint8 with ``pixels [H, W]`` tinted in ``color`` and outlined, for eyes.

    The default yellow stands out against the red arm and grey table of Meta-World scenes.
    """
    import cv2

    out = np.array(rgb, dtype=np.uint8, copy=True)
    tint = np.asarray(color, dtype=np.float64)
    out[pixels] = np.round((1 - opacity) * out[pixels] + opacity * tint).astype(np.uint8)
    contours, _ = cv2.findContours(pixels.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(out, contours, -1, color, 1)
    return out
