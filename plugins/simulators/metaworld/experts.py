"""Meta-World's scripted experts (``metaworld.policies``), run on copies of a live scene."""

from __future__ import annotations

import warnings
from typing import Any

from avdc_core.errors import MissingResourceError
from avdc_core.simulation import ExpertRollout

POLICY_NAMES = {"peg-insert-side": "SawyerPegInsertionSideV3Policy"}
"""Experts whose class name does not follow the task's name (a test checks all 50 v3 tasks)."""


def expert_policy(task: str) -> Any:
    """A fresh instance of Meta-World's scripted expert for ``task`` (e.g. ``door-open``)."""
    import metaworld.policies as policies

    class_name = POLICY_NAMES.get(task, "Sawyer" + "".join(part.capitalize() for part in task.split("-")) + "V3Policy")
    if not hasattr(policies, class_name):
        raise MissingResourceError(f"Meta-World has no scripted expert {class_name} for task {task!r}")
    return getattr(policies, class_name)()


def expert_action(policy: Any, observation: Any) -> Any:
    """The expert's action for an environment observation (its gains trip a harmless clipping
    warning, silenced here)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return policy.get_action(observation)


def run_expert(scene: Any, max_steps: int, extra_steps: int = 0) -> ExpertRollout:
    """Run the expert on a copy of ``scene``'s live state (a :class:`~.scene.MetaWorldScene`):
    the states it went through, the current one first. ``extra_steps`` continue past success."""
    env = scene.clone_env()
    policy = expert_policy(scene.task)
    observation = env._get_obs()
    states = [scene.state(env.data)]
    success_at = None
    for step in range(max_steps):
        observation, _, _, _, info = env.step(expert_action(policy, observation))
        states.append(scene.state(env.data))
        if success_at is None and info.get("success"):
            success_at = step
        if success_at is not None and step - success_at >= extra_steps:
            break
    return ExpertRollout(states, success_at is not None)
