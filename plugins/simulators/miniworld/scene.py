"""A MiniWorld go-to-object task seen through the agent's camera: environment, rendering, exact
camera, and the simulator contract (expert rollouts, ground-truth videos).

Rendering is offscreen OpenGL through EGL (``pyglet.options["headless"]``, set before MiniWorld
is first imported). Images come as the environment gives them (row 0 at the top). Depth is
MiniWorld's own metric z-distance along the optical axis. The camera is a pinhole camera with
MiniWorld's vertical field of view, square pixels and the principal point at the centre; its
OpenCV frame is x = the agent's right, y = down, z = its heading.

The scripted expert (:mod:`.expert`) turns towards its next waypoint and walks: straight to the
target when it is in sight, through the doors along a grid path when a wall is in the way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from avdc_core.errors import MissingResourceError
from avdc_core.simulation import (
    ExpertRollout,
    SceneParts,
    SimulatedFrames,
    SimulatedScene,
    SimulatorView,
    load_triton_before_egl,
)
from avdc_core.types import Camera, Observation, Video

from .expert import WaypointExpert
from .tasks import FORWARD_STEP_M, FOV_DEG, TASKS, TURN_STEP_DEG, check_task

ACTIONS = ("turn_left", "turn_right", "move_forward")
"""MiniWorld's navigation actions, in its own numbering."""

PARTS = SceneParts(("scene",), np.array([0]), ("world",))
"""Navigation needs no object names: every pixel is the static scene (part 0, body 0)."""


def import_miniworld() -> Any:
    """``gymnasium`` with MiniWorld's environments registered, rendering headless (EGL; Triton
    first: :func:`avdc_core.simulation.load_triton_before_egl`)."""
    load_triton_before_egl()
    try:
        import pyglet

        pyglet.options["headless"] = True
        import gymnasium
        import miniworld  # noqa: F401  (registers the MiniWorld-* environments)
    except ImportError as error:
        raise MissingResourceError("MiniWorld support needs miniworld: pip install 'avdc[miniworld]'") from error
    return gymnasium


