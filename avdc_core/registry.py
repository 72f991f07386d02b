"""Discovery of components through pluggy and the ``avdc`` entry-point group.

Built-in and third-party plugins take the same path: an entry point names a module, the module
implements :func:`avdc_core.hookspecs.avdc_components`. Build a :class:`Registry` where you need
one (there is no global): ``Registry.discover()``. Set ``AVDC_DISABLE_PLUGIN_AUTOLOAD=1`` (or
pass ``autoload=False``) for a hermetic registry holding only the modules you register yourself.
"""

from __future__ import annotations

import difflib
import importlib.metadata
import os
from collections.abc import Iterable
from dataclasses import dataclass
from types import ModuleType

import pluggy

from . import hookspecs
from .errors import PluginLoadError, UnknownComponentError
from .interfaces import KINDS, Component

ENTRY_POINT_GROUP = "avdc"
BUILTIN_PACKAGE = "avdc"
"""The distribution of avdc's own components, which no other package may replace."""
AUTOLOAD_ENV = "AVDC_DISABLE_PLUGIN_AUTOLOAD"


@dataclass(frozen=True)
class PluginInfo:
    """One installed component: ``kind/name``, its class and the package that provides it."""

    kind: str
    name: str
    component: type[Component]
    package: str
    version: str

    @property
    def address(self) -> str:
        return f"{self.kind}/{self.name}"

    @property
    def summary(self) -> str:
        return self.component.summary()


class Registry:
    """Installed components by ``kind/name``, plus the plugin packages that failed to load."""

    def __init__(self, manager: pluggy.PluginManager, packages: dict[str, tuple[str, str]],
                 load_errors: list[PluginLoadError]) -> None:
        self.manager = manager
        self.load_errors = list(load_errors)
        self._components: dict[tuple[str, str], PluginInfo] = {}
        for impl in manager.hook.avdc_components.get_hookimpls():
            package, version = packages.get(impl.plugin_name, (impl.plugin_name, ""))
            try:
                classes = list(impl.function())
            except Exception as error:  # a broken plugin must not take the others down
                self.load_errors.append(PluginLoadError(
                    f"error loading plugin {impl.plugin_name!r} ({package}): "
                    f"{type(error).__name__}: {error}"))
                continue
            for component in classes:  # one bad component is refused alone, not its whole module
                try:
                    self._add(component, package, version)
                except PluginLoadError as error:
                    self.load_errors.append(error)

    @classmethod
    def discover(cls, autoload: bool | None = None,
                 modules: Iterable[ModuleType] = (),
                 entry_points: Iterable[importlib.metadata.EntryPoint] | None = None) -> Registry:
        """Load every ``avdc`` entry point (unless autoloading is off) plus ``modules``.

        ``entry_points`` replaces the installed ones (tests use it to fake distributions).
        """
        if autoload is None:
            autoload = not os.environ.get(AUTOLOAD_ENV)
        manager = pluggy.PluginManager(hookspecs.PROJECT)
        manager.add_hookspecs(hookspecs)
        packages: dict[str, tuple[str, str]] = {}
        errors: list[PluginLoadError] = []
        if autoload:
            if entry_points is None:
                entry_points = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
            for entry_point in entry_points:
                dist = entry_point.dist
                package = dist.name if dist is not None else entry_point.value
                version = dist.version if dist is not None else ""
                if manager.has_plugin(entry_point.name):
                    continue  # the same distribution seen twice on sys.path
                try:
                    module = entry_point.load()
                except Exception as error:
                    errors.append(PluginLoadError(
                        f"error importing plugin {entry_point.name!r} from package {package!r} "
                        f"({entry_point.value}): {type(error).__name__}: {error}"))
                    continue
                manager.register(module, name=entry_point.name)
                packages[entry_point.name] = (package, version)
        for module in modules:
            manager.register(module)
        return cls(manager, packages, errors)

    def _add(self, component: type[Component], package: str, version: str) -> None:
        kind = getattr(component, "kind", None)
        name = getattr(component, "name", None)
        if kind not in KINDS or not isinstance(name, str) or not name:
            raise PluginLoadError(
                f"package {package!r} registered {component!r} with kind={kind!r}, name={name!r}; "
                f"a component subclasses an avdc_core interface (kinds: {', '.join(KINDS)}) "
                "and sets a non-empty name")
        key = (kind, name)
        info = PluginInfo(kind, name, component, package, version)
        other = self._components.get(key)
        if other is not None:
            # avdc's own components cannot be shadowed, whatever order the entry points load in:
            # the other package's component is the one refused
            kept, refused = (info, other) if package == BUILTIN_PACKAGE else (other, info)
            self._components[key] = kept
            raise PluginLoadError(
                f"{kind}/{name} is provided twice, by {kept.package!r} ({kept.component.__module__}) "
                f"and by {refused.package!r} ({refused.component.__module__}); kept {kept.package!r}'s"
                + (", avdc's own components cannot be replaced: give yours another name"
                   if kept.package == BUILTIN_PACKAGE else "; rename one of them"))
        self._components[key] = info

    def plugins(self, kind: str | None = None) -> list[PluginInfo]:
        """Installed components (of one kind, if given), sorted by kind order then name."""
        infos = [info for info in self._components.values() if kind in (None, info.kind)]
        return sorted(infos, key=lambda info: (KINDS.index(info.kind), info.name))

    def get(self, kind: str, name: str, where: str | None = None) -> PluginInfo:
        """The component ``kind/name``; raises :class:`UnknownComponentError` listing the
        installed ones of that kind and the closest name."""
        if kind not in KINDS:
            raise UnknownComponentError(f"unknown component kind {kind!r}; kinds are {', '.join(KINDS)}")
        info = self._components.get((kind, name))
        if info is not None:
            return info
        installed = [p.name for p in self.plugins(kind)]
        close = difflib.get_close_matches(name, installed, n=1)
        message = f"{where or kind}: unknown {kind} plugin {name!r}"
        if close:
            message += f"; did you mean {close[0]!r}?"
        message += f" Installed {kind} plugins: {', '.join(installed) or '(none)'}."
        if self.load_errors:
            message += " Some plugin packages failed to load: " + "; ".join(map(str, self.load_errors))
        raise UnknownComponentError(message)
