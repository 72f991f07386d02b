"""Per-task knowledge for Meta-World: overrides of which object to mask and track, where to grasp it.

Every task's object is found automatically (:mod:`.objects`: the part its expert moves); this
table only overrides that choice, by geom/body name (the paper's numeric geom ids do not carry
over to v3), and adds the part to grasp where measured. Its entries cover the paper's 11 tasks
(the automatic choice picks the same bodies on all of them; a test checks it); any task can be
overridden from a spec (``executor.params.object`` / ``segmenter.params.objects``).

Measured choices: a hinged door is tracked as the whole ``door_link`` body but grasped at its
``handle`` geom. The hammer and the assembly wrench are tracked as whole bodies and grasped at
their handle geoms: a handle alone is a thin, small shape whose pose solve is ill-conditioned
(17-32 cm errors from exact tracks on corner2), and the whole ``asmbly_peg`` body's centroid sits
on the ring, not on the handle.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import Field

from avdc_core.interfaces import ComponentConfig
from avdc_core.spec import unknown_choice


class TaskObject(ComponentConfig):
    """The object of a task: the mask is every geom of ``bodies`` plus ``geoms``; ``grasp_geoms``
    (optional) is the part the hand grasps or pushes, if not the whole mask. Each is a name or,
    for an unnamed one, ``#<index>``. (Geoms are the scene's segmentation parts:
    :class:`avdc_core.simulation.SceneParts`.)"""

    bodies: tuple[str, ...] = ()
    geoms: tuple[str, ...] = ()
    grasp_geoms: tuple[str, ...] = Field(default=(), description="part to grasp/push (default: the mask)")


PAPER_TASKS = ("door-open", "door-close", "basketball", "shelf-place", "button-press",
               "button-press-topdown", "faucet-close", "faucet-open", "handle-press", "hammer",
               "assembly")
"""The paper's Meta-World evaluation tasks, in its table's order."""

PAPER_CAMERAS = ("corner", "corner2", "corner3")

CAMERAS = ("topview", "corner", "corner2", "corner3", "corner4", "behindGripper", "gripperPOV")
"""The cameras every Meta-World v3 model has (a test checks them against the models)."""


def unknown_name(kind: str, given: str, valid: Sequence[str]) -> str:
    """``unknown Meta-World task 'door-opn'; did you mean 'door-open'? valid tasks: ...``."""
    return unknown_choice(f"Meta-World {kind}", given, valid)


FINGER_BODIES = ("rightclaw", "rightpad", "leftclaw", "leftpad")
"""The Sawyer gripper's fingers: a held object moves rigidly with them."""

DEFAULT_OBJECTS: dict[str, TaskObject] = {
    "door-open": TaskObject(bodies=("door_link",), grasp_geoms=("handle",)),
    "door-close": TaskObject(bodies=("door_link",)),
    "basketball": TaskObject(bodies=("basketball",)),
    "shelf-place": TaskObject(bodies=("obj",)),
    "button-press": TaskObject(bodies=("button",)),
    "button-press-topdown": TaskObject(bodies=("button",)),
    "faucet-close": TaskObject(bodies=("faucet_link2",)),
    "faucet-open": TaskObject(bodies=("faucet_link2",)),
    "handle-press": TaskObject(bodies=("handle_link",)),
    "hammer": TaskObject(bodies=("hammer",), grasp_geoms=("HammerHandle",)),
    "assembly": TaskObject(bodies=("asmbly_peg",), grasp_geoms=("WrenchHandle",)),
}


def task_text(task: str) -> str:
    """The task description given to a video generator, as in the paper (``door open``)."""
    return task.replace("-", " ")
