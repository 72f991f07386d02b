"""``segmenter/sim-mask``: the target object's exact mask from the simulator's segmentation.

The object is picked **by name**: every part (a MuJoCo geom) of the named bodies plus the named
parts. Where the names come from, first match wins:

1. this segmenter's ``objects`` table in the spec (``{task: {bodies: [...], parts: [...]}}``),
   which overrides what the executor says for a task;
2. the names the executor put in ``SegmentTarget.hints`` (``bodies``, ``parts``:
   :data:`avdc_core.simulation.NAME_HINTS`) — a simulated executor knows its task's object.

Works with any simulated executor (it reads ``Observation.simulator``, a
:class:`~avdc_core.simulation.SimulatorView`). ``postprocess`` (``avdc_core.masks``) is off by
default: the segmentation and the depth come from the same render, so border pixels carry the
object's depth.

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
from avdc_core.simulation import require_view
from avdc_core.types import Mask, Observation, SegmentTarget


class ObjectNames(ComponentConfig):
    """An object by name: every part of ``bodies`` plus the ``parts`` themselves."""

    bodies: tuple[str, ...] = ()
    parts: tuple[str, ...] = ()


class SimulatorMask(Segmenter):
    """Exact object mask from the simulator's segmentation render, chosen by body/part name."""

    name = "sim-mask"

    class Config(ComponentConfig):
        objects: dict[str, ObjectNames] = Field(default={}, description="object names per task, "
                                                "overriding the executor's")
        postprocess: MaskPostprocess = MaskPostprocess()
        add_holding_fingers: bool = Field(
            default=False, description="while the hand holds the object (the executor's hint "
            "holding_bodies), mask the fingers too: they hide the object and move with it")

    def names(self, target: SegmentTarget) -> ObjectNames:
        """The bodies/parts that make up ``target``."""
        task = target.hints.get("task", target.name)
        if task in self.config.objects:
            return self.config.objects[task]
        if target.hints.get("bodies") or target.hints.get("parts"):
            return ObjectNames(bodies=tuple(target.hints.get("bodies", ())),
                               parts=tuple(target.hints.get("parts", ())))
        raise InputDataError(
            f"segmenter/sim-mask: the executor names no object for target {task!r}; name it in the "
            f"spec: segmenter: {{plugin: sim-mask, params: {{objects: {{{task}: {{bodies: [<name>]}}}}}}}}")

    def segment(self, observation: Observation, target: SegmentTarget) -> Mask:
        view = require_view(observation, "segmenter/sim-mask")
        wanted = self.names(target)
        task = target.hints.get("task", target.name)
        bodies = wanted.bodies
        if self.config.add_holding_fingers:
            bodies += tuple(target.hints.get("holding_bodies", ()))
        pixels = view.parts.mask(view.segmentation, bodies, wanted.parts, f"segmenter/sim-mask ({task})")
        if not pixels.any():
            raise PlanFailedError(
                f"segmenter/sim-mask: the object of task {task!r} (bodies {list(bodies)}, "
                f"parts {list(wanted.parts)}) is not visible from camera {view.camera_name!r}: "
                "the mask is empty")
        return postprocess_mask(pixels, self.config.postprocess, segmenter=f"segmenter/{self.name}",
                                target=f"{task} (camera {view.camera_name})")


@hookimpl
def avdc_components():
    return [SimulatorMask]
