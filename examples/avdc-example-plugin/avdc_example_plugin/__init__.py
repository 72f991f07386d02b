"""An example avdc plugin: registered through the `avdc` entry-point group, nothing else."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from avdc_core import ComponentConfig, Flow, FlowEstimator, hookimpl


def phase_shift(first: np.ndarray, second: np.ndarray) -> tuple[float, float]:
    """Global ``(dx, dy)`` translation in pixels from ``first`` to ``second`` (RGB uint8)."""
    import cv2

    gray = [cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float64) for image in (first, second)]
    window = cv2.createHanningWindow(gray[0].shape[::-1], cv2.CV_64F)
    (dx, dy), _ = cv2.phaseCorrelate(gray[0], gray[1], window)
    return float(dx), float(dy)


class PhaseShiftFlow(FlowEstimator):
    """One global translation per frame pair (phase correlation), the same at every pixel."""

    name = "phase-shift"

    class Config(ComponentConfig):
        pass

    def estimate(self, video, backward=True):
        frames = video.frames
        shifts = np.array([phase_shift(a, b) for a, b in zip(frames[:-1], frames[1:], strict=True)])
        height, width = frames.shape[1:3]
        forward = np.broadcast_to(shifts[:, None, None, :], (len(shifts), height, width, 2)).copy()
        return Flow(forward, -forward if backward else None)


def phase_shift_command(first: Path, second: Path) -> None:
    """Print the global translation (pixels) from image FIRST to image SECOND."""
    import imageio.v3 as iio

    dx, dy = phase_shift(iio.imread(first)[..., :3], iio.imread(second)[..., :3])
    print(f"dx={dx:.2f} dy={dy:.2f}")


@hookimpl
def avdc_components():
    return [PhaseShiftFlow]


@hookimpl
def avdc_cli(app):
    app.command("phase-shift")(phase_shift_command)
