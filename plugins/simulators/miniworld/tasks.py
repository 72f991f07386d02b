"""MiniWorld's go-to-object tasks, by avdc's names: the agent walks to the red box."""

from __future__ import annotations

from avdc_core.spec import check_choice

TASKS = {
    "one-room": "MiniWorld-OneRoom-v0",
    "one-room-s6": "MiniWorld-OneRoomS6-v0",
    "hallway": "MiniWorld-Hallway-v0",
    "four-rooms": "MiniWorld-FourRooms-v0",
    "three-rooms": "MiniWorld-ThreeRooms-v0",
    "t-maze": "MiniWorld-TMaze-v0",
    "y-maze": "MiniWorld-YMaze-v0",
    "wall-gap": "MiniWorld-WallGap-v0",
}
"""Tasks whose goal is to reach ``env.box`` (the environment's own ``near`` test decides)."""

DEFAULT_TASKS = ("one-room", "hallway", "four-rooms")
"""The evaluation's default tasks: open room, corridor, rooms joined by doors."""

TARGET = "red box"
TARGET_FOLDER = "RedBox"
"""The target's folder in the iTHOR dataset layout (its task text is the folder name spaced out)."""

FOV_DEG = 90.0
"""Vertical field of view: the paper's iTHOR camera."""
TURN_STEP_DEG = 15.0
"""One turn action: MiniWorld's default (larger turns outrun real flow, see the README)."""
FORWARD_STEP_M = 0.4
"""One move_forward action."""


def check_task(task: str, field: str = "task") -> str:
    """``task`` if MiniWorld has it; raises listing the valid names and the closest."""
    return check_choice(task, list(TASKS), "MiniWorld task", field)


def task_text(task: str) -> str:
    """The text given to a video generator: the target's name, as in the paper's iTHOR data
    (and as a model trained on ``avdc collect miniworld`` data learnt it)."""
    return TARGET