class MiniWorldScene(SimulatedScene):
    """One MiniWorld task: the live environment, its agent's camera and a scripted expert."""

    world = "miniworld"

    def __init__(self, task: str, width: int = 64, height: int = 64, seed: int = 0,
                 turn_step_deg: float = TURN_STEP_DEG, forward_step_m: float = FORWARD_STEP_M,
                 fov_deg: float = FOV_DEG) -> None:
        gymnasium = import_miniworld()
        from miniworld.params import DEFAULT_PARAMS

        self.task = check_task(task)
        params = DEFAULT_PARAMS.no_random()
        params.set("turn_step", float(turn_step_deg))
        params.set("forward_step", float(forward_step_m))
        params.set("forward_drift", 0.0)
        params.set("cam_fov_y", float(fov_deg))
        self.turn_step_deg = float(turn_step_deg)
        self.width, self.height = int(width), int(height)
        self.env = gymnasium.make(TASKS[self.task], obs_width=self.width, obs_height=self.height,
                                  params=params, domain_rand=False).unwrapped
        self.reset(seed)

    def reset(self, seed: int) -> None:
        """Start the episode of ``seed`` in this environment. Reusing one scene for many episodes
        keeps memory flat: every new MiniWorld environment holds on to its OpenGL resources even
        after ``close`` (measured at 64x64: 11 GB resident after 300 collected episodes with one
        environment each). Reused, 10 and 60 episodes both peak at 400 MB, and an episode is the
        same as in a fresh environment (frames and ``info.json``, checked on 5)."""
        self.env.reset(seed=seed)
        self.target = self.env.box
        self.expert = WaypointExpert(self.env, self.target, self.turn_step_deg)

    # --- camera and rendering -------------------------------------------------------------
    def camera(self) -> Camera:
        """The agent camera's exact pinhole model (OpenCV frame)."""
        agent = self.env.agent
        pose = np.eye(4)
        pose[:3, 0] = agent.right_vec
        pose[:3, 1] = (0.0, -1.0, 0.0)
        pose[:3, 2] = agent.dir_vec
        pose[:3, 3] = agent.cam_pos
        return Camera.from_fov(self.width, self.height, float(agent.cam_fov_y), pose)

    def effector(self) -> np.ndarray:
        """A point 1 m ahead of the camera: it moves when the agent walks *or* turns (a stall
        detector watching it sees a turn as progress, a walk into a wall as a stall)."""
        agent = self.env.agent
        return np.asarray(agent.cam_pos, dtype=np.float64) + agent.dir_vec

    def render(self) -> tuple[np.ndarray, np.ndarray]:
        """RGB ``[H, W, 3]`` uint8 and metric depth ``[H, W]`` of the live state."""
        rgb = np.ascontiguousarray(self.env.render_obs())
        depth = self.env.render_depth()[..., 0].astype(np.float64)
        return rgb, depth

    def observation(self) -> Observation:
        rgb, depth = self.render()
        segmentation = np.zeros(depth.shape, dtype=np.int32)
        truth = SimulatorView(self.world, self.task, "agent", segmentation, PARTS, self)
        return Observation(rgb, depth, self.camera(), truth)

    # --- state and acting -------------------------------------------------------------------
    def state(self) -> np.ndarray:
        agent = self.env.agent
        return np.array([*agent.pos, agent.dir, self.env.step_count], dtype=np.float64)

    def set_state(self, state: np.ndarray) -> None:
        agent = self.env.agent
        agent.pos = np.array(state[:3], dtype=np.float64)
        agent.dir = float(state[3])
        self.env.step_count = int(state[4])

    def step(self, action: str) -> bool:
        """Take one action; True when the target is reached (MiniWorld's own ``near`` test, the one
        its go-to-object tasks end on; ThreeRooms never ends by itself)."""
        self.env.step(ACTIONS.index(action))
        return self.success()

    def success(self) -> bool:
        """The environment's own goal test now: the agent is near the target."""
        return bool(self.env.near(self.target))

    def expert_action(self) -> str:
        """The expert's next move from the live state."""
        return self.expert.action()

    # --- privileged: expert and ground-truth video --------------------------------------------
    def expert_rollout(self, max_steps: int, extra_steps: int = 0) -> ExpertRollout:
        """The expert from the live state; the live state is restored afterwards."""
        start = self.state()
        states, success_at = [start], None
        try:
            for step in range(max_steps):
                # once the target is reached the agent stands still: the last view repeats for
                # ``extra_steps`` frames, as a finished plan of the paper's training data does
                reached = self.step(self.expert_action()) if success_at is None else False
                states.append(self.state())
                if success_at is None and reached:
                    success_at = step
                if success_at is not None and step - success_at >= extra_steps:
                    break
        finally:
            self.set_state(start)
        return ExpertRollout(states, success_at is not None)

    def render_video(self, states: Sequence[np.ndarray]) -> Video:
        """Render ``states``: per frame RGB, depth and the moving camera; the scene is static."""
        start = self.state()
        frames, depth, cameras = [], [], []
        try:
            for state in states:
                self.set_state(state)
                rgb, view_depth = self.render()
                frames.append(rgb)
                depth.append(view_depth)
                cameras.append(self.camera())
        finally:
            self.set_state(start)
        depth_array = np.stack(depth)
        segmentation = np.zeros(depth_array.shape, dtype=np.int32)
        poses = np.tile(np.eye(4), (len(frames), 1, 1, 1))
        truth = SimulatedFrames(depth_array, segmentation, PARTS, poses, tuple(cameras),
                                depth_without_robot=depth_array, segmentation_without_robot=segmentation)
        return Video(np.stack(frames), truth)

    def close(self) -> None:
        self.env.close()
