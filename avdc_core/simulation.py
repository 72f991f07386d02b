"""What a simulator hands to privileged components: the typed contract between a simulated world
and the plugins that read its ground truth.

A camera gives RGB, depth and intrinsics (:class:`~avdc_core.types.Observation`). A simulator
knows more: what every pixel sees, by name; where every rigid body is; what lies behind the
robot; and it can run the task's scripted expert from the current state. Components that use
this are **privileged** — oracles and ceilings for ablations (``generator/oracle``,
``flow/sim-flow``, ``segmenter/sim-mask``), never a policy. They read it only through these
types, so each works with every world that implements the contract (Meta-World today; MiniWorld,
AI2-THOR, franky-sim next), and none imports a world's own modules:

* an executor of a simulated world attaches a :class:`SimulatorView` to each observation
  (``Observation.simulator``): the segmentation with names and the live :class:`SimulatedScene`;
* :meth:`SimulatedScene.render_video` returns a video whose ``Video.simulator`` is a
  :class:`SimulatedFrames`: per-frame depth, segmentation, body poses and cameras, also rendered
  with the robot hidden.

Object names travel in ``SegmentTarget.hints`` under :data:`NAME_HINTS`.
"""

from __future__ import annotations

import difflib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from .errors import InputDataError
from .types import Camera, Observation, Video

NAME_HINTS = ("bodies", "parts", "holding_bodies")
"""``SegmentTarget.hints`` a simulated executor may set: the object's ``bodies`` and ``parts``
(lists of names) and, while its hand holds the object, the ``holding_bodies`` (the fingers)."""


@dataclass(frozen=True)
class SceneParts:
    """The names behind a segmentation: part ``i`` (a MuJoCo geom, a MiniWorld entity) is
    ``part_names[i]`` and belongs to rigid body ``part_body[i]``, named in ``body_names``."""

    part_names: tuple[str, ...]
    part_body: np.ndarray
    body_names: tuple[str, ...]

    def __post_init__(self) -> None:
        if np.shape(self.part_body) != (len(self.part_names),):
            raise InputDataError(f"SceneParts.part_body has shape {np.shape(self.part_body)}; "
                                 f"expected one body per part ({len(self.part_names)},)")

    def mask(self, segmentation: np.ndarray, bodies: Sequence[str] = (), parts: Sequence[str] = (),
             where: str = "mask") -> np.ndarray:
        """``[H, W]`` bool: pixels whose part is one of ``parts`` or belongs to one of ``bodies``.

        Each is a name or ``#<index>`` (for unnamed ones, e.g. ``#34``: body 34). A name the scene
        does not have raises :class:`InputDataError` listing the closest ones."""
        body_ids = [_index("body", ref, self.body_names, where) for ref in bodies]
        part_ids = [_index("part", ref, self.part_names, where) for ref in parts]
        selected = np.isin(np.arange(len(self.part_names)), part_ids) | np.isin(self.part_body, body_ids)
        visible = segmentation >= 0
        mask = np.zeros(segmentation.shape, dtype=bool)
        mask[visible] = selected[segmentation[visible]]
        return mask


def reference(index: int, names: Sequence[str]) -> str:
    """How :meth:`SceneParts.mask` names body or part ``index``: its name, or ``#<index>`` if it has none."""
    return names[index] or f"#{index}"


def _index(kind: str, ref: str, names: Sequence[str], where: str) -> int:
    if ref.startswith("#") and ref[1:].isdigit():
        if int(ref[1:]) >= len(names):
            raise InputDataError(f"{where}: {kind} {ref} does not exist; the scene has {len(names)} "
                                 f"{kind}s (#0-#{len(names) - 1})")
        return int(ref[1:])
    if ref not in names:
        close = difflib.get_close_matches(ref, [n for n in names if n], n=3)
        raise InputDataError(f"{where}: the scene has no {kind} named {ref!r}"
                             + (f"; closest: {', '.join(close)}" if close else "")
                             + f" (unnamed {kind}s: #<index>)")
    return names.index(ref)


@dataclass(frozen=True)
class ExpertRollout:
    """States a scripted expert went through from the live state (that state first), as flat
    vectors :meth:`SimulatedScene.render_video` accepts, and whether it finished the task."""

    states: list[np.ndarray]
    success: bool


