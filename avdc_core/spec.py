"""The YAML pipeline spec: which component of each kind, with which parameters.

Validation runs in two steps: the spec's shape (sections, ``plugin`` + ``params``), then each
section's ``params`` against that plugin's own ``Config``. Every error names the path in the
spec (``flow.params.preset``), the value given and what would be valid.

Example::

    task: "door open"                       # optional: the executor's task text otherwise
    generator: {plugin: oracle}
    flow:      {plugin: opencv-dis, params: {preset: medium}}
    segmenter: {plugin: sim-mask}
    solver:    {plugin: se3-lm}
    executor:  {plugin: metaworld, params: {task: door-open, camera: corner}}
    replan:    {max_replans: 5, stall_steps: 15, stall_mm: 1.0}
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from .errors import MissingResourceError, SpecError
from .interfaces import BuildContext, Component, ComponentConfig
from .photometric import PhotometricConfig
from .registry import PluginInfo, Registry

ModelT = TypeVar("ModelT", bound=BaseModel)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ComponentSpec(_Strict):
    """One section: the plugin's name within its kind and its parameters."""

    plugin: str = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)


class PlanningConfig(_Strict):
    """How masked pixels become tracked 3D points."""

    num_points: int = Field(default=1000, ge=3, description="pixels sampled from the mask")
    fb_threshold_px: float | None = Field(default=2.0, gt=0,
                                          description="forward-backward consistency tolerance "
                                          "(pixels); null: no check, no backward flow")
    min_valid_tracks: int = Field(default=0, ge=0,
                                  description="cut the plan before the first frame with fewer valid "
                                  "tracks (occlusion at the end of a video); 0 = never cut")
    photometric: PhotometricConfig | None = Field(default=None, description="refine object poses "
                                                  "photometrically (avdc_core.photometric); null: off")
    seed: int = 0


class ReplanConfig(_Strict):
    """Closed-loop control: stall detection and bounded replanning (the paper's strategy)."""

    max_replans: int = Field(default=5, ge=0)
    stall_steps: int = Field(default=15, ge=1, description="window of steps for stall detection")
    stall_mm: float = Field(default=1.0, ge=0, description="movement below this over the window = stall")
    max_steps: int = Field(default=500, ge=1, description="episode step limit")


class PipelineSpec(_Strict):
    """The whole spec file."""

    task: str | None = None
    device: str = Field(default="cpu", description="torch device: cpu, cuda or cuda:N")
    generator: ComponentSpec
    text_encoder: ComponentSpec | None = None
    flow: ComponentSpec
    segmenter: ComponentSpec
    solver: ComponentSpec
    executor: ComponentSpec | None = None
    planning: PlanningConfig = PlanningConfig()
    replan: ReplanConfig = ReplanConfig()

    @field_validator("device")
    @classmethod
    def _usable_device(cls, device: str) -> str:
        return check_device(device)


def check_device(device: str) -> str:
    """``device`` if torch can use it here: ``cpu``, or ``cuda`` / ``cuda:N`` with that GPU present."""
    match = re.fullmatch(r"cuda(?::(\d+))?", device)
    if device == "cpu":
        return device
    if match is None:
        raise ValueError(f"device {device!r} is not a torch device avdc runs on; use cpu, cuda or cuda:N")
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    index = int(match.group(1) or 0)
    if index >= count:
        raise ValueError(f"device {device!r}: torch sees {count} CUDA GPU(s) on this machine"
                         + ("; use device: cpu" if count == 0 else f"; use cuda:0 .. cuda:{count - 1}"))
    return device


