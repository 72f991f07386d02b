"""The franky-sim tabletop's tasks: what moves, where it must end, and how a seed places it.

World frame = the robot's base frame (metres; z up, x away from the robot's base). The table top
is at ``z = 0``. Every task has one movable object (a free body) and one goal (a mocap body that
a seed places); success is judged from the object's final pose (:meth:`TabletopTask.succeeded`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from avdc_core.spec import check_choice

TABLE_TOP_Z = 0.0
CAMERA_NAME = "front"
FINGER_BODIES = ("robot0_left_finger", "robot0_right_finger")
"""The gripper's finger bodies in the simulator's model (franky-sim prefixes robot 0's names)."""
ROBOT_PREFIX = "robot0_"


@dataclass(frozen=True)
class TabletopTask:
    """One task of the tabletop.

    ``object_half_size`` (m, box half extents) of the body ``object_body``; the goal is the mocap
    body ``goal_body``, whose top is ``goal_height_m`` above the table (0 for a flat marker).
    A seed draws the object's centre from ``object_area`` and the goal's from ``goal_area``
    (``(x_min, x_max, y_min, y_max)``), at least ``min_distance_m`` apart. Success: the object's
    centre within ``tolerance_m`` of the goal's (horizontally), resting on it (its bottom within
    1 cm of the goal's top, slower than 2 cm/s, touched by neither finger).
    """

    name: str
    text: str
    object_body: str
    object_half_size: tuple[float, float, float]
    object_mass_kg: float
    goal_body: str
    goal_half_size: tuple[float, float, float]
    goal_height_m: float
    object_area: tuple[float, float, float, float]
    goal_area: tuple[float, float, float, float]
    min_distance_m: float
    tolerance_m: float
    object_rgba: str
    goal_rgba: str

    def placement(self, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """``(object_centre, goal_centre)`` (world, m) of episode ``seed``: the same seed, the
        same scene."""
        rng = np.random.default_rng(seed)
        while True:
            obj = np.array([rng.uniform(*self.object_area[:2]), rng.uniform(*self.object_area[2:]),
                            TABLE_TOP_Z + self.object_half_size[2]])
            goal = np.array([rng.uniform(*self.goal_area[:2]), rng.uniform(*self.goal_area[2:]),
                             TABLE_TOP_Z + self.goal_height_m - self.goal_half_size[2]])
            if np.linalg.norm(obj[:2] - goal[:2]) >= self.min_distance_m:
                return obj, goal

    def resting_height(self, goal_centre: np.ndarray) -> float:
        """World z of the object's centre when it rests on the goal."""
        return float(goal_centre[2] + self.goal_half_size[2] + self.object_half_size[2])

    def succeeded(self, object_centre: np.ndarray, object_speed: float, goal_centre: np.ndarray,
                  touched_by_fingers: bool) -> bool:
        """The task's success test (see the class docstring)."""
        horizontal = float(np.linalg.norm(np.asarray(object_centre[:2]) - goal_centre[:2]))
        resting = abs(float(object_centre[2]) - self.resting_height(goal_centre)) < 0.01
        return horizontal < self.tolerance_m and resting and object_speed < 0.02 and not touched_by_fingers


TASKS = {
    "pick-place": TabletopTask(
        name="pick-place", text="put the red cube on the green pad",
        object_body="cube", object_half_size=(0.025, 0.025, 0.025), object_mass_kg=0.1,
        goal_body="goal", goal_half_size=(0.05, 0.05, 0.015), goal_height_m=0.03,
        object_area=(0.42, 0.58, -0.18, -0.02), goal_area=(0.42, 0.58, 0.06, 0.18),
        min_distance_m=0.12, tolerance_m=0.02, object_rgba="0.85 0.1 0.1 1", goal_rgba="0.1 0.7 0.2 1"),
    "push": TabletopTask(
        name="push", text="push the blue block onto the green mark",
        object_body="block", object_half_size=(0.035, 0.035, 0.025), object_mass_kg=0.3,
        goal_body="goal", goal_half_size=(0.045, 0.045, 0.0005), goal_height_m=0.001,
        object_area=(0.40, 0.55, -0.15, 0.15), goal_area=(0.40, 0.60, -0.15, 0.15),
        min_distance_m=0.12, tolerance_m=0.02, object_rgba="0.1 0.25 0.85 1", goal_rgba="0.1 0.7 0.2 1"),
}
"""The tabletop's tasks by name. The pad of ``pick-place`` is 3 cm high, so a cube pushed across
the table does not get onto it: it has to be lifted; the block of ``push`` slides to a flat mark
(its video never lifts it, so the executor's total-lift rule pushes it)."""

DEFAULT_TASKS = tuple(TASKS)


def check_task(task: str, field: str = "task") -> str:
    """``task`` if the tabletop has it; raises listing the valid names and the closest."""
    return check_choice(task, list(TASKS), "franky-sim task", field)
