"""``segmenter/sim-mask``: the target object's exact mask from MuJoCo's segmentation render.

The object is picked **by name**: every geom of the named bodies plus the named geoms. Where the
names come from, first match wins:

1. this segmenter's ``objects`` table in the spec (``{task: {bodies: [...], geoms: [...]}}``),
   which overrides or extends the defaults for any Meta-World task;
2. the names the executor put in ``SegmentTarget.hints`` (``bodies``, ``geoms``);
3. the default table for the paper's 11 tasks (``avdc_plugins.executors.metaworld_tasks``).

Needs an observation from ``executor/metaworld`` (``extras``: ``segmentation``, ``geom_names``,
``body_names``, ``geom_body``). ``postprocess`` (``avdc_core.masks``) is off by default: the
segmentation and the depth come from the same render, so border pixels carry the object's depth.

``add_holding_fingers`` (off by default): while the executor reports the object held (the hint
``holding_bodies``), the mask also covers the gripper's fingers. A held object is mostly hidden
by them, so a real tracker has little of it left to follow, but they move with it as one rigid
body. Leave it off with ``flow/sim-flow``, which sees through the robot.
"""

from __future__ import annotations

from pydantic import Field

from avdc_core import hookimpl
from avdc_core.errors import InputDataError, PlanFailedError
from avdc_core.interfaces import ComponentConfig, Segmenter
from avdc_core.masks import MaskPostprocess, postprocess_mask
from avdc_core.types import Mask, Observation, SegmentTarget

from ..executors.metaworld_tasks import DEFAULT_OBJECTS, TaskObject, geom_mask

REQUIRED = ("segmentation", "geom_names", "body_names", "geom_body")


class SimulatorMask(Segmenter):
    """Exact object mask from the simulator's segmentation render, chosen by geom/body name."""

    name = "sim-mask"

    class Config(ComponentConfig):
        objects: dict[str, TaskObject] = {}
        postprocess: MaskPostprocess = MaskPostprocess()
        add_holding_fingers: bool = Field(
            default=False, description="while the hand holds the object (the executor's hint "
            "holding_bodies), mask the fingers too: they hide the object and move with it")

    def names(self, target: SegmentTarget) -> TaskObject:
        """The bodies/geoms that make up ``target``."""
        task = target.hints.get("task", target.name)
        if task in self.config.objects:
            return self.config.objects[task]
        if target.hints.get("bodies") or target.hints.get("geoms"):
            return TaskObject(bodies=tuple(target.hints.get("bodies", ())),
                              geoms=tuple(target.hints.get("geoms", ())))
        if task in DEFAULT_OBJECTS:
            return DEFAULT_OBJECTS[task]
        raise InputDataError(
            f"segmenter/sim-mask: no object names for target {task!r}; add it to the spec: "
            f"segmenter: {{plugin: sim-mask, params: {{objects: {{{task}: {{bodies: [<name>]}}}}}}}} "
            f"(defaults exist for: {', '.join(DEFAULT_OBJECTS)})")

    def segment(self, observation: Observation, target: SegmentTarget) -> Mask:
        extras = observation.extras
        missing = [key for key in REQUIRED if key not in extras]
        if missing:
            raise InputDataError(f"segmenter/sim-mask needs an observation from a simulator "
                                 f"executor (executor/metaworld); Observation.extras lacks {missing}")
        wanted = self.names(target)
        task = target.hints.get("task", target.name)
        bodies = wanted.bodies
        if self.config.add_holding_fingers:
            bodies += tuple(target.hints.get("holding_bodies", ()))
        pixels = geom_mask(extras["segmentation"], extras["geom_names"], extras["geom_body"],
                           extras["body_names"], bodies, wanted.geoms, f"segmenter/sim-mask ({task})")
        if not pixels.any():
            raise PlanFailedError(
                f"segmenter/sim-mask: the object of task {task!r} (bodies {list(bodies)}, "
                f"geoms {list(wanted.geoms)}) is not visible from camera "
                f"{extras.get('camera_name', '?')!r}: the mask is empty")
        return postprocess_mask(pixels, self.config.postprocess, segmenter=f"segmenter/{self.name}",
                                target=f"{task} (camera {extras.get('camera_name', '?')})")


@hookimpl
def avdc_components():
    return [SimulatorMask]
