"""Discovery through pluggy and faked entry-point distributions."""

import importlib.metadata
import sys
import types

import pytest

from avdc_core import ComponentConfig, FlowEstimator, UnknownComponentError, hookimpl
from avdc_core.registry import Registry

import toy_plugins


def entry_point(name: str, module: str) -> importlib.metadata.EntryPoint:
    return importlib.metadata.EntryPoint(name=name, value=module, group="avdc")


def test_entry_point_module_components_are_registered_by_kind_and_name():
    registry = Registry.discover(entry_points=[entry_point("toy", "toy_plugins")])
    info = registry.get("flow", "constant")
    assert info.component is toy_plugins.ConstantFlow
    assert info.address == "flow/constant"
    assert [p.address for p in registry.plugins("flow")] == ["flow/constant"]
    assert registry.load_errors == []


def test_unknown_flow_plugin_lists_installed_ones_and_the_closest_name():
    registry = Registry.discover(entry_points=[entry_point("toy", "toy_plugins")])
    with pytest.raises(UnknownComponentError) as caught:
        registry.get("flow", "constnat")
    message = str(caught.value)
    assert "did you mean 'constant'" in message
    assert "Installed flow plugins: constant" in message


def test_plugin_that_fails_to_import_is_reported_and_others_still_work():
    registry = Registry.discover(entry_points=[
        entry_point("broken", "no_such_module_for_avdc_tests"),
        entry_point("toy", "toy_plugins"),
    ])
    assert registry.get("segmenter", "everything").component is toy_plugins.EverythingSegmenter
    assert len(registry.load_errors) == 1
    error = str(registry.load_errors[0])
    assert "'broken'" in error and "ModuleNotFoundError" in error and "no_such_module_for_avdc_tests" in error
    with pytest.raises(UnknownComponentError, match="failed to load"):
        registry.get("flow", "missing")


def _module_with(name: str, *components) -> types.ModuleType:
    module = types.ModuleType(name)

    @hookimpl
    def avdc_components():
        return list(components)

    module.avdc_components = avdc_components
    return module


def test_duplicate_component_names_are_rejected_naming_both_providers():
    clash = _module_with("clash_plugin", toy_plugins.ConstantFlow)
    registry = Registry.discover(autoload=False, modules=[toy_plugins, clash])
    assert any("flow/constant is provided twice" in str(e) for e in registry.load_errors)


def test_component_without_a_name_is_a_load_error():
    class Nameless(FlowEstimator):
        Config = ComponentConfig

        def estimate(self, video, backward=True):
            raise NotImplementedError

    registry = Registry.discover(autoload=False, modules=[_module_with("nameless", Nameless)])
    assert any("non-empty name" in str(e) for e in registry.load_errors)
    assert registry.plugins() == []


def test_autoload_can_be_switched_off_by_environment(monkeypatch):
    monkeypatch.setenv("AVDC_DISABLE_PLUGIN_AUTOLOAD", "1")
    registry = Registry.discover(entry_points=[entry_point("toy", "toy_plugins")])
    assert registry.plugins() == []


def test_installed_built_in_plugins_load_through_avdc_entry_points():
    registry = Registry.discover()
    assert registry.load_errors == [], registry.load_errors
    packages = {p.package for p in registry.plugins()}
    assert "avdc" in packages
    for kind in ("generator", "flow", "segmenter", "solver", "executor"):
        assert registry.plugins(kind), f"no built-in {kind} plugin"


def test_plugin_modules_are_cheap_to_import():
    """Listing plugins must not import torch or a simulator."""
    import subprocess

    code = ("import sys; from avdc_core.registry import Registry; Registry.discover(); "
            "heavy = [m for m in ('torch', 'mujoco', 'metaworld', 'segment_anything', 'ptlflow') "
            "if m in sys.modules]; print(','.join(heavy))")
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert output.stdout.strip() == ""


def test_plugins_add_cli_commands_through_the_avdc_cli_hook(capsys):
    from avdc_cli.main import make_app

    module = types.ModuleType("cli_plugin")

    @hookimpl
    def avdc_cli(app):
        @app.command("hello-plugin")
        def hello(name: str) -> None:
            print(f"hello {name}")

    module.avdc_cli = avdc_cli
    registry = Registry.discover(autoload=False, modules=[module])
    make_app(registry)(["hello-plugin", "avdc"], standalone_mode=False, obj=registry)
    assert capsys.readouterr().out == "hello avdc\n"


@pytest.mark.parametrize("shadow_first", [True, False])
def test_a_third_party_package_cannot_shadow_a_built_in_component(monkeypatch, shadow_first):
    """Another package registering ``flow/opencv-dis`` again is the one refused, whatever the
    load order; the built-in module's other components (opencv-farneback) stay."""
    class ImpostorFlow(FlowEstimator):
        name = "opencv-dis"

        def estimate(self, video, backward=True):
            raise NotImplementedError

    monkeypatch.setitem(sys.modules, "impostor_flow_plugin", _module_with("impostor_flow_plugin", ImpostorFlow))
    built_in = list(importlib.metadata.entry_points(group="avdc"))
    impostor = [entry_point("impostor", "impostor_flow_plugin")]
    registry = Registry.discover(entry_points=impostor + built_in if shadow_first else built_in + impostor)
    kept = registry.get("flow", "opencv-dis")
    assert kept.package == "avdc" and kept.component is not ImpostorFlow
    assert registry.get("flow", "opencv-farneback").package == "avdc"
    errors = [str(e) for e in registry.load_errors]
    assert len(errors) == 1
    assert "flow/opencv-dis is provided twice" in errors[0] and "'impostor_flow_plugin'" in errors[0]
    assert "avdc's own components cannot be replaced" in errors[0]
