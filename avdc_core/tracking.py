"""Carry points through a video along its optical flow, vectorised over points.

A point is dropped (``valid = False`` from then on) when it leaves the image or when following
the forward flow and then the backward flow does not bring it back within
``fb_threshold_px`` — the usual sign of occlusion (e.g. by the robot arm).
"""

from __future__ import annotations

import numpy as np

from .errors import InputDataError
from .types import Flow, Mask, Tracks


def bilinear_sample(field: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Sample ``field [H, W, C]`` at sub-pixel ``points [N, 2]`` (u, v); edges are clamped."""
    height, width = field.shape[:2]
    u = np.clip(points[:, 0], 0, width - 1)
    v = np.clip(points[:, 1], 0, height - 1)
    u0 = np.minimum(np.floor(u).astype(np.int64), width - 2) if width > 1 else np.zeros_like(u, int)
    v0 = np.minimum(np.floor(v).astype(np.int64), height - 2) if height > 1 else np.zeros_like(v, int)
    du = (u - u0)[:, None]
    dv = (v - v0)[:, None]
    u1 = np.minimum(u0 + 1, width - 1)
    v1 = np.minimum(v0 + 1, height - 1)
    return ((1 - du) * (1 - dv) * field[v0, u0] + du * (1 - dv) * field[v0, u1]
            + (1 - du) * dv * field[v1, u0] + du * dv * field[v1, u1])


def track_points(flow: Flow, start_pixels: np.ndarray, fb_threshold_px: float | None = 2.0) -> Tracks:
    """Tracks of ``start_pixels [N, 2]`` through all frames of ``flow``.

    The forward-backward check runs when ``flow.backward`` is present and ``fb_threshold_px``
    is not ``None``.
    """
    start_pixels = np.asarray(start_pixels, dtype=np.float64)
    if start_pixels.ndim != 2 or start_pixels.shape[1] != 2:
        raise InputDataError(f"start_pixels has shape {start_pixels.shape}; expected (N, 2)")
    if not np.isfinite(start_pixels).all():
        raise InputDataError("start_pixels has NaN/inf coordinates")
    steps, height, width = flow.forward.shape[:3]
    pixels = np.empty((steps + 1, len(start_pixels), 2))
    valid = np.ones((steps + 1, len(start_pixels)), dtype=bool)
    pixels[0] = start_pixels
    valid[0] = _inside(start_pixels, width, height)
    check = flow.backward is not None and fb_threshold_px is not None
    for t in range(steps):
        moved = pixels[t] + bilinear_sample(flow.forward[t], pixels[t])
        ok = valid[t] & _inside(moved, width, height)
        if check:
            returned = moved + bilinear_sample(flow.backward[t], moved)
            ok &= np.linalg.norm(returned - pixels[t], axis=1) <= fb_threshold_px
        pixels[t + 1] = moved
        valid[t + 1] = ok
    return Tracks(pixels, valid)


def _inside(points: np.ndarray, width: int, height: int) -> np.ndarray:
    return ((points[:, 0] >= 0) & (points[:, 0] <= width - 1)
            & (points[:, 1] >= 0) & (points[:, 1] <= height - 1))


def sample_mask_pixels(mask: Mask, valid_depth: np.ndarray, count: int,
                       rng: np.random.Generator) -> np.ndarray:
    """Up to ``count`` pixel centres ``[N, 2]`` (u, v) drawn without replacement from the mask
    where depth is valid. Raises if the mask holds no pixel with valid depth."""
    usable = mask.pixels & valid_depth
    rows, cols = np.nonzero(usable)
    if len(rows) == 0:
        raise InputDataError(
            f"mask from {mask.source or 'the segmenter'} has {mask.count} pixel(s) but none with "
            "valid depth (finite, > 0); nothing to track")
    chosen = rng.choice(len(rows), size=min(count, len(rows)), replace=False)
    return np.stack([cols[chosen], rows[chosen]], axis=1).astype(np.float64)
