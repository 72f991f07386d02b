"""`avdc eval`: the grid comes from the spec's executor; every mistake is refused before a run."""

import pytest
import yaml

from avdc_cli.main import main, make_app
from avdc_core.registry import Registry

from paths import ROOT, default_spec_data


def run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def write_spec(tmp_path, spec):
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


@pytest.mark.parametrize("argv, expected", [
    (["--tasks", "door-opn"], "task: .*did you mean 'door-open'"),
    (["--cameras", "corner,nadir"], "camera: .*valid cameras: topview, corner"),
    (["--settings", "corner,corner"], "--settings: corner given twice"),
    (["--tasks", ","], "--tasks: empty"),
    (["--address", "127.0.0.1:6379"], "--address '127.0.0.1:6379' is for --backend ray"),
    (["--backend", "ray", "--workers", "4"], "--workers 4 is for the local backend"),
])
def test_a_bad_grid_is_one_line_and_nothing_runs(capsys, tmp_path, argv, expected):
    pytest.importorskip("metaworld")
    import re

    code, out, err = run(capsys, "eval", *argv, "--seeds", "1", "--out", str(tmp_path / "eval"))
    assert code != 0 and re.search(expected, err), err
    assert err.startswith("error: ") and "Traceback" not in err
    assert not (tmp_path / "eval").exists()


def test_a_spec_whose_executor_declares_no_grid_is_refused(capsys, tmp_path):
    spec = default_spec_data()
    del spec["executor"]
    code, _, err = run(capsys, "eval", str(write_spec(tmp_path, spec)), "--out", str(tmp_path / "eval"))
    assert code != 0 and "needs an executor that declares an evaluation grid; the spec has no executor" in err


def test_collect_commands_arrive_through_the_plugin_hook_and_main_names_no_simulator():
    """`avdc collect metaworld` and `miniworld` are the worlds' own, registered by their avdc_cli hooks:
    without plugins the collect group is empty; cli/main.py names no simulated world."""
    import typer.main

    def collect_commands(registry):
        group = typer.main.get_command(make_app(registry))
        return set(group.commands["collect"].commands)

    assert collect_commands(Registry.discover()) == {"metaworld", "miniworld"}
    assert collect_commands(Registry.discover(autoload=False)) == set()
    source = (ROOT / "cli" / "main.py").read_text().lower()
    for world in ("metaworld", "meta-world", "miniworld", "thor", "franky", "mujoco"):
        assert world not in source
