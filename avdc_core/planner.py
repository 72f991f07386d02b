"""One planning pass: observation + text → video → flow → mask → tracks → rigid trajectory."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Protocol, runtime_checkable

import numpy as np

from .interfaces import FlowEstimator, PoseSolver, Segmenter, VideoGenerator
from .photometric import refine_photometric
from .spec import PlanningConfig
from .tracking import sample_mask_pixels, track_points
from .types import Flow, Mask, Observation, Plan, SegmentTarget, Tracks, Video

FIRST_FLOW_HINT = "first_pair_flow"
"""Key of the hint the planner adds to the segment target: the plan's forward flow from frame 0
to frame 1, ``[H, W, 2]`` pixels (for segmenters that select moving pixels)."""


@runtime_checkable
class MaskRefinedFlow(Protocol):
    """A flow estimator that improves its flow on the target once the mask is known (e.g.
    ``flow/dis-template``); the planner calls :meth:`refine` after segmenting."""

    def refine(self, video: Video, flow: Flow, mask: Mask) -> Flow: ...


@dataclass
class Planner:
    """The components that turn one observation into a :class:`Plan`."""

    generator: VideoGenerator
    flow: FlowEstimator
    segmenter: Segmenter
    solver: PoseSolver
    config: PlanningConfig = field(default_factory=PlanningConfig)

    def plan(self, observation: Observation, text: str, target: SegmentTarget,
             mode: str = "object", seed: int = 0) -> Plan:
        """Imagine the task and recover the target's (or, ``mode="camera"``, the camera's) motion."""
        timings: dict[str, float] = {}
        start = time.perf_counter()
        video = self.generator.generate(observation, text, seed=seed)
        timings["generate"] = time.perf_counter() - start
        return self.plan_from_video(observation, video, text, target, mode, seed, timings)

    def plan_from_video(self, observation: Observation, video: Video, text: str,
                        target: SegmentTarget, mode: str = "object", seed: int = 0,
                        timings: dict[str, float] | None = None) -> Plan:
        """The action-inference half of :meth:`plan`, for a video made elsewhere."""
        timings = dict(timings or {})
        observation.camera.check_image("video frames", video.frames[0])
        start = time.perf_counter()
        flow = self.flow.estimate(video, backward=self.config.fb_threshold_px is not None)
        timings["flow"] = time.perf_counter() - start
        start = time.perf_counter()
        target = replace(target, hints={**target.hints, FIRST_FLOW_HINT: flow.forward[0]})
        mask = self.segmenter.segment(observation, target)
        timings["segment"] = time.perf_counter() - start
        if isinstance(self.flow, MaskRefinedFlow):
            start = time.perf_counter()
            flow = self.flow.refine(video, flow, mask)
            timings["flow"] += time.perf_counter() - start
        start = time.perf_counter()
        rng = np.random.default_rng(self.config.seed + seed)
        pixels = sample_mask_pixels(mask, observation.valid_depth, self.config.num_points, rng)
        depth = observation.depth[pixels[:, 1].astype(int), pixels[:, 0].astype(int)]
        points_world = observation.camera.unproject(pixels, depth)
        tracks = track_points(flow, pixels, self.config.fb_threshold_px)
        video, flow, tracks = cut_at_lost_tracks(video, flow, tracks, self.config.min_valid_tracks)
        timings["track"] = time.perf_counter() - start
        start = time.perf_counter()
        trajectory = self.solver.solve(points_world, tracks, observation.camera, mode=mode)
        timings["solve"] = time.perf_counter() - start
        if self.config.photometric is not None and mode == "object":
            start = time.perf_counter()
            trajectory = refine_photometric(trajectory, video, mask, observation.depth, observation.camera,
                                            points_world, tracks, self.config.photometric)
            timings["refine"] = time.perf_counter() - start
        return Plan(text, observation, video, flow, mask, points_world, tracks, trajectory, timings)


def cut_at_lost_tracks(video: Video, flow: Flow, tracks: Tracks,
                       min_valid: int) -> tuple[Video, Flow, Tracks]:
    """Keep the frames before the first one with fewer than ``min_valid`` valid tracks (at least
    two frames; ``min_valid=0`` keeps all): the plan then ends where the object was last seen."""
    counts = tracks.valid.sum(axis=1)
    short = np.flatnonzero(counts < min_valid)
    keep = max(int(short[0]) if len(short) else len(counts), 2)
    if keep >= len(counts):
        return video, flow, tracks
    backward = None if flow.backward is None else flow.backward[: keep - 1]
    return (video.first(keep), Flow(flow.forward[: keep - 1], backward),
            Tracks(tracks.pixels[:keep], tracks.valid[:keep]))
