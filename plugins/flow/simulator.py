"""``flow/sim-flow``: exact correspondences of a simulator video — the ceiling of any flow.

For every pixel of frame ``t`` that sees a geom: its depth gives the world point, the geom's
body pose at frame ``t`` takes it into the body's frame, the body's pose at frame ``t + 1`` takes
it back to the world, and the camera projects it. Background pixels get zero flow. Backward flow
is the same from ``t + 1`` to ``t``. Occlusion is not modelled (a point hidden at ``t + 1`` still
gets the flow of where its surface went), exactly like a perfect tracker of surfaces.

Needs the per-frame data that ``generator/oracle`` puts in ``Video.extras``: ``depth``,
``segmentation``, ``body_poses``, ``geom_body`` and ``camera``.
"""

from __future__ import annotations

import numpy as np

from avdc_core import hookimpl
from avdc_core.errors import InputDataError
from avdc_core.interfaces import ComponentConfig, FlowEstimator
from avdc_core.types import Camera, Flow, Video, invert_rigid

REQUIRED = ("depth", "segmentation", "body_poses", "geom_body", "camera")


def exact_flow(camera: Camera, depth: np.ndarray, segmentation: np.ndarray,
               poses_from: np.ndarray, poses_to: np.ndarray, geom_body: np.ndarray) -> np.ndarray:
    """``[H, W, 2]`` flow of one frame: ``depth``/``segmentation`` are that frame's ``[H, W]``,
    ``poses_from``/``poses_to`` the body poses ``[nbody, 4, 4]`` at this and the other frame."""
    height, width = depth.shape
    flow = np.zeros((height, width, 2))
    seen = (segmentation >= 0) & np.isfinite(depth) & (depth > 0)
    rows, cols = np.nonzero(seen)
    if len(rows) == 0:
        return flow
    pixels = np.stack([cols, rows], axis=1).astype(np.float64)
    world = camera.unproject(pixels, depth[rows, cols])
    bodies = geom_body[segmentation[rows, cols]]
    motion = poses_to[bodies] @ invert_rigid(poses_from[bodies])  # [N, 4, 4]
    moved = np.einsum("nij,nj->ni", motion[:, :3, :3], world) + motion[:, :3, 3]
    projected, _ = camera.project(moved)
    flow[rows, cols] = projected - pixels
    return flow


class SimulatorFlow(FlowEstimator):
    """Exact flow of an oracle video from the simulator states it went through."""

    name = "sim-flow"

    class Config(ComponentConfig):
        pass

    def estimate(self, video: Video, backward: bool = True) -> Flow:
        missing = [key for key in REQUIRED if key not in video.extras]
        if missing:
            raise InputDataError(f"flow/sim-flow needs a simulator video (generator/oracle); "
                                 f"Video.extras lacks {missing}")
        extras = video.extras
        camera, geom_body = extras["camera"], np.asarray(extras["geom_body"])
        depth, seg, poses = extras["depth"], extras["segmentation"], extras["body_poses"]
        camera.check_image("video frames", video.frames[0])
        count = video.num_frames - 1
        forward = np.stack([exact_flow(camera, depth[t], seg[t], poses[t], poses[t + 1], geom_body)
                            for t in range(count)])
        back = None
        if backward:
            back = np.stack([exact_flow(camera, depth[t + 1], seg[t + 1], poses[t + 1], poses[t],
                                        geom_body) for t in range(count)])
        return Flow(forward, back)


@hookimpl
def avdc_components():
    return [SimulatorFlow]
