"""One small interface per component kind.

A component is a class with a ``name`` (unique within its kind), a pydantic ``Config`` that
forbids unknown keys, and a constructor ``Component(config, context)``. Heavy imports (torch
models, simulators) belong in the constructor or in methods, never at module level, so that
listing plugins stays fast.

How the three kinds of robot map onto :class:`Executor`:

* **Meta-World arm** (``executors/metaworld``): ``motion_mode = "object"``; ``commands`` turns the
  object's trajectory into end-effector subgoals (``Commands(kind="subgoals")``) with a grasp or
  push primitive; ``execute`` drives a position controller and yields a :class:`StepReport`
  per simulator step with the hand position.
* **Navigation** (MiniWorld / iTHOR): ``motion_mode = "camera"``; the segmenter returns the whole
  scene, the solver recovers the static scene's motion and the camera motion is its inverse;
  ``commands`` maps each camera motion to the closest discrete move
  (``Commands(kind="discrete")``); ``effector_m`` in each report is the camera position.
* **Franka Panda through franky** (``executors/franka``): like Meta-World (``"subgoals"``), but
  ``execute`` sends runs of subgoals as Cartesian waypoint motions, with gripper commands between
  them, to ``franky.Robot``; reports carry the measured tool-centre position every control
  period, so stall detection and replanning work unchanged.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict

from .types import (
    Camera,
    Commands,
    Flow,
    Mask,
    Observation,
    RigidTrajectory,
    SegmentTarget,
    StepReport,
    Tracks,
    Video,
)

KINDS = ("generator", "text_encoder", "flow", "segmenter", "solver", "executor")
"""Component kinds, in pipeline order. A plugin is addressed ``kind/name``."""


class ComponentConfig(BaseModel):
    """Base of every component's config: unknown keys are errors, not warnings."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class BuildContext:
    """What a component may need besides its own config when it is built.

    ``base_dir`` resolves relative paths in a spec (the spec file's folder); ``device`` is a
    torch device string; ``text_encoder`` is the pipeline's text encoder, if the spec has one.
    """

    base_dir: Path = Path(".")
    device: str = "cpu"
    text_encoder: TextEncoder | None = None

    def resolve(self, path: str | Path) -> Path:
        """A spec path made absolute against the spec's folder."""
        path = Path(path).expanduser()
        return path if path.is_absolute() else (self.base_dir / path).resolve()


class Component(ABC):
    """Base class of all components."""

    kind: ClassVar[str]
    name: ClassVar[str]
    Config: ClassVar[type[ComponentConfig]] = ComponentConfig

    def __init__(self, config: ComponentConfig, context: BuildContext) -> None:
        self.config = config
        self.context = context

    @classmethod  # noqa: B027 - a hook whose default checks nothing
    def check_files(cls, config: ComponentConfig, context: BuildContext) -> None:
        """Raise :class:`~avdc_core.errors.MissingResourceError` if a file the component will
        read (a checkpoint, a mask) is missing — cheaply, without loading anything. ``avdc
        validate`` calls it; components that read files override it and call it when built."""

    @classmethod
    def summary(cls) -> str:
        """The first line of the class docstring."""
        return (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""


class TextEncoder(Component):
    """Turns task descriptions into fixed-size embeddings."""

    kind = "text_encoder"

    @property
    @abstractmethod
    def dim(self) -> int:
        """Embedding width."""

    @abstractmethod
    def encode(self, texts: list[str]) -> np.ndarray:
        """``[len(texts), dim]`` float32 embeddings."""


class VideoGenerator(Component):
    """Imagines the task as a short video starting from the current frame."""

    kind = "generator"

    @abstractmethod
    def generate(self, observation: Observation, text: str, seed: int = 0) -> Video:
        """A video whose frame 0 is ``observation.rgb`` (same size)."""

    @classmethod
    def training_seeds(cls, config: ComponentConfig, context: BuildContext) -> dict[str, list[int]]:
        """The simulator seeds a learned generator was trained on, by ``task/setting`` (e.g.
        ``door-close/corner``), read cheaply from its files; an evaluation refuses to test on
        them. Generators that learn nothing from episodes return ``{}``."""
        return {}


class FlowEstimator(Component):
    """Dense correspondences between consecutive frames of a video."""

    kind = "flow"

    @abstractmethod
    def estimate(self, video: Video, backward: bool = True) -> Flow:
        """Forward flow for every consecutive pair (and backward flow if asked)."""


class Segmenter(Component):
    """Masks the object to move (or, for navigation, the whole scene)."""

    kind = "segmenter"

    @abstractmethod
    def segment(self, observation: Observation, target: SegmentTarget) -> Mask:
        """A mask of ``observation``'s size; raises ``InputDataError`` if nothing is found."""


class PoseSolver(Component):
    """Recovers one rigid transform per frame from 3D points and their 2D tracks."""

    kind = "solver"

    @abstractmethod
    def solve(self, points_world: np.ndarray, tracks: Tracks, camera: Camera,
              mode: str = "object") -> RigidTrajectory:
        """Per-frame world-frame transforms of ``points_world [N, 3]`` seen through ``tracks``.

        ``mode="camera"``: the points are a static scene and the returned transforms are the
        camera's motion (the inverse of the apparent scene motion).
        """


@dataclass(frozen=True)
class EvalGrid:
    """An executor's evaluation protocol (``avdc eval``): tasks (the table's columns) x settings
    (its rows, e.g. cameras) x seeds. A task sets the executor parameter ``task_param``, a setting
    ``setting_param`` (``None``: the settings are labels only, e.g. one ``agent`` view);
    ``tasks`` and ``settings`` are the defaults (the paper's protocol)."""

    task_param: str
    setting_param: str | None
    tasks: tuple[str, ...]
    settings: tuple[str, ...]


class Executor(Component):
    """A robot (real or simulated) that observes, turns a trajectory into commands and acts.

    ``motion_mode``: ``"object"`` (the plan moves an object) or ``"camera"`` (the plan moves the
    camera, navigation); ``commands`` refuses a trajectory of the other mode. ``command_kind``:
    the :attr:`Commands.kind` it issues and executes (``execute`` refuses others).
    ``eval_grid``: how ``avdc eval`` lays out its episodes, or ``None``.
    :class:`avdc_core.testing.ExecutorContract` checks all of this.
    """

    kind = "executor"
    motion_mode: ClassVar[str] = "object"
    command_kind: ClassVar[str] = "subgoals"
    eval_grid: ClassVar[EvalGrid | None] = None

    @abstractmethod
    def reset(self, seed: int) -> Observation:
        """Start an episode; returns the first observation."""

    @abstractmethod
    def observe(self) -> Observation:
        """The current observation."""

    @abstractmethod
    def task_text(self) -> str:
        """The task description given to the video generator."""

    @abstractmethod
    def segment_target(self) -> SegmentTarget:
        """What the segmenter should mask for this task."""

    @abstractmethod
    def commands(self, trajectory: RigidTrajectory, plan_points_world: np.ndarray,
                 observation: Observation) -> Commands:
        """Robot commands realising ``trajectory`` (``plan_points_world`` are the tracked points)."""

    @abstractmethod
    def execute(self, commands: Commands) -> Iterator[StepReport]:
        """Carry out ``commands``, yielding one report per low-level step."""

    def retreat(self) -> Iterator[StepReport]:
        """Move out of the camera's view of the target, yielding one report per step; called
        when no plan could be made (e.g. the hand hides the object) before looking again.
        The default stays put."""
        return iter(())

    def close(self) -> None:
        """Release simulator or robot resources."""

