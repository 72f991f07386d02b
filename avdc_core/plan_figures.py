"""Figures of one plan that a person can read: every panel labelled, one scale per figure, a
colour key for flow, a mask outline that stays visible on any background, and a title naming the
episode (task, setting, seed, plan)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .types import Plan

PANEL_INCHES = 2.0
DPI = 90


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the file-only Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def flow_to_rgb(flow: np.ndarray, max_px: float | None = None) -> np.ndarray:
    """Colour-code a flow field ``[H, W, 2]``: hue = direction, brightness = magnitude."""
    import cv2

    magnitude, angle = cv2.cartToPolar(flow[..., 0].astype(np.float32), flow[..., 1].astype(np.float32))
    scale = max_px or max(float(magnitude.max()), 1e-6)
    hsv = np.zeros((*flow.shape[:2], 3), dtype=np.uint8)
    hsv[..., 0] = (angle * 90 / np.pi).astype(np.uint8)
    hsv[..., 1] = 255
    hsv[..., 2] = np.clip(magnitude / scale * 255, 0, 255).astype(np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def flow_scale_px(flows: np.ndarray) -> float:
    """One magnitude (pixels) for every pair of a figure: the 99th percentile of all flow
    magnitudes, so a few wild pixels do not darken the rest; at least 0.1 px."""
    magnitude = np.linalg.norm(flows.reshape(-1, 2), axis=1)
    return max(float(np.percentile(magnitude, 99)), 0.1) if magnitude.size else 0.1


def colour_wheel(size: int = 96) -> np.ndarray:
    """The flow colour key: a disc whose hue is the direction and brightness the magnitude,
    from 0 at the centre to the figure's scale at the rim (black outside)."""
    ys, xs = np.mgrid[-1:1:size * 1j, -1:1:size * 1j]
    wheel = flow_to_rgb(np.stack([xs, ys], axis=-1), max_px=1.0)
    wheel[np.hypot(xs, ys) > 1] = 255
    return wheel


def _panels(count: int, title: str, extra: int = 0) -> tuple[Any, Any, list]:
    plt = pyplot()
    figure, axes = plt.subplots(1, count + extra, figsize=(PANEL_INCHES * (count + extra), PANEL_INCHES + 0.6),
                                squeeze=False)
    axes = list(axes[0])
    for axis in axes:
        axis.set_xticks([])
        axis.set_yticks([])
    figure.suptitle(title, fontsize=10)
    return plt, figure, axes


def _save(plt: Any, figure: Any, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=DPI)
    plt.close(figure)
    return path


def flow_figure(plan: Plan, path: Path, title: str) -> Path:
    """Forward flow of each frame pair on one scale, with the colour key beside it."""
    flows = plan.flow.forward
    scale = flow_scale_px(flows)
    plt, figure, axes = _panels(len(flows), f"{title}: optical flow", extra=1)
    for index, (axis, flow) in enumerate(zip(axes[:-1], flows, strict=True)):
        axis.imshow(flow_to_rgb(flow, max_px=scale))
        axis.set_title(f"frames {index}→{index + 1}", fontsize=8)
    key = axes[-1]
    key.imshow(colour_wheel())
    key.set_title(f"key: hue = direction,\nrim = {scale:.2g} px", fontsize=8)
    key.set_frame_on(False)
    return _save(plt, figure, path)


def tracks_figure(plan: Plan, path: Path, title: str) -> Path:
    """Each frame with its valid tracked points; frame 0 with the mask's outline, drawn white
    over black so that it shows on any colour."""
    plt, figure, axes = _panels(len(plan.video.frames), f"{title}: mask and tracked points")
    mask = plan.mask.pixels.astype(float)
    for t, (axis, frame) in enumerate(zip(axes, plan.video.frames, strict=True)):
        axis.imshow(frame)
        points = plan.tracks.pixels[t][plan.tracks.valid[t]]
        axis.scatter(points[:, 0], points[:, 1], s=4, c="lime", edgecolors="black", linewidths=0.3)
        axis.set_xlim(-0.5, frame.shape[1] - 0.5)
        axis.set_ylim(frame.shape[0] - 0.5, -0.5)
        axis.set_title(f"frame {t}: {len(points)} tracks", fontsize=8)
        if t == 0 and mask.any():
            axis.contour(mask, levels=[0.5], colors="black", linewidths=3.2)
            axis.contour(mask, levels=[0.5], colors="white", linewidths=1.2)
    return _save(plt, figure, path)


def trajectory_figure(plan: Plan, path: Path, title: str) -> Path:
    """The recovered rigid motion per frame: translation (mm, world axes), rotation angle
    (degrees), the fit's residual (pixels) and, when the solver gave one, its uncertainty: the
    standard deviation (mm) of the moved reference point along the world axes and along the
    viewing ray (see :class:`~avdc_core.types.RigidTrajectory`)."""
    plt = pyplot()
    trajectory = plan.trajectory
    frames = np.arange(len(trajectory.transforms))
    translation_mm = 1000 * trajectory.transforms[:, :3, 3]
    cosine = (np.trace(trajectory.transforms[:, :3, :3], axis1=1, axis2=2) - 1) / 2
    angle_deg = np.degrees(np.arccos(np.clip(cosine, -1, 1)))
    figure, axes = plt.subplots(1, 4, figsize=(13, 2.8))
    for axis_index, name in enumerate("xyz"):
        axes[0].plot(frames, translation_mm[:, axis_index], marker="o", label=name)
        if trajectory.translation_std_m is not None:
            axes[3].plot(frames, 1000 * trajectory.translation_std_m[:, axis_index], linewidth=1, label=name)
    axes[0].set_ylabel("translation (mm)")
    axes[0].legend(fontsize=7)
    axes[1].plot(frames, angle_deg, marker="o", color="tab:purple")
    axes[1].set_ylabel("rotation (degrees)")
    axes[2].plot(frames, trajectory.residuals_px, marker="o", color="tab:red")
    axes[2].set_ylabel("residual (px)")
    if trajectory.ray_std_m is None:
        axes[3].text(0.5, 0.5, "no uncertainty\nfrom this solver", ha="center", va="center",
                     transform=axes[3].transAxes, fontsize=8)
    else:
        axes[3].plot(frames, 1000 * trajectory.ray_std_m, marker="o", linewidth=2, color="black",
                     label="along ray")
        axes[3].legend(fontsize=7)
    axes[3].set_ylabel("standard deviation (mm)")
    for axis in axes:
        axis.set_xlabel("frame")
        axis.grid(alpha=0.3)
    figure.suptitle(f"{title}: {trajectory.mode} motion from frame 0", fontsize=10)
    return _save(plt, figure, path)
