"""generator/oracle: scripted-expert videos from a copy of the live simulator state."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("metaworld")

from avdc_core.errors import InputDataError  # noqa: E402
from avdc_core.interfaces import BuildContext  # noqa: E402
from avdc_core.testing import VideoGeneratorContract, flat_observation  # noqa: E402
from avdc_plugins.generators.oracle import OracleGenerator  # noqa: E402

from episodes import metaworld_episode  # noqa: E402


@pytest.fixture(scope="module")
def button():
    with metaworld_episode("button-press", "corner3", seed=4, resolution=(160, 120)) as episode:
        yield episode


def make_oracle(**params) -> OracleGenerator:
    return OracleGenerator(OracleGenerator.Config(**params), BuildContext())


class TestOracle(VideoGeneratorContract):
    def make_component(self):
        return make_oracle()

    @pytest.fixture(autouse=True)
    def _observation(self, button):
        self.button = button

    def sample_input(self):
        executor, observation = self.button
        return observation, executor.task_text()


def test_video_shows_the_expert_succeeding_without_touching_the_live_episode(button):
    executor, observation = button
    scene = executor.scene
    state_before = scene.state().copy()
    video = make_oracle().generate(observation, "button press")
    np.testing.assert_array_equal(scene.state(), state_before)
    assert video.num_frames == 8
    truth = video.simulator
    assert truth.rollout.success
    steps = truth.frame_steps
    assert steps[0] == 0 and steps[-1] == len(truth.rollout.states) - 1
    assert np.all(np.diff(steps) > 0)
    # frame 0 is the observation and re-rendering the copied state gives the same pixels
    np.testing.assert_array_equal(video.frames[0], observation.rgb)
    again = scene.render(scene.data_from_state(truth.rollout.states[steps[0]]), depth=False).rgb
    np.testing.assert_array_equal(again, observation.rgb)
    # the button moved (towards the box, +y) by more than 5 mm between first and last frame
    button_id = scene.model.body("button").id
    moved = truth.body_poses[-1, button_id, :3, 3] - truth.body_poses[0, button_id, :3, 3]
    assert moved[1] > 0.005
    assert truth.depth.shape == truth.depth_without_robot.shape == (8, 120, 160)
    assert truth.segmentation.dtype == np.int32
    assert len(truth.cameras) == 8 and truth.parts.part_names == tuple(scene.geom_names)


def test_observation_without_simulator_is_rejected():
    with pytest.raises(InputDataError, match="generator/oracle .*simulated executor"):
        make_oracle().generate(flat_observation(), "door open")


def test_model_size_gives_the_video_a_perfect_model_of_that_size_would(button):
    executor, observation = button
    sharp = make_oracle().generate(observation, "button press")
    small = make_oracle(model_size=(24, 32)).generate(observation, "button press")
    np.testing.assert_array_equal(small.frames[0], observation.rgb)  # the observation stays sharp
    assert small.frames.shape == sharp.frames.shape
    # every imagined frame is the sharp one shrunk to 24x32 and stretched back: detail is lost
    from avdc_core.datasets import resize_rgb

    for frame_small, frame_sharp in zip(small.frames[1:], sharp.frames[1:], strict=True):
        np.testing.assert_array_equal(frame_small, resize_rgb(resize_rgb(frame_sharp, 24, 32), 120, 160))
    gradient = [np.abs(np.diff(v.frames[-1].astype(float), axis=1)).mean() for v in (sharp, small)]
    assert gradient[1] < 0.7 * gradient[0]
    np.testing.assert_array_equal(small.simulator.depth, sharp.simulator.depth)  # the truth is unchanged