PER_FRAME = ("depth", "segmentation", "body_poses", "depth_without_robot", "segmentation_without_robot",
             "frame_steps")
"""The fields of :class:`SimulatedFrames` that hold one entry per frame (besides ``cameras``)."""


@dataclass(frozen=True)
class SimulatedFrames:
    """Ground truth of a rendered video, per frame ``t`` (``Video.simulator``).

    ``depth [T, H, W]`` (m, 0 = nothing), ``segmentation [T, H, W]`` (part index, -1 = nothing),
    ``body_poses [T, nbody, 4, 4]`` (world), ``cameras`` (one per frame: fixed for an arm's
    camera, moving for navigation); ``*_without_robot``: the same rendered with the robot hidden
    (what lies behind it — only a simulator sees that), or ``None``. ``rollout`` and
    ``frame_steps`` (its state index per frame), when the frames sample an expert rollout.
    """

    depth: np.ndarray
    segmentation: np.ndarray
    parts: SceneParts
    body_poses: np.ndarray
    cameras: tuple[Camera, ...]
    depth_without_robot: np.ndarray | None = None
    segmentation_without_robot: np.ndarray | None = None
    rollout: ExpertRollout | None = None
    frame_steps: np.ndarray | None = None

    def __post_init__(self) -> None:
        frames = len(self.cameras)
        for name in PER_FRAME:
            value = getattr(self, name)
            if value is not None and len(value) != frames:
                raise InputDataError(f"SimulatedFrames.{name} has {len(value)} frame(s); "
                                     f"the frames have {frames} camera(s)")

    @property
    def num_frames(self) -> int:
        return len(self.cameras)

    def first(self, count: int) -> SimulatedFrames:
        """The ground truth of the first ``count`` frames."""
        cut = {name: getattr(self, name)[:count] for name in PER_FRAME if getattr(self, name) is not None}
        return replace(self, cameras=tuple(self.cameras[:count]), **cut)


class SimulatedScene(ABC):
    """The live scene of a simulated world, as privileged components may use it (they read it,
    they never act on it: the live episode is not touched)."""

    world: str = ""
    """The world's name, e.g. ``metaworld``."""

    @abstractmethod
    def expert_rollout(self, max_steps: int, extra_steps: int = 0) -> ExpertRollout:
        """Run the task's scripted expert on a copy of the live state until it succeeds (plus
        ``extra_steps``) or ``max_steps`` pass."""

    @abstractmethod
    def render_video(self, states: Sequence[np.ndarray]) -> Video:
        """A video of ``states`` through the observation's camera, with its :class:`SimulatedFrames`."""


@dataclass(frozen=True)
class SimulatorView:
    """The privileged side of one observation (``Observation.simulator``): which world, task and
    camera, what each pixel sees (``segmentation [H, W]``, part index, -1 = nothing, named by
    ``parts``) and the live ``scene``."""

    world: str
    task: str
    camera_name: str
    segmentation: np.ndarray
    parts: SceneParts
    scene: SimulatedScene


def require_view(observation: Observation, component: str) -> SimulatorView:
    """``observation.simulator``, or an :class:`InputDataError` saying ``component`` needs an
    observation from a simulated executor."""
    view = getattr(observation, "simulator", None)
    if not isinstance(view, SimulatorView):
        raise InputDataError(f"{component} reads the simulator's ground truth and needs an observation "
                             "from a simulated executor (e.g. executor/metaworld); this one has none")
    return view


def require_frames(video: Video, component: str) -> SimulatedFrames:
    """``video.simulator``, or an :class:`InputDataError` saying ``component`` needs a video
    rendered by a simulator (``generator/oracle``)."""
    frames = getattr(video, "simulator", None)
    if not isinstance(frames, SimulatedFrames):
        raise InputDataError(f"{component} reads the simulator's ground truth and needs a video "
                             "rendered by a simulator (generator/oracle); this one has none")
    return frames


def load_triton_before_egl() -> None:
    """Import Triton (when installed) before a simulator renders through Mesa's EGL: Mesa's
    llvmpipe and Triton each bring their own LLVM, and importing Triton *after* the first EGL
    render segfaults the process — which torch does lazily (``torch._dynamo``) when a
    torchvision-based component or another simulator is built later. Every simulated world calls
    this before importing its renderer."""
    import importlib.util

    if importlib.util.find_spec("triton") is not None:
        import triton  # noqa: F401
