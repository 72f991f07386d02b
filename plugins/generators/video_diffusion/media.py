"""Training sample videos: the real clip above the model's sample."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from avdc_core.artifacts import write_video


def write_sample_gif(path: Path, truth: np.ndarray, sample: np.ndarray) -> None:
    """A GIF whose top row plays the real clip and bottom row the sample (upscaled to >= 128 px)."""
    grid = np.concatenate([truth, sample], axis=1)
    scale = max(1, 128 // truth.shape[1])
    write_video(path, grid.repeat(scale, axis=1).repeat(scale, axis=2))
