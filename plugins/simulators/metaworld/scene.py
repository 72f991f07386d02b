"""A Meta-World v3 task seen through one camera: environment, offscreen rendering, exact camera.

**Image orientation.** avdc uses Meta-World v3 renders *as they come* from ``mujoco.Renderer``
(rows top to bottom), everywhere: executor observations, oracle videos, ``avdc collect`` output.
With that orientation the exact camera is a plain pinhole camera (measured: a body's position
projects to within 0.1 px of its mask centroid). The ``corner`` camera is mounted upside down,
so its images show the scene upside down; that is the scene, not a bug. The paper's published
frames are ``np.flipud`` of these (a mirror image, which no rigid camera pose can describe): flip
them before mixing them with data or observations from avdc.

Rendering, depth and segmentation: :mod:`avdc_plugins.simulators.mujoco_scene`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from avdc_core.errors import MissingResourceError, SpecError
from avdc_core.simulation import ExpertRollout

from ..mujoco_scene import MujocoScene, Render, import_mujoco
from .tasks import FINGER_BODIES, unknown_name

SUFFIX = "-v3-goal-observable"

ROBOT_ROOT_BODY = "hand"
"""A body of the Sawyer arm: every geom under its root body (the robot's base) is the robot."""

TABLE_TOP_Z = 0.0
"""Height (world z, m) of the table top in every Meta-World task (its box geom spans -0.054..0)."""

__all__ = ["MetaWorldScene", "Render", "check_task", "import_mujoco", "make_env", "task_names"]


def _env_dict() -> dict[str, Any]:
    import_mujoco()
    try:
        from metaworld.env_dict import ALL_V3_ENVIRONMENTS_GOAL_OBSERVABLE
    except ImportError as error:
        raise MissingResourceError("Meta-World support needs metaworld: "
                                   "pip install 'avdc[metaworld]'") from error
    return ALL_V3_ENVIRONMENTS_GOAL_OBSERVABLE


def task_names() -> list[str]:
    """Every Meta-World v3 goal-observable task, without the ``-v3-goal-observable`` suffix."""
    return sorted(name[: -len(SUFFIX)] for name in _env_dict())


def check_task(task: str, field: str = "task") -> str:
    """``task`` without a ``-v3``/``-v3-goal-observable`` suffix; raises listing valid names."""
    base = task.removesuffix(SUFFIX).removesuffix("-v3")
    names = task_names()
    if base not in names:
        raise SpecError(f"{field}: {unknown_name('task', task, names)}")
    return base


def make_env(task: str, seed: int) -> Any:
    """A fresh goal-observable environment of ``task``; ``seed`` fixes object and goal positions."""
    env = _env_dict()[check_task(task) + SUFFIX](seed=seed)
    env.reset()
    return env


class MetaWorldScene(MujocoScene):
    """One Meta-World task, one camera and an offscreen renderer.

    ``env`` is the live environment; :meth:`render` draws any ``MjData`` of the same model (the
    live one by default), so oracle rollouts on cloned states render with the same camera.
    Segmentation parts are MuJoCo geoms (:attr:`parts`).
    """

    world = "metaworld"

    def __init__(self, task: str, camera: str, width: int = 320, height: int = 240,
                 seed: int = 0) -> None:
        self.mujoco = import_mujoco()
        self.task = check_task(task)
        self.env = make_env(self.task, seed)
        cameras = [self.env.model.camera(i).name for i in range(self.env.model.ncam)]
        if camera not in cameras:
            self.env.close()
            raise SpecError(f"camera: {unknown_name('camera', camera, cameras)}")
        try:
            self._setup(self.env.model, camera, width, height, ROBOT_ROOT_BODY)
        except MissingResourceError:
            self.env.close()
            raise

    @property
    def data(self) -> Any:
        return self.env.data

    # --- privileged: expert and ground-truth video ----------------------------------------------
    def expert_rollout(self, max_steps: int, extra_steps: int = 0) -> ExpertRollout:
        """Meta-World's scripted expert (:mod:`.experts`) run on a copy of the live state."""
        from .experts import run_expert

        return run_expert(self, max_steps, extra_steps)

    # --- state --------------------------------------------------------------------------------
    def clone_env(self) -> Any:
        """A copy of the live environment sharing its model but on its own ``MjData``
        (``copy``/``deepcopy`` rebuild a different model): stepping it never touches the live
        simulation."""
        clone = object.__new__(type(self.env))  # not copy.copy: Meta-World's __setstate__
        clone.__dict__.update(self.env.__dict__)  # reloads the model, losing the reset's changes
        clone.data = self.data_from_state(self.state())
        clone.curr_path_length = 0
        return clone

    def bodies_in_hand(self) -> set[str]:
        """Names of the bodies that a left finger and a right finger both touch now, leaving out
        the robot and whatever is fixed to the world (the table, a box: ``body_weldid`` 0)."""
        model = self.model
        contacts = self.data.contact
        touching = model.geom_bodyid[np.stack([contacts.geom1, contacts.geom2])]  # [2, ncon] bodies
        touched = []
        for side in ("left", "right"):
            fingers = [model.body(name).id for name in FINGER_BODIES if name.startswith(side)]
            others = np.concatenate([touching[1][np.isin(touching[0], fingers)],
                                     touching[0][np.isin(touching[1], fingers)]])
            movable = (model.body_weldid[others] != 0) & (model.body_rootid[others] != self.robot_root)
            touched.append(set(others[movable].tolist()))
        return {model.body(body).name for body in touched[0] & touched[1]}

    def workspace(self) -> tuple[np.ndarray, np.ndarray]:
        """``(low, high)`` corners (world, m) of the box the tool centre can reach and move
        objects in: Meta-World's bounds of the hand's mocap target, shifted to the tool centre
        (the hand keeps its orientation), and not below the table top."""
        env = self.env
        offset = env.tcp_center - self.data.body("hand").xpos
        low = np.array(env.mocap_low, dtype=np.float64) + offset
        low[2] = max(low[2], TABLE_TOP_Z)
        return low, np.array(env.mocap_high, dtype=np.float64) + offset

    def release_windup(self) -> None:
        """Put the mocap target (which Meta-World's actions move, and which pulls the hand through
        a weld) back on the hand. While the hand is blocked, every step's action moves the target
        further ahead — up to the workspace bounds — and a later motion first has to undo that
        lead (integrator windup)."""
        env = self.env
        self.data.mocap_pos[0] = np.clip(self.data.body("hand").xpos, env.mocap_low, env.mocap_high)

    def close(self) -> None:
        self.renderer.close()
        self.env.close()