def unknown_choice(what: str, value: str, choices: Sequence[str]) -> str:
    """``unknown MiniWorld task 'on-room'; did you mean 'one-room'? valid tasks: ...`` (``what``:
    the kind of name, its last word the plural's stem)."""
    close = difflib.get_close_matches(value, choices, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ";"
    return f"unknown {what} {value!r}{hint} valid {what.split()[-1]}s: {', '.join(choices)}"


def check_choice(value: str, choices: Sequence[str], what: str, field: str) -> str:
    """``value`` if it is one of ``choices``; else a :class:`SpecError` naming ``field``
    (:func:`unknown_choice`)."""
    if value not in choices:
        raise SpecError(f"{field}: {unknown_choice(what, value, choices)}")
    return value


def checked_by(check: Callable[[Any, str], Any]) -> AfterValidator:
    """A pydantic validator (``Annotated[str, checked_by(check_task)]``) running an avdc
    ``check(value, field)``: its :class:`SpecError` becomes the ``ValueError`` pydantic reports
    under the field's own path, so the message does not name the field twice."""

    def validate(value: Any, info: ValidationInfo) -> Any:
        field = info.field_name or "value"
        try:
            return check(value, field)
        except SpecError as error:
            raise ValueError(str(error).removeprefix(f"{field}: ")) from error

    return AfterValidator(validate)


@dataclass(frozen=True)
class ResolvedComponent:
    """A spec section matched to an installed plugin, its params validated."""

    info: PluginInfo
    config: ComponentConfig

    def build(self, context: BuildContext) -> Component:
        return self.info.component(self.config, context)


@dataclass(frozen=True)
class ResolvedSpec:
    """A validated spec: the parsed model, the resolved components and the spec's folder."""

    spec: PipelineSpec
    components: dict[str, ResolvedComponent]
    base_dir: Path

    def check_files(self) -> None:
        """Every file the components will read exists (raises ``MissingResourceError``)."""
        context = BuildContext(base_dir=self.base_dir, device=self.spec.device)
        for component in self.components.values():
            component.info.component.check_files(component.config, context)


def _abbreviated(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def format_validation_error(error: ValidationError, prefix: str) -> str:
    """One line per pydantic error: `path.to.field: message (given: value)`."""
    lines = []
    for item in error.errors():
        path = ".".join(str(part) for part in ([prefix] if prefix else []) + list(item["loc"]))
        given = item.get("input")
        shown = "" if item["type"] == "missing" else f" (given: {_abbreviated(given)})"
        message = item["msg"].removeprefix("Value error, ")  # a validator's own message reads alone
        lines.append(f"{path}: {message}{shown}")
    return "\n".join(lines)


MAX_YAML_BYTES = 1 << 20
"""Largest spec or config file read (1 MiB; avdc's own are under 4 KiB)."""
MAX_YAML_DEPTH = 50
"""Deepest nesting of mappings and lists accepted."""
MAX_YAML_NODES = 100_000
"""Most values a document may expand to, aliases expanded (an alias bomb is refused, not built)."""


class BoundedLoader(yaml.SafeLoader):
    """``yaml.safe_load`` with limits: nesting depth, the size a document expands to through its
    aliases, and no duplicate keys in a mapping (the second would silently win)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise yaml.MarkedYAMLError(problem=f"nested more than {MAX_YAML_DEPTH} levels deep",
                                           problem_mark=self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def get_single_node(self) -> Any:
        node = super().get_single_node()
        if node is not None:
            sizes: dict[int, int] = {}

            def expanded(item: Any) -> int:  # each node once; shared (aliased) nodes count per use
                if id(item) not in sizes:
                    children = item.value if isinstance(item, yaml.SequenceNode) else \
                        [part for pair in item.value for part in pair] if isinstance(item, yaml.MappingNode) else []
                    sizes[id(item)] = min(1 + sum(expanded(child) for child in children), MAX_YAML_NODES + 1)
                return sizes[id(item)]

            if expanded(node) > MAX_YAML_NODES:
                raise yaml.MarkedYAMLError(problem=f"expands to more than {MAX_YAML_NODES} values through "
                                           "its aliases (&anchor / *alias)", problem_mark=node.start_mark)
        return node

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, Any] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                if isinstance(key, (str, int, float, bool)) and key in seen:
                    raise yaml.MarkedYAMLError(
                        problem=f"duplicate key {key!r} (first at line {seen[key].line + 1}); the "
                        "second would silently replace the first", problem_mark=key_node.start_mark)
                seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep)


BoundedLoader.add_constructor("tag:yaml.org,2002:map", BoundedLoader.construct_yaml_map)


def read_yaml(path: str | Path) -> Any:
    """Parse a YAML file safely and within bounds (:class:`BoundedLoader`); errors name the
    file, line and column."""
    path = Path(path)
    if path.is_dir():
        raise SpecError(f"spec file {str(path)!r} is a folder; give a YAML file")
    if not path.is_file():
        raise MissingResourceError(f"spec file {str(path)!r} does not exist")
    size = path.stat().st_size
    if size > MAX_YAML_BYTES:
        raise SpecError(f"{path}: {size} bytes; a spec is at most {MAX_YAML_BYTES} bytes")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise SpecError(f"{path}: not a UTF-8 text file ({error.reason} at byte {error.start}); "
                        "a spec is YAML text") from error
    try:
        return yaml.load(text, Loader=BoundedLoader)  # a SafeLoader: builds no Python objects
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise SpecError(f"{where}: invalid YAML: {error.problem or error.context}") from error
    except yaml.YAMLError as error:
        raise SpecError(f"{path}: invalid YAML: {error}") from error


def validate_mapping(data: Any, model: type[ModelT], source: str, what: str) -> ModelT:
    """``data`` (parsed YAML) as ``model``; a :class:`SpecError` names ``source`` and each bad field."""
    if not isinstance(data, dict):
        raise SpecError(f"{source}: {what} must be a mapping, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise SpecError(f"{source}: invalid {what}\n{format_validation_error(error, '')}") from error


def resolve_spec(data: Any, registry: Registry, base_dir: Path = Path("."),
                 source: str = "spec") -> ResolvedSpec:
    """Validate already-parsed spec data against the installed plugins."""
    spec = validate_mapping(data, PipelineSpec, source, "spec")
    components: dict[str, ResolvedComponent] = {}
    for kind in ("generator", "text_encoder", "flow", "segmenter", "solver", "executor"):
        section: ComponentSpec | None = getattr(spec, kind)
        if section is None:
            continue
        info = registry.get(kind, section.plugin, where=f"{source}: {kind}.plugin")
        try:
            config = info.component.Config.model_validate(section.params)
        except ValidationError as error:
            raise SpecError(f"{source}: invalid parameters for {info.address}\n"
                            f"{format_validation_error(error, f'{kind}.params')}") from error
        components[kind] = ResolvedComponent(info, config)
    return ResolvedSpec(spec, components, base_dir)


def load_spec(path: str | Path, registry: Registry) -> ResolvedSpec:
    """Read and validate a spec file; relative paths inside it resolve against its folder."""
    path = Path(path)
    return resolve_spec(read_yaml(path), registry, base_dir=path.resolve().parent, source=str(path))
