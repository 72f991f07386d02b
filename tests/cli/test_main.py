"""The `avdc` command line: listing, validation and its one-line errors with exit codes."""

import json
import re

import pytest
import yaml

from avdc_cli.main import main

from paths import DEFAULT_SPEC, default_spec_data


def write_spec(tmp_path, **changes):
    spec = default_spec_data()
    spec.update(changes)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_plugins_json_lists_every_built_in_kind_with_package(capsys):
    code, out, _ = run(capsys, "plugins", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["load_errors"] == []
    addresses = {row["address"] for row in data["plugins"]}
    for address in ("flow/opencv-dis", "solver/se3-lm", "executor/metaworld",
                    "generator/oracle", "segmenter/sim-mask"):
        assert address in addresses
    assert all(row["package"] == "avdc" and row["summary"] for row in data["plugins"])


@pytest.mark.parametrize("argv, expected", [
    ([], "Usage: avdc"), (["bogus"], "No such command 'bogus'"), (["--verison"], "No such option"),
    (["run", "--episodes", "abc"], "Invalid value for '--episodes'")])
def test_usage_mistakes_end_in_help_or_one_line_without_a_traceback(capsys, argv, expected):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert expected in out + err and "Traceback" not in out + err


def test_version_prints_the_installed_version(capsys):
    import importlib.metadata

    code, out, err = run(capsys, "--version")
    assert code == 0 and out.strip() == f"avdc {importlib.metadata.version('avdc')}" and not err


@pytest.mark.parametrize("changes, expected", [
    ({"executor": {"plugin": "metaworld", "params": {"task": "door-opn"}}},
     "executor.params.task: .*did you mean 'door-open'"),
    ({"executor": {"plugin": "metaworld", "params": {"camera": "nadir"}}},
     "executor.params.camera: .*valid cameras: topview, corner"),
    ({"device": "banana"}, "device: .*use cpu, cuda or cuda:N"),
    ({"device": "cuda:7"}, "device: .*torch sees \\d+ CUDA GPU"),
    pytest.param({"device": "cuda"}, "device: device 'cuda': torch sees 0 CUDA GPU.*use device: cpu",
                 marks=pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="a GPU is present")),
])
def test_validate_refuses_what_a_run_would_trip_on(capsys, tmp_path, changes, expected):
    pytest.importorskip("metaworld")
    import re

    code, _, err = run(capsys, "validate", str(write_spec(tmp_path, **changes)))
    assert code != 0 and re.search(expected, err) and "Traceback" not in err


def test_validate_accepts_the_embedded_default(capsys):
    code, out, _ = run(capsys, "validate")
    assert code == 0 and out.strip().endswith(f"ok: {DEFAULT_SPEC}")


def test_unknown_plugin_is_one_line_with_closest_name(capsys, tmp_path):
    path = write_spec(tmp_path, flow={"plugin": "opencv-dsi"})
    code, _, err = run(capsys, "validate", str(path))
    assert code == 3
    assert "did you mean 'opencv-dis'" in err and "Installed flow plugins:" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_bad_param_names_path_value_and_choices(capsys, tmp_path):
    path = write_spec(tmp_path, flow={"plugin": "opencv-dis", "params": {"preset": "slowest"}})
    code, _, err = run(capsys, "validate", str(path))
    assert code == 2
    assert "flow.params.preset" in err and "'slowest'" in err and "'medium'" in err
    assert "Traceback" not in err


def test_malformed_yaml_reports_file_line_and_column(capsys, tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("generator: {plugin: oracle}\nflow: [opencv-dis\n")
    code, _, err = run(capsys, "validate", str(path))
    assert code == 2 and f"{path}:3:1: invalid YAML" in err


def test_missing_spec_file_is_named(capsys, tmp_path):
    code, _, err = run(capsys, "validate", str(tmp_path / "absent.yaml"))
    assert code == 5 and "absent.yaml" in err and "does not exist" in err


def test_debug_flag_shows_the_traceback(capsys, tmp_path):
    code, _, err = run(capsys, "--debug", "validate", str(tmp_path / "absent.yaml"))
    assert code == 5 and "Traceback" in err


@pytest.mark.parametrize("argv", [["plan", "--image", "x.png", "--depth", "d.npy", "--camera",
                                   "c.json", "--text", " "]])
def test_plan_rejects_empty_text(capsys, argv):
    code, _, err = run(capsys, *argv)
    assert code == 6 and "--text is empty" in err


def test_doctor_reports_versions_and_a_working_renderer(capsys):
    code, out, _ = run(capsys, "doctor")
    assert code == 0
    assert "torch: 2." in out and "metaworld: 3." in out
    assert "franky-control: 2." in out and "franky-sim: 1." in out
    assert re.search(r"pyrealsense2: (\d|MISSING — needed by executor/franka with camera source realsense)", out)
    assert "rendering: MuJoCo offscreen works with MUJOCO_GL=egl" in out


def test_validate_names_a_missing_checkpoint_and_how_to_get_it(capsys, tmp_path):
    path = write_spec(tmp_path, generator={"plugin": "unet-diffusion",
                                           "params": {"checkpoint": "runs/none/model.safetensors"}})
    code, _, err = run(capsys, "validate", str(path))
    assert code == 5
    assert str(tmp_path / "runs/none/model.safetensors") in err and "avdc train" in err


def test_validate_names_a_missing_flow_network_checkpoint(capsys, tmp_path):
    path = write_spec(tmp_path, flow={"plugin": "raft", "params": {"checkpoint": "w/raft.ckpt"}})
    code, _, err = run(capsys, "validate", str(path))
    assert code == 5 and "w/raft.ckpt does not exist" in err and "ptlflow" in err
