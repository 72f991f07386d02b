"""The tabletop franky-sim simulates: franky-sim's Franka FR3 at the origin, a table, the task's
object and goal, and a fixed RGB-D camera — one MuJoCo model, built on franky-sim's scene tree.

The simulator process (:mod:`.server`) steps this model; the executor's process compiles the
same XML (sent by the server) to render the camera and to read ground truth (:mod:`.scene`).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import numpy as np

from .tasks import CAMERA_NAME, TABLE_TOP_Z, TabletopTask

CAMERA_POSITION_M = (0.95, -0.45, 0.50)
CAMERA_TARGET_M = (0.50, 0.0, 0.02)
CAMERA_FOVY_DEG = 42.0
"""The fixed camera: in front of the robot and to its right, looking down at the workspace from
about 0.8 m (a 5 cm cube is ~20 px wide at 320x240)."""
FLOOR_BELOW_TABLE_M = 0.75
"""The arm is mounted on the table, as in most labs; the floor is a table's height below."""


def look_at_axes(position: np.ndarray, target: np.ndarray) -> str:
    """MJCF ``xyaxes`` of a camera at ``position`` looking at ``target`` with world z up
    (a MuJoCo camera looks along its -z axis, x to the right, y up)."""
    forward = np.asarray(target, float) - np.asarray(position, float)
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    return " ".join(f"{v:.6f}" for v in (*right, *up))


def _floats(values) -> str:
    return " ".join(f"{v:g}" for v in values)


def build_simulator(task: TabletopTask) -> Any:
    """A franky-sim ``MujocoSimulator`` with one robot and ``task``'s tabletop (not started)."""
    from franky_sim.mujoco_simulator import MujocoSimulator

    sim = MujocoSimulator()
    body = sim.worldbody
    floor = body.find("geom[@name='ground']")  # franky-sim's floor at z = 0: the arm stands on the table
    floor.set("pos", f"0 0 {TABLE_TOP_Z - FLOOR_BELOW_TABLE_M}")
    ET.SubElement(body, "geom", name="table", type="box", pos=f"0.45 0 {TABLE_TOP_Z - 0.02}",
                  size="0.55 0.6 0.02", rgba="0.72 0.66 0.58 1", friction="0.6 0.005 0.0001")
    obj = ET.SubElement(body, "body", name=task.object_body, pos=f"0.5 0 {task.object_half_size[2]}")
    ET.SubElement(obj, "freejoint", name=f"{task.object_body}_joint")
    ET.SubElement(obj, "geom", name=f"{task.object_body}_geom", type="box", size=_floats(task.object_half_size),
                  rgba=task.object_rgba, mass=f"{task.object_mass_kg:g}", friction="1.0 0.005 0.0001",
                  condim="4")
    goal = ET.SubElement(body, "body", name=task.goal_body, mocap="true", pos="0.5 0.2 0.0")
    solid = task.goal_height_m > 0.005  # a pad to stand on; a flat mark is only drawn
    ET.SubElement(goal, "geom", name=f"{task.goal_body}_geom", type="box", size=_floats(task.goal_half_size),
                  rgba=task.goal_rgba, contype=str(int(solid)), conaffinity=str(int(solid)))
    ET.SubElement(body, "camera", name=CAMERA_NAME, pos=_floats(CAMERA_POSITION_M),
                  xyaxes=look_at_axes(np.array(CAMERA_POSITION_M), np.array(CAMERA_TARGET_M)),
                  fovy=f"{CAMERA_FOVY_DEG:g}")
    sim.add_robot()
    return sim


def scene_xml(sim: Any) -> str:
    """The MJCF of ``sim``'s scene (what the executor's process compiles to render it)."""
    return ET.tostring(sim.scene, encoding="unicode")
