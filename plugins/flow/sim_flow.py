"""``flow/sim-flow``: exact correspondences of a simulator video — the ceiling of any flow.

For every pixel of frame ``t`` that sees a part of the scene: its depth and frame ``t``'s camera
give the world point, the part's body pose at frame ``t`` takes it into the body's frame, the
body's pose at frame ``t + 1`` takes it back to the world, and frame ``t + 1``'s camera projects
it (a moving camera — navigation — is handled like a fixed one). Background pixels get zero flow. Backward flow
is the same from ``t + 1`` to ``t``. Occlusion is not modelled (a point hidden at ``t + 1`` still
gets the flow of where its surface went), exactly like a perfect tracker of surfaces.

``see_through_robot`` (default on): the flow is computed from renders in which the robot arm and
gripper are hidden (``depth_without_robot``/``segmentation_without_robot``), so a pixel of the
object keeps the object's motion while the gripper covers it, instead of following the arm.
This is the **ceiling of correspondence quality** — the exact motion of every object surface —
and nothing a real flow estimator can do: from images, an occluded point is invisible. With it
off, the flow is that of whatever surface is visible (the arm where it covers the object), like
a perfect flow of the rendered frames.

``noise_px`` (default 0) degrades the exact flow on purpose, to measure how precise a flow
estimator must be for a task: every frame pair's flow (forward and backward, independently) gets
Gaussian noise of that standard deviation per component, smoothed over ``noise_scale_px`` (real
flow errors are spatially correlated: neighbouring pixels err alike). The noise is seeded by
``noise_seed`` and the video's first frame, so a plan is reproducible.

Needs a video rendered by a simulator (``generator/oracle``), whose ``Video.simulator``
(:class:`avdc_core.simulation.SimulatedFrames`) holds the per-frame ground truth.
"""

from __future__ import annotations

import zlib

import numpy as np
from pydantic import Field

from avdc_core import hookimpl
from avdc_core.errors import InputDataError
from avdc_core.interfaces import ComponentConfig, FlowEstimator
from avdc_core.simulation import require_frames
from avdc_core.types import Camera, Flow, Video, invert_rigid


def exact_flow(cameras: tuple[Camera, Camera], depth: np.ndarray, segmentation: np.ndarray,
               poses_from: np.ndarray, poses_to: np.ndarray, part_body: np.ndarray,
               edge_px: float = 0.0) -> np.ndarray:
    """``[H, W, 2]`` flow of one frame: ``depth``/``segmentation`` are that frame's ``[H, W]``,
    ``cameras`` this frame's and the other's, ``poses_from``/``poses_to`` the body poses
    ``[nbody, 4, 4]`` at this and the other frame, ``part_body`` each part's body.

    ``edge_px > 0``: pixels of static surfaces within that distance of a moving body take the
    flow of its nearest pixel, so that a track interpolating the flow at sub-pixel positions on
    the body's edge moves with the body instead of being dragged by the still neighbour."""
    height, width = depth.shape
    flow = np.zeros((height, width, 2))
    seen = (segmentation >= 0) & np.isfinite(depth) & (depth > 0)
    rows, cols = np.nonzero(seen)
    if len(rows) == 0:
        return flow
    pixels = np.stack([cols, rows], axis=1).astype(np.float64)
    world = cameras[0].unproject(pixels, depth[rows, cols])
    bodies = part_body[segmentation[rows, cols]]
    motion = poses_to[bodies] @ invert_rigid(poses_from[bodies])  # [N, 4, 4]
    moved = np.einsum("nij,nj->ni", motion[:, :3, :3], world) + motion[:, :3, 3]
    projected, _ = cameras[1].project(moved)
    flow[rows, cols] = projected - pixels
    if edge_px > 0:
        from scipy.ndimage import distance_transform_edt

        still = np.ones((height, width), dtype=bool)
        still[rows, cols] = np.all(np.isclose(motion, np.eye(4), atol=1e-12), axis=(1, 2))
        if not still.all():
            distance, (near_rows, near_cols) = distance_transform_edt(still, return_indices=True)
            ring = still & (distance <= edge_px)
            flow[ring] = flow[near_rows[ring], near_cols[ring]]
    return flow


class SimulatorFlow(FlowEstimator):
    """Exact flow of an oracle video from the simulator states it went through."""

    name = "sim-flow"

    class Config(ComponentConfig):
        see_through_robot: bool = Field(
            default=True, description="flow of the scene without the robot arm (the object keeps its "
            "exact motion under the gripper); false: flow of the visible surfaces")
        edge_px: float = Field(default=2.0, ge=0, description="extend moving bodies' flow this far "
                               "onto still neighbours (for tracks interpolating at the edges)")
        noise_px: float = Field(default=0.0, ge=0, description="std of Gaussian noise added to each "
                                "flow component (pixels); 0 = exact")
        noise_scale_px: float = Field(default=4.0, gt=0, description="spatial correlation of the noise "
                                      "(Gaussian smoothing sigma, pixels)")
        noise_seed: int = Field(default=0, description="seed of the noise (mixed with the first frame)")

    def estimate(self, video: Video, backward: bool = True) -> Flow:
        truth = require_frames(video, "flow/sim-flow")
        if self.config.see_through_robot:
            depth, seg = truth.depth_without_robot, truth.segmentation_without_robot
            if depth is None or seg is None:
                raise InputDataError("flow/sim-flow: see_through_robot needs frames rendered with the "
                                     "robot hidden, which this simulator did not provide; set "
                                     "see_through_robot: false")
        else:
            depth, seg = truth.depth, truth.segmentation
        cameras, poses, part_body = truth.cameras, truth.body_poses, truth.parts.part_body
        cameras[0].check_image("video frames", video.frames[0])
        count = video.num_frames - 1
        edge = self.config.edge_px
        forward = np.stack([exact_flow((cameras[t], cameras[t + 1]), depth[t], seg[t], poses[t], poses[t + 1],
                                       part_body, edge) for t in range(count)])
        back = None
        if backward:
            back = np.stack([exact_flow((cameras[t + 1], cameras[t]), depth[t + 1], seg[t + 1], poses[t + 1],
                                        poses[t], part_body, edge) for t in range(count)])
        if self.config.noise_px > 0:
            rng = np.random.default_rng([self.config.noise_seed, zlib.crc32(video.frames[0].tobytes())])
            forward = forward + self._noise(rng, forward.shape)
            back = None if back is None else back + self._noise(rng, back.shape)
        return Flow(forward, back)

    def _noise(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        """Spatially smooth Gaussian noise ``shape [T, H, W, 2]`` with std ``noise_px`` per pixel."""
        from scipy.ndimage import gaussian_filter

        white = rng.standard_normal(shape)
        smooth = gaussian_filter(white, sigma=(0, self.config.noise_scale_px, self.config.noise_scale_px, 0))
        return smooth / smooth.std() * self.config.noise_px


@hookimpl
def avdc_components():
    return [SimulatorFlow]
