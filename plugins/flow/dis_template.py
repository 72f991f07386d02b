"""``flow/dis-template``: fine DIS flow, corrected on the target object by masked template matching.

DIS (like any coarse-to-fine variational flow) loses small, fast objects — a 6-25 px ball or
block moving ~20 px between frames — and its tracks settle on the static background. Once the
planner knows the object's mask (:meth:`refine`, called by ``avdc_core.planner`` after the
segmenter), this estimator follows the object from frame to frame:

1. the object's RGB pixels at frame ``t`` (the mask) are matched in frame ``t + 1`` within
   ``search_px`` by masked squared difference (``cv2.matchTemplate``) plus a small penalty on
   the displacement (``motion_penalty`` per px², per pixel), refined to sub-pixel precision
   with a parabola through the neighbours of the minimum;
2. the winner per frame pair is whichever of DIS (mean over the mask of the photometric error
   of its warp) and the template match (the match's mean error) explains frame ``t + 1`` better;
   where the template wins, the flow over the (slightly dilated) mask is its displacement,
   forward and backward (so the tracker's forward-backward check accepts it);
3. the mask is carried to frame ``t + 1`` by the chosen motion.

Without a mask (:meth:`estimate`) it is plain fine DIS. Limits (measured on Meta-World): one
image translation per frame pair for the whole object (rotation within a pair is left to DIS),
and the match can win wrongly while the gripper covers the object.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from avdc_core import BuildContext, ComponentConfig, Flow, FlowEstimator, Video, hookimpl
from avdc_core.types import Mask

from .opencv import DisConfig, OpenCvDis


class TemplateConfig(ComponentConfig):
    """Parameters of :class:`DisTemplateFlow`."""

    dis: DisConfig = DisConfig(preset="fine")
    search_px: int = Field(default=48, ge=1, description="search radius of the template (pixels)")
    motion_penalty: float = Field(default=0.5, ge=0, description="added squared difference per "
                                  "pixel of the template and per px² of displacement")
    win_ratio: float = Field(default=0.7, gt=0, description="the template wins when its error is "
                             "below this times DIS's")
    dilate_px: int = Field(default=2, ge=0, description="the replaced flow covers the mask grown by this")
    min_pixels: int = Field(default=9, ge=1, description="smaller masks keep the DIS flow")
    max_pixels: int = Field(default=600, ge=1, description="larger objects keep the DIS flow: DIS "
                            "follows them, and one translation cannot describe a large object's motion")


class DisThenObjectFlow(FlowEstimator):
    """DIS over the whole video (``config.dis``); a subclass corrects the object's flow in
    ``refine`` once the planner knows its mask (:class:`avdc_core.planner.MaskRefinedFlow`)."""

    def __init__(self, config: ComponentConfig, context: BuildContext) -> None:
        super().__init__(config, context)
        self._dis = OpenCvDis(config.dis, context)

    def estimate(self, video: Video, backward: bool = True) -> Flow:
        return self._dis.estimate(video, backward)


class DisTemplateFlow(DisThenObjectFlow):
    """Fine DIS flow, replaced on the target object by masked template matching where that
    explains the next frame better."""

    name = "dis-template"
    Config = TemplateConfig

    def refine(self, video: Video, flow: Flow, mask: Mask) -> Flow:
        """``flow`` (this estimator's DIS flow of ``video``) with the object of ``mask`` (frame 0)
        followed by template matching where that wins; a new :class:`Flow`."""
        import cv2

        forward = flow.forward.copy()
        back = None if flow.backward is None else flow.backward.copy()
        frames = video.frames.astype(np.float32)
        current = mask.pixels.copy()
        kernel = np.ones((2 * self.config.dilate_px + 1,) * 2, np.uint8)
        for t in range(len(forward)):
            if not self.config.min_pixels <= current.sum() <= self.config.max_pixels:
                break
            shift = self._match(frames[t], frames[t + 1], current, forward[t])
            if shift is None:
                current = carry_mask(current, forward[t])
                continue
            grown = cv2.dilate(current.astype(np.uint8), kernel).astype(bool)
            forward[t][grown] = shift
            current = _shift(current, shift)
            if back is not None:
                back[t][cv2.dilate(current.astype(np.uint8), kernel).astype(bool)] = -shift
        return Flow(forward, back)

    def _match(self, first: np.ndarray, second: np.ndarray, mask: np.ndarray,
               dis_flow: np.ndarray) -> np.ndarray | None:
        """The template's displacement ``[2]`` (u, v) if it beats DIS on this pair, else ``None``."""
        import cv2

        rows, cols = np.nonzero(mask)
        top, bottom, left, right = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
        height, width = mask.shape
        radius = self.config.search_px
        s_top, s_left = max(top - radius, 0), max(left - radius, 0)
        s_bottom, s_right = min(bottom + radius, height), min(right + radius, width)
        template = first[top:bottom, left:right]
        weights = mask[top:bottom, left:right].astype(np.float32)
        count = float(weights.sum())
        search = second[s_top:s_bottom, s_left:s_right]
        ssd = cv2.matchTemplate(search, template, cv2.TM_SQDIFF,
                                mask=np.repeat(weights[..., None], 3, axis=2)) / count
        dv = np.arange(ssd.shape[0])[:, None] + s_top - top
        du = np.arange(ssd.shape[1])[None, :] + s_left - left
        cost = ssd + self.config.motion_penalty * (du**2 + dv**2)
        row, col = np.unravel_index(np.argmin(cost), cost.shape)
        shift = np.array([du[0, col] + _parabola(cost[row, col - 1:col + 2]),
                          dv[row, 0] + _parabola(cost[row - 1:row + 2, col])], dtype=np.float32)
        return shift if ssd[row, col] < self.config.win_ratio * warp_error(first, second, dis_flow, mask) else None


def warp_error(first: np.ndarray, second: np.ndarray, flow: np.ndarray, mask: np.ndarray,
               statistic=np.mean) -> float:
    """``statistic`` (mean by default) of the squared RGB difference over ``mask`` between
    ``first`` and ``second`` (float images ``[H, W, 3]``) warped back by ``flow [H, W, 2]``: how
    well the flow explains the next frame there."""
    import cv2

    height, width = mask.shape
    grid_u, grid_v = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    warped = cv2.remap(second, grid_u + flow[..., 0], grid_v + flow[..., 1], cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_REPLICATE)
    return float(statistic(((warped[mask] - first[mask]) ** 2).sum(axis=1)))


def _parabola(values: np.ndarray) -> float:
    """Sub-pixel offset of a minimum from three samples (0 at an edge or a flat top)."""
    if len(values) != 3:
        return 0.0
    curvature = values[0] - 2 * values[1] + values[2]
    return float(np.clip(0.5 * (values[0] - values[2]) / curvature, -0.5, 0.5)) if curvature > 0 else 0.0


def _shift(mask: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """``mask`` moved by the rounded ``shift`` (u, v); pixels leaving the image are dropped."""
    rows, cols = np.nonzero(mask)
    return _paint(mask.shape, rows + int(round(float(shift[1]))), cols + int(round(float(shift[0]))))


def carry_mask(mask: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """``mask`` carried by a dense ``flow`` (each pixel to its rounded destination; holes closed)."""
    import cv2

    rows, cols = np.nonzero(mask)
    carried = _paint(mask.shape, np.round(rows + flow[rows, cols, 1]).astype(int),
                     np.round(cols + flow[rows, cols, 0]).astype(int))
    return cv2.morphologyEx(carried.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8)).astype(bool)


def _paint(shape: tuple[int, ...], rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    inside = (rows >= 0) & (rows < shape[0]) & (cols >= 0) & (cols < shape[1])
    out = np.zeros(shape, dtype=bool)
    out[rows[inside], cols[inside]] = True
    return out


@hookimpl
def avdc_components():
    return [DisTemplateFlow]
