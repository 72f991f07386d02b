"""generator/video-file: reads frame folders and GIFs, anchors frame 0 on the observation."""

import imageio.v3 as iio
import numpy as np
import pytest

from avdc_core import BuildContext, InputDataError, MissingResourceError
from avdc_core.testing import VideoGeneratorContract, flat_observation
from avdc_plugins.generators.video_file import VideoFileGenerator


def write_frames(folder, frames):
    folder.mkdir(exist_ok=True)
    for index, frame in enumerate(frames):
        iio.imwrite(folder / f"{index}.png", frame)


def shifted(observation, count=12):
    return [np.roll(observation.rgb, t, axis=1) for t in range(count)]


def make(path, **params):
    return VideoFileGenerator(VideoFileGenerator.Config(path=str(path), **params), BuildContext())


class TestVideoFileGenerator(VideoGeneratorContract):
    @pytest.fixture(autouse=True)
    def _folder(self, tmp_path):
        self.folder = tmp_path / "frames"
        write_frames(self.folder, shifted(flat_observation()))

    def make_component(self):
        return make(self.folder)

    def test_frames_are_read_in_numeric_order(self):
        video = self.make_component().generate(flat_observation(), "slide")
        assert video.num_frames == 12
        np.testing.assert_array_equal(video.frames[10], shifted(flat_observation())[10])

    def test_relative_path_resolves_against_the_spec_folder(self):
        generator = VideoFileGenerator(VideoFileGenerator.Config(path="frames"),
                                       BuildContext(base_dir=self.folder.parent))
        assert generator.generate(flat_observation(), "slide").num_frames == 12


def test_gif_is_resized_to_the_observation(tmp_path):
    observation = flat_observation()
    small = [frame[::2, ::2] for frame in shifted(observation, 4)]
    iio.imwrite(tmp_path / "plan.gif", np.stack(small), duration=100)
    video = make(tmp_path / "plan.gif", max_first_frame_diff=40).generate(observation, "slide")
    assert video.frames.shape == (4, *observation.rgb.shape)
    np.testing.assert_array_equal(video.frames[0], observation.rgb)


def test_video_from_another_scene_is_rejected(tmp_path):
    observation = flat_observation()
    write_frames(tmp_path / "other", [255 - f for f in shifted(observation, 3)])
    with pytest.raises(InputDataError, match="differs from the observation by"):
        make(tmp_path / "other").generate(observation, "slide")


def test_missing_video_is_named(tmp_path):
    with pytest.raises(MissingResourceError, match="nothing-here"):
        make(tmp_path / "nothing-here").generate(flat_observation(), "slide")


def test_empty_folder_is_an_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputDataError, match="has no"):
        make(tmp_path / "empty").generate(flat_observation(), "slide")
