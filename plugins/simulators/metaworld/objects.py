"""Which object a Meta-World task is about, found without a table: the part its expert moves.

The candidates come from the model: every rigid part that can move — a non-robot body with a
joint (free, hinge or slide) together with the bodies fixed below it (for example ``RoundNut``
with its ``asmbly_peg``, or a dial's unnamed knob). The scripted expert then runs on a copy of
the episode's start, and the candidate whose geoms travel farthest (the largest displacement of
any of its geom centres from the start, over the rollout) is the object. Its bodies are given by
name, or as ``#<index>`` where Meta-World v3 leaves them unnamed (plate-slide, dial-turn,
sweep, stick-push, ...), which :class:`avdc_core.simulation.SceneParts` reads.

Measured on all 50 v3 tasks (seed 0, 500 expert steps): the choice is the part a person would
name on every task where the expert moves something — the wrench, not the peg it is put on;
the hammer, not the nail it drives (24 vs 10 cm); the mug, not the coffee machine's button it
bumps (9 vs 3 cm); the stick, not the thermos it pulls (45 vs 21 cm). Only ``reach`` and
``reach-wall`` move nothing (the goal is for the hand): there the task's free-floating body is
taken, so that every task has a mask, but an object-centric plan has nothing to follow.

This reads the simulator (privileged, like ``segmenter/sim-mask``); a real robot names its object
through the segmenter.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from avdc_core.simulation import reference

from .tasks import TaskObject

MOVED_M = 0.01
"""A part whose geoms move less than this (m) during the expert's rollout did not move."""
FREE_JOINT = 0
"""``mujoco.mjtJoint.mjJNT_FREE``."""
STATE_STRIDE = 5
"""Every how many rollout states the geoms' positions are read (the rollout runs at 80 Hz)."""


def movable_parts(model: Any, robot_root: int) -> list[list[int]]:
    """The rigid parts that can move: per non-robot body with a joint, that body and every body
    below it reached without crossing another joint (bodies in tree order)."""
    parts: dict[int, list[int]] = {}
    owner = np.full(model.nbody, -1)
    for body in range(1, model.nbody):
        if model.body_rootid[body] == robot_root or model.body_mocapid[body] >= 0:
            continue
        if model.body_jntnum[body] > 0:
            owner[body] = body
        else:
            owner[body] = owner[model.body_parentid[body]]
        if owner[body] >= 0:
            parts.setdefault(int(owner[body]), []).append(body)
    return list(parts.values())


def moving_object(scene: Any, max_steps: int = 500) -> TaskObject:
    """The object of ``scene``'s task (a :class:`~.scene.MetaWorldScene` at the episode's start):
    the movable part with geoms whose geoms the task's expert moves farthest."""
    model = scene.model
    parts = [part for part in movable_parts(model, scene.robot_root) if np.isin(scene.geom_body, part).any()]
    rollout = scene.expert_rollout(max_steps)
    states = rollout.states[::STATE_STRIDE] + rollout.states[-1:]
    positions = np.stack([scene.data_from_state(state).geom_xpos.copy() for state in states])  # [S, ngeom, 3]
    travel = np.linalg.norm(positions - positions[:1], axis=-1).max(axis=0)  # [ngeom]
    moved = [float(travel[np.isin(scene.geom_body, part)].max()) for part in parts]
    if moved and max(moved) >= MOVED_M:
        chosen = parts[int(np.argmax(moved))]
    else:  # the expert moves nothing (reach): the task's free body, else its first movable part
        free = [part for part in parts if model.jnt_type[model.body_jntadr[part[0]]] == FREE_JOINT]
        chosen = (free or parts)[0]
    bodies = [body for body in chosen if np.isin(scene.geom_body, body).any()]
    return TaskObject(bodies=tuple(reference(body, scene.body_names) for body in bodies))
