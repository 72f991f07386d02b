"""The tabletop as the executor's process sees it: franky-sim's model, compiled here from the XML
the simulator sends, kept in step with the simulator's state over the scene channel, and
rendered through the fixed camera (:class:`~avdc_plugins.simulators.mujoco_scene.MujocoScene`).

Privileged, as every simulated world's ground truth: the oracle's "video without actions"
(:meth:`FrankySimScene.expert_rollout`: the object alone carried kinematically to its goal, the
robot standing still — an upper bound, not a policy), segmentation by name, success.
"""

from __future__ import annotations

import numpy as np

from avdc_core.simulation import ExpertRollout

from ..mujoco_scene import MujocoScene, import_mujoco
from .server import SimulatorProcess
from .tasks import CAMERA_NAME, FINGER_BODIES, ROBOT_PREFIX, TASKS

ROBOT_ROOT_BODY = f"{ROBOT_PREFIX}base"
CARRY_HEIGHT_M = 0.10
"""How high above the higher of start and goal the oracle carries a lifted object."""
ORACLE_STEP_M = 0.01
"""Spacing of the oracle's kinematic states along the object's path."""


class FrankySimScene(MujocoScene):
    """The live tabletop of a running franky-sim (``process``), for one ``task``."""

    world = "franky-sim"

    def __init__(self, process: SimulatorProcess, task: str, width: int = 320, height: int = 240) -> None:
        self.mujoco = import_mujoco("franka")
        self.process = process
        self.task = task
        self.spec = TASKS[task]
        model = self.mujoco.MjModel.from_xml_string(process.channel.request("xml")["xml"])
        self.data = self.mujoco.MjData(model)
        self._setup(model, CAMERA_NAME, width, height, ROBOT_ROOT_BODY)
        self.object_id = model.body(self.spec.object_body).id
        self.object_joint = int(model.body_jntadr[self.object_id])
        self.realtime_factor = 0.0
        self.sync()

    # --- the live state ---------------------------------------------------------------------
    def sync(self) -> None:
        """Copy the simulator's state into :attr:`data` (positions, velocities, mocap bodies)."""
        state = self.process.channel.request("state")
        self.data.qpos[:] = state["qpos"]
        self.data.qvel[:] = state["qvel"]
        self.data.mocap_pos[:] = state["mocap_pos"]
        self.realtime_factor = float(state["realtime_factor"])
        self.mujoco.mj_forward(self.model, self.data)

    def observation(self):
        self.sync()
        return super().observation()

    def place(self, seed: int) -> None:
        """Put the object and the goal where episode ``seed`` starts them (the robot must be
        out of the way: the executor sends it home first)."""
        obj, goal = self.spec.placement(seed)
        channel = self.process.channel
        channel.request("place", body=self.spec.goal_body, position=goal.tolist())
        channel.request("place", body=self.spec.object_body, position=obj.tolist())
        self.sync()

    def object_position(self) -> np.ndarray:
        return self.data.xpos[self.object_id].copy()

    def goal_position(self) -> np.ndarray:
        return self.data.xpos[self.model.body(self.spec.goal_body).id].copy()

    def succeeded(self) -> bool:
        """The task's success test on the simulator's current state."""
        self.sync()
        speed = float(np.linalg.norm(self.data.cvel[self.object_id][3:]))
        return self.spec.succeeded(self.object_position(), speed, self.goal_position(),
                                   self.touching(list(FINGER_BODIES), self.spec.object_body))

    # --- privileged: the oracle's video ---------------------------------------------------------
    def object_path(self) -> np.ndarray:
        """``[K, 3]`` positions of the object's centre from where it is to its goal, ``ORACLE_STEP_M``
        apart: straight along the table for a flat goal, else up, across and down onto it."""
        start = self.object_position()
        goal = self.goal_position()
        end = np.array([goal[0], goal[1], self.spec.resting_height(goal)])
        if self.spec.goal_height_m > 0.005:
            top = max(start[2], end[2]) + CARRY_HEIGHT_M
            corners = [start, [start[0], start[1], top], [end[0], end[1], top], end]
        else:
            corners = [start, np.array([end[0], end[1], start[2]])]
        corners = np.asarray(corners, dtype=np.float64)
        points = [corners[0]]
        for a, b in zip(corners[:-1], corners[1:], strict=True):
            count = max(1, int(np.ceil(np.linalg.norm(b - a) / ORACLE_STEP_M)))
            points += [a + (b - a) * (i / count) for i in range(1, count + 1)]
        return np.asarray(points)

    def expert_rollout(self, max_steps: int, extra_steps: int = 0) -> ExpertRollout:
        """The object carried kinematically along :meth:`object_path` (upright, as it is now),
        the robot still: a video of the task without any action (the paper's sense)."""
        self.sync()
        joint = self.model.jnt_qposadr[self.object_joint]
        data = self.data_from_state(self.state())
        data.qvel[:] = 0.0
        full = self.object_path()
        path = np.concatenate([full, np.repeat(full[-1:], extra_steps, axis=0)])[: max_steps + 1]
        states = []
        for position in path:  # only the object's position changes from state to state
            data.qpos[joint:joint + 3] = position
            states.append(self.state(data))
        return ExpertRollout(states, success=len(path) >= len(full))

    def close(self) -> None:
        self.renderer.close()
