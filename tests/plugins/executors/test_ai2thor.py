"""executor/ai2thor without the Unity build: it validates its spec, runs the eval grid's checks,
and fails with the build's folder, never a download, when an episode starts. (The contract tests
of executor/miniworld cover the navigation loop both share.)"""

from __future__ import annotations

import pytest

pytest.importorskip("ai2thor")

from pydantic import ValidationError  # noqa: E402

from avdc_core import BuildContext, MissingResourceError  # noqa: E402
from avdc_plugins.executors.ai2thor import AI2ThorExecutor  # noqa: E402


def test_the_paper_protocol_is_the_default():
    config = AI2ThorExecutor.Config()
    assert (config.resolution, config.fov_deg, config.rotate_step_deg, config.grid_size_m) == ((64, 64), 90, 45, 0.25)
    assert (config.visibility_distance_m, config.max_steps, config.still_plan) == (1.5, 50, "stop")
    assert len(AI2ThorExecutor.eval_grid.tasks) == 12 and AI2ThorExecutor.motion_mode == "camera"
    assert AI2ThorExecutor(config, BuildContext()).task_text() == "toaster"


def test_an_unknown_target_lists_the_paper_targets():
    with pytest.raises(ValidationError, match="unknown iTHOR target 'Lamp'.*DeskLamp"):
        AI2ThorExecutor.Config(target="Lamp")


def test_reset_without_the_build_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    executor = AI2ThorExecutor(AI2ThorExecutor.Config(target="Laptop"), BuildContext())
    with pytest.raises(MissingResourceError, match="Unity build is not on this machine"):
        executor.reset(seed=0)
    executor.close()


def test_cli_run_reports_the_missing_build(tmp_path, monkeypatch, capsys):
    from avdc_cli.main import main

    monkeypatch.setenv("HOME", str(tmp_path))
    spec = tmp_path / "thor.yaml"
    spec.write_text("generator: {plugin: video-file, params: {path: frames}}\nflow: {plugin: opencv-dis}\n"
                    "segmenter: {plugin: whole-scene}\nsolver: {plugin: se3-lm}\n"
                    "executor: {plugin: ai2thor, params: {target: Pillow}}\n")
    (tmp_path / "frames").mkdir()
    assert main(["run", str(spec), "--out", str(tmp_path / "run")]) != 0
    assert "Unity build is not on this machine" in capsys.readouterr().err
