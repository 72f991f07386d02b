"""Contract tests for plugin authors: one mixin per component kind (needs pytest).

A plugin's test class inherits the mixin of its kind and implements ``make_component()``
(and, where asked, ``sample_input()``); the mixin then checks what every component of that kind
must do. Third-party plugins use it the same way: ``from avdc_core.testing import FlowEstimatorContract``.
"""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from avdc_core import (
    Camera,
    Component,
    Executor,
    FlowEstimator,
    Mask,
    Observation,
    PoseSolver,
    SegmentTarget,
    Segmenter,
    TextEncoder,
    Tracks,
    Video,
    VideoGenerator,
)
from avdc_core.types import transform_points


def textured_video(frames: int = 3, height: int = 48, width: int = 64, shift_px: int = 2,
                   seed: int = 0) -> Video:
    """A smooth random texture translating ``shift_px`` pixels right per frame."""
    import cv2

    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, size=(height, width + shift_px * frames, 3), dtype=np.uint8)
    base = cv2.GaussianBlur(base, (0, 0), 1.5)
    stack = [base[:, shift_px * (frames - t): shift_px * (frames - t) + width] for t in range(frames)]
    return Video(np.ascontiguousarray(np.stack(stack)))


def flat_observation(height: int = 48, width: int = 64, depth_m: float = 1.0) -> Observation:
    """A textured observation of a fronto-parallel plane ``depth_m`` in front of the camera."""
    rgb = textured_video(2, height, width).frames[0]
    return Observation(rgb, np.full((height, width), depth_m), Camera.from_fov(width, height, 45.0))


class ComponentContract:
    """Checks every component satisfies: a name, a strict config, the declared kind."""

    interface: type[Component] = Component

    def make_component(self) -> Component:
        raise NotImplementedError

    def test_is_a_named_component_of_its_kind(self):
        component = self.make_component()
        assert isinstance(component, self.interface)
        assert component.name and component.kind == self.interface.kind

    def test_config_rejects_unknown_keys(self):
        component = self.make_component()
        with pytest.raises(ValidationError):
            type(component).Config.model_validate({"no_such_parameter_xyz": 1})


class FlowEstimatorContract(ComponentContract):
    """Flow: one field per consecutive pair, the video's size, finite; backward when asked."""

    interface = FlowEstimator

    def sample_video(self, frames: int) -> Video:
        """A video of ``frames`` frames the component accepts (override for simulator flows)."""
        return textured_video(frames=frames)

    def test_flow_has_one_field_per_pair_and_the_video_size(self):
        video = self.sample_video(3)
        flow = self.make_component().estimate(video, backward=True)
        assert flow.forward.shape == (video.num_frames - 1, *video.frames.shape[1:3], 2)
        assert flow.backward is not None and flow.backward.shape == flow.forward.shape
        assert np.isfinite(flow.forward).all()

    def test_flow_without_backward_when_not_asked(self):
        flow = self.make_component().estimate(self.sample_video(2), backward=False)
        assert flow.backward is None


class SegmenterContract(ComponentContract):
    """Segmenter: a boolean mask of the observation's size for a sample observation."""

    interface = Segmenter

    def sample_input(self) -> tuple[Observation, SegmentTarget]:
        return flat_observation(), SegmentTarget("object")

    def test_mask_has_the_observation_size(self):
        observation, target = self.sample_input()
        mask = self.make_component().segment(observation, target)
        assert isinstance(mask, Mask)
        assert mask.pixels.shape == observation.depth.shape
        assert mask.count > 0


class PoseSolverContract(ComponentContract):
    """Solver: recovers a known pure translation exactly (no noise) in object mode."""

    interface = PoseSolver

    def test_recovers_a_known_translation(self):
        rng = np.random.default_rng(0)
        camera = Camera.from_fov(320, 240, 45.0)
        points = np.column_stack([rng.uniform(-0.2, 0.2, 200), rng.uniform(-0.15, 0.15, 200),
                                  rng.uniform(1.0, 1.3, 200)])
        motions = [np.eye(4)]
        for t in range(1, 4):
            step = np.eye(4)
            step[:3, 3] = [0.02 * t, -0.01 * t, 0.03 * t]
            motions.append(step)
        pixels = np.stack([camera.project(transform_points(m, points))[0] for m in motions])
        tracks = Tracks(pixels, np.ones(pixels.shape[:2], dtype=bool))
        trajectory = self.make_component().solve(points, tracks, camera)
        np.testing.assert_allclose(trajectory.transforms[:, :3, 3],
                                   np.stack(motions)[:, :3, 3], atol=5e-3)


class VideoGeneratorContract(ComponentContract):
    """Generator: frame 0 is the observation, frames keep its size."""

    interface = VideoGenerator

    def sample_input(self) -> tuple[Observation, str]:
        return flat_observation(), "push the block"

    def test_first_frame_is_the_observation(self):
        observation, text = self.sample_input()
        video = self.make_component().generate(observation, text, seed=0)
        assert video.frames.shape[1:] == observation.rgb.shape
        np.testing.assert_array_equal(video.frames[0], observation.rgb)


class TextEncoderContract(ComponentContract):
    """Text encoder: fixed-width finite embeddings; different texts differ."""

    interface = TextEncoder

    def test_embeddings_are_fixed_width_and_distinguish_texts(self):
        encoder = self.make_component()
        embeddings = encoder.encode(["door open", "button press"])
        assert embeddings.shape == (2, encoder.dim)
        assert np.isfinite(embeddings).all()
        assert not np.allclose(embeddings[0], embeddings[1])


class ExecutorContract(ComponentContract):
    """Executor: reset gives an observation whose images match its camera."""

    interface = Executor

    def test_reset_returns_a_consistent_observation(self):
        executor = self.make_component()
        try:
            observation = executor.reset(seed=0)
            assert observation.rgb.shape[:2] == (observation.camera.height, observation.camera.width)
            assert executor.task_text().strip()
        finally:
            executor.close()
