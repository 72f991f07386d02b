"""avdc core: typed interfaces, data types, plugin registry, pipeline specs and the closed loop.

Plugin authors need only this package::

    from avdc_core import hookimpl, FlowEstimator, ComponentConfig, Flow, Video
"""

from .errors import (
    AvdcError,
    InputDataError,
    MissingResourceError,
    PlanFailedError,
    PluginLoadError,
    SolveError,
    SpecError,
    UnknownComponentError,
)
from .hookspecs import hookimpl
from .interfaces import (
    KINDS,
    BuildContext,
    Component,
    ComponentConfig,
    EvalGrid,
    Executor,
    FlowEstimator,
    PoseSolver,
    Segmenter,
    TextEncoder,
    VideoGenerator,
)
from .types import (
    Camera,
    Commands,
    Flow,
    Mask,
    Observation,
    Plan,
    RigidTrajectory,
    SegmentTarget,
    StepReport,
    Tracks,
    Video,
)

__all__ = [
    "KINDS", "AvdcError", "BuildContext", "Camera", "Commands", "Component", "ComponentConfig",
    "EvalGrid", "Executor", "Flow", "FlowEstimator", "InputDataError", "Mask", "MissingResourceError",
    "Observation", "Plan", "PlanFailedError", "PluginLoadError", "PoseSolver", "RigidTrajectory",
    "SegmentTarget", "Segmenter", "SolveError", "SpecError", "StepReport", "TextEncoder", "Tracks",
    "UnknownComponentError", "Video", "VideoGenerator", "hookimpl",
]
