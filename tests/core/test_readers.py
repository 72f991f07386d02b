"""avdc_core.readers: every damaged or odd input file ends in one clear InputDataError."""

import json

import cv2
import numpy as np
import pytest

from avdc_core import InputDataError, MissingResourceError
from avdc_core.readers import read_camera, read_depth, read_rgb, split_names

K = [[100.0, 0.0, 32.0], [0.0, 100.0, 24.0], [0.0, 0.0, 1.0]]


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data) if isinstance(data, bytes) else path.write_text(data)
    return path


def png_bytes(image):
    ok, encoded = cv2.imencode(".png", image)
    assert ok
    return encoded.tobytes()


def test_a_good_image_depth_and_camera_are_read(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    image = write(tmp_path, "rgb.png", png_bytes(rgb[..., ::-1]))
    np.testing.assert_array_equal(read_rgb(image), rgb)
    depth = write(tmp_path, "depth.png", png_bytes(np.full((48, 64), 1500, np.uint16)))
    np.testing.assert_allclose(read_depth(depth), 1.5)
    np.save(tmp_path / "depth.npy", np.full((48, 64), 2.0, np.float32))
    np.testing.assert_allclose(read_depth(tmp_path / "depth.npy"), 2.0)
    camera = read_camera(write(tmp_path, "camera.json", json.dumps({"K": K, "width": 64, "height": 48})))
    assert (camera.width, camera.height) == (64, 48) and np.allclose(camera.cam_to_world, np.eye(4))


@pytest.mark.parametrize("name, data, expected", [
    ("truncated.png", png_bytes(np.zeros((48, 64, 3), np.uint8))[:60], "not a readable image"),
    ("empty.png", b"", "not a readable image"),
    ("text.png", b"hello, not an image", "not a readable image"),
    ("deep.png", png_bytes(np.zeros((48, 64, 3), np.uint16)), "uint16.*8-bit RGB.*not converted silently"),
    ("grey.png", png_bytes(np.zeros((48, 64), np.uint8)), "shape \\(48, 64\\).*8-bit RGB"),
])
def test_a_bad_image_is_named_with_what_is_wrong(tmp_path, name, data, expected):
    with pytest.raises(InputDataError, match=expected):
        read_rgb(write(tmp_path, name, data))


def test_a_folder_or_a_missing_file_is_named(tmp_path):
    with pytest.raises(InputDataError, match="is a folder"):
        read_rgb(tmp_path)
    with pytest.raises(MissingResourceError, match="does not exist"):
        read_camera(tmp_path / "nope.json")


def npy_bytes(tmp_path, array, **kwargs):
    np.save(tmp_path / "tmp.npy", array, **kwargs)
    return (tmp_path / "tmp.npy").read_bytes()


@pytest.mark.parametrize("make, expected", [
    (lambda p: npy_bytes(p, np.zeros((4, 4)))[:70], "not a readable .npy"),
    (lambda p: npy_bytes(p, np.array([{"a": 1}], dtype=object), allow_pickle=True), "not a readable .npy"),
    (lambda p: npy_bytes(p, np.array([["a", "b"]])), "<U1"),
    (lambda p: npy_bytes(p, np.ones((4, 4), bool)), "bool"),
    (lambda p: npy_bytes(p, np.ones((4, 4), complex)), "complex"),
    (lambda p: npy_bytes(p, np.ones((2, 4, 4))), "shape \\(2, 4, 4\\)"),
])
def test_a_bad_depth_array_is_refused(tmp_path, make, expected):
    with pytest.raises(InputDataError, match=expected):
        read_depth(write(tmp_path, "depth.npy", make(tmp_path)))


def test_an_8_bit_depth_png_is_refused(tmp_path):
    with pytest.raises(InputDataError, match="uint8.*16-bit single-channel PNG of millimetres"):
        read_depth(write(tmp_path, "depth.png", png_bytes(np.zeros((8, 8), np.uint8))))


ROTATED = [[0.0, -1.0, 0.0, 0.1], [1.0, 0.0, 0.0, 0.2], [0.0, 0.0, 1.0, 0.3], [0.0, 0.0, 0.0, 1.0]]


@pytest.mark.parametrize("text, expected", [
    ("", "not valid JSON"),
    ("{'K': 1}", "not valid JSON"),
    ("[1, 2]", "holds a list"),
    (json.dumps({"K": K, "width": 64}), "lacks \\['height'\\]"),
    (json.dumps({"K": [["100", "0", "32"], ["0", "100", "24"], ["0", "0", "1"]], "width": 64, "height": 48}),
     "K is"),
    (json.dumps({"K": [[1, 2], [3, 4]], "width": 64, "height": 48}), "K is"),
    (json.dumps({"K": K, "width": 64.5, "height": 48}), "width is 64.5"),
    (json.dumps({"K": K, "width": True, "height": 48}), "width is True"),
    (json.dumps({"K": K, "width": 64, "height": 48,
                 "cam_to_world": [*ROTATED[:3], [0, 0, 0, 0]]}), "not a rigid transform"),
    (json.dumps({"K": K, "width": 64, "height": 48,
                 "cam_to_world": [[2, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]}), "not a rigid"),
])
def test_a_bad_camera_file_says_what_a_camera_file_holds(tmp_path, text, expected):
    with pytest.raises(InputDataError, match=expected):
        read_camera(write(tmp_path, "camera.json", text))


def test_a_rotated_camera_pose_is_accepted(tmp_path):
    camera = read_camera(write(tmp_path, "camera.json",
                               json.dumps({"K": K, "width": 64, "height": 48, "cam_to_world": ROTATED})))
    np.testing.assert_allclose(camera.cam_to_world, ROTATED)


def test_split_names_trims_and_drops_empty_items():
    assert split_names(" door-open, ,hammer ") == ["door-open", "hammer"]
    assert split_names(None) is None


def test_a_video_is_read_from_frames_or_a_gif_and_bad_ones_are_refused(tmp_path):
    from avdc_core.artifacts import write_video
    from avdc_core.readers import read_video

    frames = np.random.default_rng(1).integers(0, 256, (3, 16, 24, 3), dtype=np.uint8)
    folder = tmp_path / "frames"
    folder.mkdir()
    for index in (10, 2, 1):  # numeric, not lexical, order
        cv2.imwrite(str(folder / f"{index}.png"), frames[[1, 2, 10].index(index)][..., ::-1])
    np.testing.assert_array_equal(read_video(folder), frames)
    gif = write_video(tmp_path / "clip.gif", frames)
    assert read_video(gif).shape == frames.shape
    with pytest.raises(InputDataError, match="not a readable GIF/MP4"):
        read_video(write(tmp_path, "broken.mp4", b"\x00\x00\x00\x18ftypmp42 broken"))
    cv2.imwrite(str(folder / "11.png"), np.zeros((16, 24, 3), np.uint16))
    with pytest.raises(InputDataError, match="11.png.*uint16"):
        read_video(folder)
