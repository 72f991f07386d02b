"""Files a person hands to avdc: an RGB image, a video, a depth map, a camera; and what to say
when a weights file will not load. (Writers: :mod:`.artifacts`.)

Every reader checks what it reads and raises :class:`~avdc_core.errors.InputDataError` naming
the file, what is wrong and what would be valid — a truncated PNG, a camera JSON with ``K`` as
strings, a depth of the wrong dtype never travel further than here. Nothing is unpickled.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from .errors import InputDataError, MissingResourceError
from .types import Camera


def _existing_file(path: Path, what: str) -> Path:
    path = Path(path)
    if path.is_dir():
        raise InputDataError(f"{what} {str(path)!r} is a folder; give a file")
    if not path.is_file():
        raise MissingResourceError(f"{what} {str(path)!r} does not exist")
    return path


def read_rgb(path: Path) -> np.ndarray:
    """An 8-bit RGB (or RGBA, alpha dropped) image as ``[H, W, 3]`` uint8.

    Read with OpenCV unchanged, so that a 16-bit or grey image is refused rather than silently
    converted (imageio's Pillow plugin cuts 16-bit colour to 8 bits)."""
    import cv2

    path = _existing_file(path, "image file")
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise InputDataError(f"image file {str(path)!r} is not a readable image (damaged, empty or "
                             "another format); expected an 8-bit RGB PNG or JPG")
    if image.ndim != 3 or image.shape[2] not in (3, 4) or image.dtype != np.uint8:
        raise InputDataError(f"image {str(path)!r} has shape {image.shape} ({image.dtype}); "
                             "expected an 8-bit RGB image (a 16-bit or grey image is not converted "
                             "silently: convert it first)")
    return np.ascontiguousarray(image[..., 2::-1])


FRAME_SUFFIXES = (".png", ".jpg", ".jpeg")


def read_video(path: Path) -> np.ndarray:
    """``[T, H, W, 3]`` uint8 from a folder of numbered 8-bit RGB images (numeric order) or a
    GIF/MP4 file."""
    path = Path(path)
    if path.is_dir():
        files = sorted((p for p in path.iterdir() if p.suffix.lower() in FRAME_SUFFIXES),
                       key=lambda p: [int(s) if s.isdigit() else s for s in re.split(r"(\d+)", p.stem)])
        if not files:
            raise InputDataError(f"video folder {str(path)!r} has no {'/'.join(FRAME_SUFFIXES)} frames")
        frames = [read_rgb(file) for file in files]
    else:
        import imageio.v3 as iio

        path = _existing_file(path, "video")
        try:
            frames = list(iio.imiter(path))
        except Exception as error:  # imageio raises many kinds for a damaged or foreign file
            raise InputDataError(f"video {str(path)!r} is not a readable GIF/MP4 ({type(error).__name__}: "
                                 f"{error}); expected a GIF, an MP4 or a folder of numbered frames") from error
        if not frames:
            raise InputDataError(f"video {str(path)!r} is not a readable GIF/MP4 (no frame could be decoded); "
                                 "expected a GIF, an MP4 or a folder of numbered frames")
        for index, frame in enumerate(frames):
            if frame.ndim != 3 or frame.shape[2] not in (3, 4) or frame.dtype != np.uint8:
                raise InputDataError(f"video {str(path)!r}: frame {index} has shape {frame.shape} "
                                     f"({frame.dtype}); expected 8-bit RGB frames")
        frames = [np.ascontiguousarray(frame[..., :3]) for frame in frames]
    if len(frames) < 2:
        raise InputDataError(f"video {str(path)!r} has {len(frames)} frame(s); a plan needs at least 2")
    shapes = {frame.shape[:2] for frame in frames}
    if len(shapes) != 1:
        raise InputDataError(f"video {str(path)!r} mixes frame sizes {sorted(shapes)}")
    return np.stack(frames)


def read_depth(path: Path) -> np.ndarray:
    """Metric depth ``[H, W]`` float64 (m) from a ``.npy`` of metres or a 16-bit single-channel PNG
    of millimetres (0 = no depth)."""
    path = _existing_file(path, "depth file")
    expected = "a .npy of metres (2-D, float or integer) or a 16-bit single-channel PNG of millimetres"
    if path.suffix == ".npy":
        try:
            depth = np.load(path, allow_pickle=False)
        except Exception as error:  # a corrupt header, an object array (needs pickle), not .npy
            raise InputDataError(f"depth file {str(path)!r} is not a readable .npy "
                                 f"({type(error).__name__}: {error}); expected {expected}") from error
        if depth.ndim != 2 or depth.dtype.kind not in "fiu":
            raise InputDataError(f"depth file {str(path)!r} holds shape {depth.shape} ({depth.dtype}); "
                                 f"expected {expected}")
        return depth.astype(np.float64)
    import cv2

    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if raw is None or raw.dtype != np.uint16 or raw.ndim != 2:
        found = "unreadable" if raw is None else f"shape {raw.shape} ({raw.dtype})"
        raise InputDataError(f"depth file {str(path)!r} is {found}; expected {expected}")
    return raw.astype(np.float64) / 1000.0


def read_camera(path: Path) -> Camera:
    """A camera from JSON: ``K`` (3x3, pixels), ``width``, ``height`` and optionally
    ``cam_to_world`` (4x4 rigid, OpenCV frame; identity if absent)."""
    path = _existing_file(path, "camera file")
    expected = ("expected a JSON object with K (3x3 numbers), width and height (pixels) and "
                "optionally cam_to_world (4x4 rigid transform)")
    try:
        data = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputDataError(f"camera file {str(path)!r} is not valid JSON ({error}); {expected}") from error
    if not isinstance(data, dict):
        raise InputDataError(f"camera file {str(path)!r} holds a {type(data).__name__}; {expected}")
    missing = {"K", "width", "height"} - set(data)
    if missing:
        raise InputDataError(f"camera file {str(path)!r} lacks {sorted(missing)}; {expected}")
    K = _matrix(data["K"], (3, 3), f"camera file {str(path)!r}: K", expected)
    pose = _matrix(data.get("cam_to_world", np.eye(4).tolist()), (4, 4),
                   f"camera file {str(path)!r}: cam_to_world", expected)
    size = {}
    for key in ("width", "height"):
        value = data[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputDataError(f"camera file {str(path)!r}: {key} is {value!r}; expected a positive "
                                 "whole number of pixels")
        size[key] = value
    if not np.allclose(pose[3], [0, 0, 0, 1]) or not np.allclose(pose[:3, :3] @ pose[:3, :3].T, np.eye(3),
                                                                    atol=1e-4):
        raise InputDataError(f"camera file {str(path)!r}: cam_to_world is not a rigid transform (its "
                             "rotation must be orthonormal and its last row 0 0 0 1)")
    return Camera(K, pose, size["width"], size["height"])


def _matrix(value: object, shape: tuple[int, int], where: str, expected: str) -> np.ndarray:
    """``value`` as a finite float matrix of ``shape``: a list of rows of JSON numbers."""
    def is_number(x: object) -> bool:
        return isinstance(x, (int, float)) and not isinstance(x, bool)

    rows = value if isinstance(value, list) and len(value) == shape[0] else None
    if rows is None or not all(isinstance(row, list) and len(row) == shape[1] and all(map(is_number, row))
                               for row in rows):
        raise InputDataError(f"{where} is {value!r}; {expected}")
    matrix = np.array(rows, dtype=np.float64)
    if not np.isfinite(matrix).all():
        raise InputDataError(f"{where} has non-finite entries; {expected}")
    return matrix


def split_names(value: str | None) -> list[str] | None:
    """A comma-separated command-line list (``"door-open, door-close"``) as names; ``None`` stays
    ``None`` (the command's default)."""
    return None if value is None else [item.strip() for item in value.split(",") if item.strip()]


def weights_error(error: BaseException) -> str:
    """What went wrong loading a weights file, in one line — without torch's advice to retry with
    ``weights_only=False``, which would run whatever code a malicious file carries."""
    text = f"{type(error).__name__}: {error}"
    if "weights_only" in text or "Unpickl" in text:
        found = re.search(r"(?:Unsupported global: |unsupported )GLOBAL ([\w.]+)", text)
        if found:
            return (f"the file holds pickled Python objects beyond plain tensors ({found.group(1)}); "
                    "it was refused unread, since loading it could run code: use weights from a source "
                    "you trust, as safetensors or a plain state dict")
        return "the file is not a weights file (damaged, truncated or of another format)"
    first = text.splitlines()[0] if text.strip() else type(error).__name__
    return first if len(first) <= 300 else first[:300] + "..."
