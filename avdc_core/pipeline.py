"""Build the components a validated spec names."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import SpecError
from .interfaces import BuildContext, Executor, TextEncoder
from .planner import Planner
from .spec import ResolvedSpec


@dataclass
class Pipeline:
    """Built components: a :class:`Planner` and, if the spec has one, an :class:`Executor`."""

    planner: Planner
    executor: Executor | None
    spec: ResolvedSpec

    def require_executor(self) -> Executor:
        if self.executor is None:
            raise SpecError("this command needs an 'executor' section in the spec "
                            "(e.g. executor: {plugin: metaworld, params: {task: door-open}})")
        return self.executor

    def close(self) -> None:
        if self.executor is not None:
            self.executor.close()


def build_pipeline(resolved: ResolvedSpec, device: str | None = None, planner: Planner | None = None) -> Pipeline:
    """Instantiate every component (this is where models and simulators load). ``planner``: one
    already built from the same spec's planning components, reused (only the executor is built)."""
    resolved.check_files()
    context = BuildContext(base_dir=resolved.base_dir, device=device or resolved.spec.device)
    if planner is None:
        planner = build_planner(resolved, context)
    components = resolved.components
    executor = components["executor"].build(context) if "executor" in components else None
    return Pipeline(planner, executor, resolved)


def build_planner(resolved: ResolvedSpec, context: BuildContext) -> Planner:
    """The spec's text encoder (if any), video generator, flow, segmenter and solver."""
    components = resolved.components
    if "text_encoder" in components:
        encoder = components["text_encoder"].build(context)
        assert isinstance(encoder, TextEncoder)
        context = BuildContext(context.base_dir, context.device, encoder)
    return Planner(
        generator=components["generator"].build(context),
        flow=components["flow"].build(context),
        segmenter=components["segmenter"].build(context),
        solver=components["solver"].build(context),
        config=resolved.spec.planning,
    )
