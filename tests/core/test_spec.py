"""Spec validation: shape first, then each plugin's own params; errors say where and what."""

import textwrap

import pytest

from avdc_core import MissingResourceError, SpecError, UnknownComponentError
from avdc_core.registry import Registry
from avdc_core.spec import load_spec, resolve_spec

import toy_plugins


@pytest.fixture
def registry():
    return Registry.discover(autoload=False, modules=[toy_plugins])


def spec(**overrides):
    data = {
        "generator": {"plugin": "still"},
        "flow": {"plugin": "constant", "params": {"dx": 1.5}},
        "segmenter": {"plugin": "everything"},
        "solver": {"plugin": "any"},
    }
    data.update(overrides)
    return data


def test_params_are_validated_by_the_plugin_config(registry):
    with pytest.raises(SpecError) as caught:
        resolve_spec(spec(flow={"plugin": "constant", "params": {"preset": "slow"}}), registry)
    message = str(caught.value)
    assert "flow.params.preset" in message
    assert "'slow'" in message
    assert "'fast'" in message and "'medium'" in message


def test_unknown_param_key_is_an_error_not_a_warning(registry):
    with pytest.raises(SpecError, match=r"flow\.params\.dz: Extra inputs are not permitted"):
        resolve_spec(spec(flow={"plugin": "constant", "params": {"dz": 1}}), registry)


def test_unknown_plugin_names_the_spec_path_and_installed_choices(registry):
    with pytest.raises(UnknownComponentError) as caught:
        resolve_spec(spec(flow={"plugin": "constnt"}), registry, source="my.yaml")
    message = str(caught.value)
    assert message.startswith("my.yaml: flow.plugin: unknown flow plugin 'constnt'")
    assert "did you mean 'constant'" in message


def test_missing_section_and_unknown_section_are_named(registry):
    data = spec(flwo={"plugin": "constant"})
    del data["segmenter"]
    with pytest.raises(SpecError) as caught:
        resolve_spec(data, registry)
    message = str(caught.value)
    assert "segmenter: Field required" in message
    assert "flwo: Extra inputs are not permitted" in message


def test_replan_settings_are_range_checked(registry):
    with pytest.raises(SpecError, match=r"replan\.max_replans: .*greater than or equal to 0.*given: -1"):
        resolve_spec(spec(replan={"max_replans": -1}), registry)


def test_malformed_yaml_names_file_line_and_column(tmp_path, registry):
    path = tmp_path / "bad.yaml"
    path.write_text(textwrap.dedent("""\
        generator: {plugin: still}
        flow: {plugin: constant
        segmenter: {plugin: everything}
        """))
    with pytest.raises(SpecError, match=rf"{path}:3:\d+: invalid YAML"):
        load_spec(path, registry)


def test_missing_spec_file_is_named(tmp_path, registry):
    with pytest.raises(MissingResourceError, match="nope.yaml"):
        load_spec(tmp_path / "nope.yaml", registry)


def test_spec_that_is_not_a_mapping_is_rejected(registry):
    with pytest.raises(SpecError, match="must be a mapping"):
        resolve_spec(["generator"], registry)


def test_yaml_tags_cannot_construct_python_objects(tmp_path, registry):
    path = tmp_path / "evil.yaml"
    path.write_text("generator: !!python/object/apply:os.system ['echo hacked']\n")
    with pytest.raises(SpecError, match="invalid YAML"):
        load_spec(path, registry)

