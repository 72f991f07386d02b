"""Files a person hands to avdc: an RGB image, a depth map, a camera. (Writers: :mod:`.artifacts`.)

Every reader checks what it reads and raises :class:`~avdc_core.errors.InputDataError` naming
the file, what is wrong and what would be valid — a truncated PNG, a camera JSON with ``K`` as
strings, a depth of the wrong dtype never travel further than here. Nothing is unpickled.
"""

from __future__ import annotations

import json
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
