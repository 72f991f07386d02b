"""Files for people: videos, flow colour maps."""

import cv2
import imageio.v3 as iio
import pytest

from avdc_core import InputDataError
from avdc_core.artifacts import write_video
from avdc_core.testing import textured_video


@pytest.mark.parametrize("suffix", [".gif", ".mp4", ".webm"])
def test_video_is_written_with_every_frame(tmp_path, suffix):
    frames = textured_video(frames=5, height=48, width=64).frames
    path = write_video(tmp_path / f"plan{suffix}", frames)
    if suffix == ".gif":
        read = iio.imread(path)
    else:
        capture = cv2.VideoCapture(str(path))
        read = []
        while (frame := capture.read()[1]) is not None:
            read.append(frame)
    assert len(read) == 5


def test_unknown_video_suffix_is_rejected(tmp_path):
    with pytest.raises(InputDataError, match="'.avi'"):
        write_video(tmp_path / "plan.avi", textured_video().frames)
