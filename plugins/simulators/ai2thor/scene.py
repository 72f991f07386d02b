"""One iTHOR scene seen through the agent's camera: the controller, RGB-D, the exact camera and
the paper's success test.

Coordinates. Unity's world is left-handed (x right, y up, z forward); avdc's world for AI2-THOR is
Unity's with y negated (x right, y *down*, z forward), which is right-handed and makes the agent's
camera at yaw 0 and horizon 0 the identity rotation in OpenCV's camera frame (x right, y down, z
ahead). Yaw is Unity's rotation about y (positive turns right), the horizon is the camera's pitch
(positive looks down).
"""

from __future__ import annotations

import math
import os

import numpy as np

from avdc_core.errors import MissingResourceError
from avdc_core.types import Camera, Observation

from .build import Platform, locate_build
from .tasks import (
    FOV_DEG,
    GRID_SIZE_M,
    RESOLUTION,
    ROTATE_STEP_DEG,
    TARGET_SCENES,
    VISIBILITY_DISTANCE_M,
    check_target,
)

THOR_ACTIONS = {"turn_left": "RotateLeft", "turn_right": "RotateRight", "move_forward": "MoveAhead"}
"""avdc's navigation moves → AI2-THOR's actions."""


def camera_pose(position: dict[str, float], yaw_deg: float, horizon_deg: float) -> np.ndarray:
    """``cam_to_world`` (4x4, OpenCV camera frame, avdc's world) of a camera at Unity
    ``position`` with the agent's yaw and the camera's horizon (degrees)."""
    psi, theta = math.radians(yaw_deg), math.radians(horizon_deg)
    right = np.array([math.cos(psi), 0.0, -math.sin(psi)])
    ahead = np.array([math.sin(psi) * math.cos(theta), math.sin(theta), math.cos(psi) * math.cos(theta)])
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 2] = right, ahead
    pose[:3, 1] = np.cross(ahead, right)
    pose[:3, 3] = (position["x"], -position["y"], position["z"])
    return pose


class ThorScene:
    """A live iTHOR scene with the agent at a seeded random reachable start, facing a random
    multiple of the turn step."""

    world = "ai2thor"

    def __init__(self, target: str, seed: int, scene: str | None = None, resolution: tuple[int, int] = RESOLUTION,
                 fov_deg: float = FOV_DEG, rotate_step_deg: float = ROTATE_STEP_DEG, grid_size_m: float = GRID_SIZE_M,
                 visibility_distance_m: float = VISIBILITY_DISTANCE_M, platform: Platform = "linux64",
                 executable: str | None = None) -> None:
        self.target = check_target(target)
        self.scene_name = scene or TARGET_SCENES[self.target]
        build = locate_build(platform, executable)  # before the controller: it would download
        if build.platform == "linux64" and not os.environ.get("DISPLAY"):
            raise MissingResourceError("AI2-THOR's linux64 build renders through an X display and DISPLAY is "
                                       "not set: run under `xvfb-run -a`, or use platform: cloud-rendering "
                                       "(headless, needs an NVIDIA GPU with Vulkan)")
        from ai2thor.controller import Controller

        self.width, self.height = int(resolution[0]), int(resolution[1])
        self.fov_deg, self.rotate_step_deg, self.grid_size_m = float(fov_deg), float(rotate_step_deg), grid_size_m
        self.controller = Controller(scene=self.scene_name, width=self.width, height=self.height,
                                     fieldOfView=self.fov_deg, gridSize=grid_size_m, rotateStepDegrees=rotate_step_deg,
                                     visibilityDistance=visibility_distance_m, renderDepthImage=True,
                                     snapToGrid=True, **build.controller_args())
        self._check_target_exists()
        positions = self.controller.step(action="GetReachablePositions").metadata["actionReturn"]
        rng = np.random.default_rng(seed)
        start = positions[int(rng.integers(len(positions)))]
        turns = round(360 / self.rotate_step_deg)
        yaw = float(rng.integers(turns)) * self.rotate_step_deg
        self.event = self.controller.step(action="Teleport", position=start, rotation={"x": 0, "y": yaw, "z": 0},
                                          horizon=0, standing=True)

    def _check_target_exists(self) -> None:
        types = sorted({obj["objectType"] for obj in self.controller.last_event.metadata["objects"]})
        if self.target not in types:
            raise MissingResourceError(f"executor.params.target: {self.target!r} is not in scene "
                                       f"{self.scene_name!r}; its object types: {', '.join(types)}")

    def camera(self) -> Camera:
        agent = self.event.metadata["agent"]
        pose = camera_pose(self.event.metadata["cameraPosition"], agent["rotation"]["y"], agent["cameraHorizon"])
        return Camera.from_fov(self.width, self.height, self.fov_deg, pose)

    def render(self) -> tuple[np.ndarray, np.ndarray]:
        """RGB ``[H, W, 3]`` uint8 and metric depth ``[H, W]`` (m) of the last event."""
        return np.ascontiguousarray(self.event.frame), np.asarray(self.event.depth_frame, dtype=np.float64)

    def observation(self) -> Observation:
        rgb, depth = self.render()
        return Observation(rgb, depth, self.camera())

    def effector(self) -> np.ndarray:
        """A point 1 m ahead of the camera: it moves with every turn and walk."""
        pose = self.camera().cam_to_world
        return pose[:3, 3] + pose[:3, 2]

    def step(self, action: str) -> bool:
        """Take one move. The paper's episode does not end on sight of the target (success is
        tested when the agent stops or runs out of steps), so this returns False."""
        magnitude = {"moveMagnitude": self.grid_size_m} if action == "move_forward" else {
            "degrees": self.rotate_step_deg}
        self.event = self.controller.step(action=THOR_ACTIONS[action], **magnitude)
        return False

    def success(self) -> bool:
        """The paper's test: the target is visible (within the visibility distance) now."""
        return any(obj["objectType"] == self.target and obj["visible"] for obj in self.event.metadata["objects"])

    def close(self) -> None:
        self.controller.stop()
