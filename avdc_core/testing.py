"""Contract tests for plugin authors: one mixin per component kind (needs pytest).

A plugin's test class inherits the mixin of its kind and implements ``make_component()``
(and, where the default input does not suit the component, ``sample_input()`` /
``sample_video()`` / ``sample_plan()``); the mixin then runs the component for real on small
inputs and checks what every component of that kind must do — the guarantees the pipeline and
the runner rely on. Third-party plugins use it the same way::

    from avdc_core.testing import ExecutorContract

    class TestMyRobot(ExecutorContract):
        def make_component(self):
            return MyRobot(MyRobot.Config(), BuildContext())

(``docs/plugins.md`` walks through it.)
"""

from __future__ import annotations

from itertools import islice

import numpy as np
import pytest
from pydantic import ValidationError

from avdc_core import (
    Camera,
    Commands,
    Component,
    Executor,
    FlowEstimator,
    Mask,
    Observation,
    PoseSolver,
    Segmenter,
    SegmentTarget,
    StepReport,
    TextEncoder,
    Tracks,
    Video,
    VideoGenerator,
)
from avdc_core.errors import InputDataError, SolveError
from avdc_core.synthetic import box_scene, motion_errors
from avdc_core.types import RigidTrajectory, transform_points


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
    """Flow: one finite field per consecutive pair at the video's size, backward when asked, and
    the known motion of a sample video recovered."""

    interface = FlowEstimator
    flow_tolerance_px: float = 0.5
    """Allowed median end-point error on the sample video's known motion."""

    def sample_video(self, frames: int) -> Video:
        """A video of ``frames`` frames the component accepts (override for simulator flows)."""
        return textured_video(frames=frames, height=96, width=128)

    def expected_flow(self, video: Video) -> np.ndarray | None:
        """The true forward flow ``[T-1, H, W, 2]`` of :meth:`sample_video` (override with it);
        ``None`` skips the motion check (e.g. a network built with random weights)."""
        flow = np.zeros((video.num_frames - 1, *video.frames.shape[1:3], 2))
        flow[..., 0] = 2.0  # textured_video moves 2 px right per frame
        return flow

    def test_flow_has_one_field_per_pair_and_the_video_size(self):
        video = self.sample_video(3)
        flow = self.make_component().estimate(video, backward=True)
        assert flow.forward.shape == (video.num_frames - 1, *video.frames.shape[1:3], 2)
        assert flow.backward is not None and flow.backward.shape == flow.forward.shape
        assert np.isfinite(flow.forward).all() and np.isfinite(flow.backward).all()

    def test_flow_without_backward_when_not_asked(self):
        flow = self.make_component().estimate(self.sample_video(2), backward=False)
        assert flow.backward is None

    def test_flow_follows_the_known_motion(self):
        """Away from the borders (where content enters the frame), the flow is the true motion."""
        video = self.sample_video(3)
        expected = self.expected_flow(video)
        if expected is None:
            pytest.skip(f"{type(self).__name__} knows no true flow for its sample video")
        error = np.linalg.norm(self.make_component().estimate(video, backward=False).forward - expected,
                               axis=-1)
        border = max(4, video.frames.shape[1] // 8)
        assert np.median(error[:, border:-border, border:-border]) < self.flow_tolerance_px


class SegmenterContract(ComponentContract):
    """Segmenter: a boolean, non-empty mask of the observation's size, the same every time."""

    interface = Segmenter

    def sample_input(self) -> tuple[Observation, SegmentTarget]:
        return flat_observation(), SegmentTarget("object")

    def test_mask_has_the_observation_size(self):
        observation, target = self.sample_input()
        mask = self.make_component().segment(observation, target)
        assert isinstance(mask, Mask)
        assert mask.pixels.shape == observation.depth.shape
        assert mask.count > 0

    def test_the_same_input_gives_the_same_mask(self):
        observation, target = self.sample_input()
        segmenter = self.make_component()
        np.testing.assert_array_equal(segmenter.segment(observation, target).pixels,
                                      segmenter.segment(observation, target).pixels)


class PoseSolverContract(ComponentContract):
    """Solver: exact tracks of a known motion give that motion back — a translation, a
    rotation with translation (object mode) and a camera's own motion (camera mode) — with a
    small uncertainty if it reports one, and tracks that never move are refused, not turned into
    an identity trajectory."""

    interface = PoseSolver
    rotation_tolerance_deg: float = 1.0
    translation_tolerance_m: float = 0.005

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
        assert isinstance(trajectory, RigidTrajectory) and trajectory.mode == "object"
        np.testing.assert_allclose(trajectory.transforms[:, :3, 3],
                                   np.stack(motions)[:, :3, 3], atol=self.translation_tolerance_m)
        for std in (trajectory.translation_std_m, trajectory.ray_std_m):
            assert std is None or (np.all(std[0] == 0) and 0 <= std.min() and std.max() < self.translation_tolerance_m)

    @pytest.mark.parametrize("mode", ["object", "camera"])
    def test_recovers_a_known_rotation_and_translation(self, mode):
        """A textured box turns up to 20° and shifts up to 8 cm (``mode="object"``), or the
        camera does about its own centre (``mode="camera"``); the solver returns that motion."""
        rng = np.random.default_rng(1)
        scene = box_scene(rng, frames=4, max_rotation_deg=20.0, max_translation_m=0.08, moving=mode)
        points, tracks = scene.tracks(300, rng, target="object" if mode == "object" else "scene")
        trajectory = self.make_component().solve(points, tracks, scene.camera, mode=mode)
        assert trajectory.mode == mode and trajectory.transforms.shape == (4, 4, 4)
        np.testing.assert_allclose(trajectory.transforms[0], np.eye(4), atol=1e-6)
        truth = scene.object_motions if mode == "object" else scene.camera_motions
        rotation_deg, translation_m = motion_errors(trajectory.transforms, truth, points)
        assert rotation_deg.max() < self.rotation_tolerance_deg
        assert translation_m.max() < self.translation_tolerance_m

    def test_tracks_that_never_move_raise_instead_of_returning_identity(self):
        rng = np.random.default_rng(5)
        scene = box_scene(rng, frames=3, width=160, height=120)
        points, tracks = scene.tracks(100, rng)
        frozen = Tracks(np.repeat(tracks.pixels[:1], 3, axis=0), tracks.valid)
        with pytest.raises(SolveError, match="never move"):
            self.make_component().solve(points, frozen, scene.camera)


class VideoGeneratorContract(ComponentContract):
    """Generator: frame 0 is the observation, frames keep its size, one seed one video."""

    interface = VideoGenerator

    def sample_input(self) -> tuple[Observation, str]:
        return flat_observation(), "push the block"

    def test_first_frame_is_the_observation(self):
        observation, text = self.sample_input()
        video = self.make_component().generate(observation, text, seed=0)
        assert video.frames.shape[1:] == observation.rgb.shape
        np.testing.assert_array_equal(video.frames[0], observation.rgb)

    def test_the_same_seed_gives_the_same_video(self):
        observation, text = self.sample_input()
        generator = self.make_component()
        np.testing.assert_array_equal(generator.generate(observation, text, seed=3).frames,
                                      generator.generate(observation, text, seed=3).frames)


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
    r"""Executor: ``reset`` → ``commands`` → ``execute`` yields well-formed :class:`StepReport`\ s
    and ends; ``retreat`` too; a trajectory of the other mode and commands of another kind are
    refused with :class:`InputDataError`; ``close`` twice is safe; a seed fixes the episode.

    Each test builds a fresh executor with :meth:`make_component` and closes it.
    """

    interface = Executor
    max_contract_steps: int = 2000
    """A plan's ``execute`` (and ``retreat``) must end within this many reports."""

    def sample_plan(self, observation: Observation, mode: str) -> tuple[RigidTrajectory, np.ndarray]:
        """A small plausible plan from ``observation``: the points seen near the image centre
        (``plan_points_world``) moving 3 cm along the camera's x axis over 3 frames
        (``mode="object"``), or the camera moving 25 cm forward (``mode="camera"``). Override
        it when that motion makes no sense for the robot."""
        height, width = observation.depth.shape
        rows, cols = np.mgrid[height // 3: 2 * height // 3, width // 3: 2 * width // 3]
        rows, cols = rows.ravel(), cols.ravel()
        keep = observation.valid_depth[rows, cols]
        if not keep.any():
            rows, cols = np.nonzero(observation.valid_depth)
            keep = np.ones(len(rows), dtype=bool)
        pixels = np.stack([cols[keep], rows[keep]], axis=1).astype(np.float64)[::7][:300]
        points = observation.camera.unproject(pixels, observation.depth[pixels[:, 1].astype(int),
                                                                        pixels[:, 0].astype(int)])
        axis = observation.camera.cam_to_world[:3, 0 if mode == "object" else 2]
        distance = 0.03 if mode == "object" else 0.25
        transforms = np.repeat(np.eye(4)[None], 3, axis=0)
        for t in range(3):
            transforms[t, :3, 3] = axis * distance * t / 2
        return (RigidTrajectory(transforms, np.ones((3, len(points)), bool), np.zeros(3), mode=mode),
                points)

    def _episode(self, seed: int = 0) -> tuple[Executor, Observation]:
        executor = self.make_component()
        return executor, executor.reset(seed=seed)

    def _check_reports(self, reports: list) -> None:
        assert len(reports) < self.max_contract_steps, "execute/retreat did not end"
        steps = [report.step for report in reports]
        assert all(isinstance(step, int) for step in steps) and steps == sorted(set(steps))
        for index, report in enumerate(reports):
            assert isinstance(report, StepReport) and isinstance(report.success, bool)
            assert np.shape(report.effector_m) == (3,) and np.isfinite(report.effector_m).all()
            assert isinstance(report.info, dict)
            assert not report.success or index == len(reports) - 1, "reports went on after success"

    def test_reset_returns_a_consistent_observation(self):
        executor, observation = self._episode()
        try:
            assert observation.rgb.shape[:2] == (observation.camera.height, observation.camera.width)
            assert executor.task_text().strip()
            assert isinstance(executor.segment_target(), SegmentTarget)
            assert executor.motion_mode in ("object", "camera")
        finally:
            executor.close()

    def test_a_plan_is_commanded_and_executed_in_well_formed_steps(self):
        executor, observation = self._episode()
        try:
            trajectory, points = self.sample_plan(observation, executor.motion_mode)
            commands = executor.commands(trajectory, points, observation)
            assert isinstance(commands, Commands) and commands.kind == executor.command_kind
            reports = list(islice(executor.execute(commands), self.max_contract_steps))
            assert reports, "execute yielded no step"
            self._check_reports(reports)
            after = executor.observe()
            assert after.rgb.shape == observation.rgb.shape
        finally:
            executor.close()

    def test_retreat_yields_well_formed_steps(self):
        executor, _ = self._episode()
        try:
            self._check_reports(list(islice(executor.retreat(), self.max_contract_steps)))
        finally:
            executor.close()

    def test_a_trajectory_of_the_other_mode_is_refused(self):
        executor, observation = self._episode()
        try:
            other = "camera" if executor.motion_mode == "object" else "object"
            trajectory, points = self.sample_plan(observation, other)
            with pytest.raises(InputDataError):
                executor.commands(trajectory, points, observation)
        finally:
            executor.close()

    def test_commands_of_another_kind_are_refused(self):
        executor, _ = self._episode()
        try:
            with pytest.raises(InputDataError):
                list(islice(executor.execute(Commands("no-such-kind", {})), 1))
        finally:
            executor.close()

    def test_close_twice_is_safe(self):
        executor, _ = self._episode()
        executor.close()
        executor.close()

    def test_the_same_seed_starts_the_same_episode(self):
        executor, first = self._episode(seed=3)
        try:
            again = executor.reset(seed=3)
            np.testing.assert_array_equal(first.rgb, again.rgb)
            np.testing.assert_allclose(first.depth, again.depth)
        finally:
            executor.close()
