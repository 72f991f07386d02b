"""RGB-D cameras for a real or simulated robot: a swappable piece of an executor's config.

``source`` picks where frames come from:

* ``sim`` — the simulated world's own camera (the executor's simulator renders it; exact);
* ``recorded`` — one recorded frame: ``rgb`` (PNG/JPG), ``depth`` (``.npy`` metres or 16-bit PNG
  millimetres) and ``calibration`` — for dry runs and tests, with no camera attached;
* ``realsense`` — an Intel RealSense through its vendor library (``pip install pyrealsense2``),
  depth aligned to colour; intrinsics from the device, extrinsics from ``calibration``.

**Calibration file** (the format ``avdc plan --camera`` reads): JSON with ``K`` (3x3, pixels),
``width``, ``height`` and ``cam_to_world`` (4x4 rigid transform, OpenCV camera frame — x right,
y down, z forward — to the robot's base frame, metres). A missing file, malformed JSON or a
non-rigid ``cam_to_world`` is refused with the file and the reason.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from avdc_core.errors import InputDataError, MissingResourceError
from avdc_core.interfaces import BuildContext, ComponentConfig
from avdc_core.readers import read_camera, read_depth, read_rgb
from avdc_core.types import Camera, Observation


class CameraConfig(ComponentConfig):
    """Where an executor's RGB-D frames come from (see the module docstring)."""

    source: Literal["sim", "recorded", "realsense"] = "sim"
    calibration: str | None = Field(default=None, description="camera JSON: K, width, height, cam_to_world "
                                    "(robot base frame); needed by recorded and realsense")
    rgb: str | None = Field(default=None, description="recorded: the colour image")
    depth: str | None = Field(default=None, description="recorded: metric depth (.npy m or 16-bit PNG mm)")
    serial: str | None = Field(default=None, description="realsense: the device's serial (any if unset)")

    @model_validator(mode="after")
    def _files_for_source(self) -> CameraConfig:
        needed = {"sim": (), "recorded": ("calibration", "rgb", "depth"), "realsense": ("calibration",)}
        missing = [name for name in needed[self.source] if getattr(self, name) is None]
        if missing:
            raise ValueError(f"source {self.source!r} needs {', '.join(missing)}")
        return self

    def files(self, context: BuildContext) -> list[Path]:
        """The files this camera reads, resolved against the spec's folder."""
        return [context.resolve(path) for path in (self.calibration, self.rgb, self.depth) if path is not None]

    def check_files(self, context: BuildContext, where: str) -> None:
        for path in self.files(context):
            if not path.is_file():
                raise MissingResourceError(f"{where}: file {str(path)!r} does not exist")


class RGBDCamera(ABC):
    """A camera that gives observations: RGB, metric depth and the exact camera model."""

    @abstractmethod
    def observe(self) -> Observation:
        """The current frame."""

    def close(self) -> None:  # noqa: B027 - a hook: a recorded frame holds no device
        """Release the device."""


class RecordedCamera(RGBDCamera):
    """One recorded frame, always the same (a dry run plans from it)."""

    def __init__(self, config: CameraConfig, context: BuildContext) -> None:
        camera = read_camera(context.resolve(config.calibration))
        rgb = read_rgb(context.resolve(config.rgb))
        depth = read_depth(context.resolve(config.depth))
        camera.check_image("camera.rgb", rgb)
        if depth.shape != rgb.shape[:2]:
            raise InputDataError(f"camera.depth is {depth.shape[1]}x{depth.shape[0]} but camera.rgb is "
                                 f"{rgb.shape[1]}x{rgb.shape[0]}; they must be the same size")
        self.observation = Observation(rgb, depth, camera)

    def observe(self) -> Observation:
        return self.observation


class RealSenseCamera(RGBDCamera):
    """An Intel RealSense (colour + depth aligned to colour) at the calibration's size."""

    def __init__(self, config: CameraConfig, context: BuildContext) -> None:
        try:
            import pyrealsense2 as rs
        except ImportError as error:
            raise MissingResourceError("camera source 'realsense' needs Intel's library: pip install "
                                       "pyrealsense2 (and a connected camera)") from error
        self.calibration = read_camera(context.resolve(config.calibration))
        rs_config = rs.config()
        if config.serial:
            rs_config.enable_device(config.serial)
        width, height = self.calibration.width, self.calibration.height
        rs_config.enable_stream(rs.stream.color, width, height, rs.format.rgb8, 30)
        rs_config.enable_stream(rs.stream.depth, width, height, rs.format.z16, 30)
        self.pipeline = rs.pipeline()
        try:
            profile = self.pipeline.start(rs_config)
        except RuntimeError as error:
            raise MissingResourceError(f"no RealSense camera could be started ({error}); check the cable and "
                                       f"serial {config.serial!r}") from error
        self.depth_scale = profile.get_device().first_depth_sensor().get_depth_scale()
        self.align = rs.align(rs.stream.color)

    def observe(self) -> Observation:
        frames = self.align.process(self.pipeline.wait_for_frames())
        rgb = np.asanyarray(frames.get_color_frame().get_data()).copy()
        depth = np.asanyarray(frames.get_depth_frame().get_data()).astype(np.float64) * self.depth_scale
        intrinsics = frames.get_color_frame().profile.as_video_stream_profile().intrinsics
        K = np.array([[intrinsics.fx, 0, intrinsics.ppx], [0, intrinsics.fy, intrinsics.ppy], [0, 0, 1]])
        camera = Camera(K, self.calibration.cam_to_world, intrinsics.width, intrinsics.height)
        return Observation(rgb, depth, camera)

    def close(self) -> None:
        self.pipeline.stop()


def open_camera(config: CameraConfig, context: BuildContext) -> RGBDCamera:
    """The camera ``config`` names (``sim`` cameras belong to their simulator: not here)."""
    if config.source == "recorded":
        return RecordedCamera(config, context)
    if config.source == "realsense":
        return RealSenseCamera(config, context)
    raise InputDataError("camera source 'sim' is rendered by the executor's simulator "
                         "(launch_simulator: true)")
