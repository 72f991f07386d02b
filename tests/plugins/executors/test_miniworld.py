"""executor/miniworld: the contract, the paper's action rule, and real episodes end to end."""

import importlib.util

import numpy as np
import pytest

# not importorskip: miniworld must be imported after pyglet is told to run headless (the scene does it)
if importlib.util.find_spec("miniworld") is None:
    pytest.skip("miniworld is not installed (pip install 'avdc[miniworld]')", allow_module_level=True)

from avdc_core import BuildContext, InputDataError, PlanFailedError  # noqa: E402
from avdc_core.testing import ExecutorContract  # noqa: E402
from avdc_core.types import RigidTrajectory  # noqa: E402
from avdc_plugins.executors.miniworld import MiniWorldExecutor  # noqa: E402
from avdc_plugins.executors.navigation import pair_actions  # noqa: E402

from paths import ROOT  # noqa: E402


def make_executor(**params):
    return MiniWorldExecutor(MiniWorldExecutor.Config(**{"resolution": (64, 64), **params}), BuildContext())


class TestMiniWorldExecutor(ExecutorContract):
    def make_component(self):
        return make_executor()


def camera_motion(*steps):
    """A camera-mode trajectory from per-frame camera motions given in the camera's own frame:
    ``("yaw", degrees)`` (positive = to the left) or ``("forward", metres)``."""
    poses = [np.eye(4)]
    for kind, amount in steps:
        step = np.eye(4)
        if kind == "yaw":  # OpenCV camera: y down, so a left turn is a negative rotation about y
            a = np.radians(-amount)
            step[:3, :3] = [[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]]
        else:
            step[2, 3] = amount
        poses.append(poses[-1] @ step)
    transforms = np.stack(poses)  # with cam_to_world = identity these are the camera's motions
    return RigidTrajectory(transforms, np.ones((len(poses), 1), bool), np.zeros(len(poses)), mode="camera")


def test_the_action_rule_maps_camera_motion_to_moves():
    trajectory = camera_motion(("yaw", 30), ("forward", 0.3), ("yaw", -30), ("forward", 0.0), ("yaw", 5))
    assert pair_actions(trajectory, np.eye(4), 0.2, 1e-3) == [
        "turn_left", "move_forward", "turn_right", "done", "move_forward"]  # 5° is within the threshold


def test_a_still_plan_is_a_recorded_plan_failure_not_a_silent_done():
    executor = make_executor()
    try:
        observation = executor.reset(seed=0)
        with pytest.raises(PlanFailedError, match="does not move"):
            executor.commands(camera_motion(("forward", 0.0), ("forward", 0.0)), np.zeros((0, 3)), observation)
    finally:
        executor.close()


def test_an_unknown_task_names_the_valid_ones():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="unknown MiniWorld task 'one-rom'; did you mean 'one-room'"):
        MiniWorldExecutor.Config(task="one-rom")
    with pytest.raises(InputDataError, match="too small"):
        make_executor(resolution=(8, 8))


def test_the_expert_reaches_the_box_and_leaves_the_live_state_as_it_was():
    executor = make_executor()
    try:
        executor.reset(seed=3)
        scene = executor.scene
        before = scene.state()
        rollout = scene.expert_rollout(max_steps=100)
        assert rollout.success and len(rollout.states) > 2
        np.testing.assert_array_equal(scene.state(), before)
        video = scene.render_video(rollout.states[:3])
        truth = video.simulator
        assert truth.num_frames == 3 and len({camera.cam_to_world.tobytes() for camera in truth.cameras}) > 1
    finally:
        executor.close()


def test_one_real_episode_end_to_end_with_real_flow_and_solver(tmp_path):
    """CI's MiniWorld episode: the expert's video, fine DIS flow on the whole scene, the SE(3)
    solver's camera mode and the discrete executor reach the box. One walk is chaotic (a fit
    that differs by one track changes every later view), so this is one representative seed;
    success rates come from `avdc eval` (README)."""
    from avdc_cli.main import main

    out = tmp_path / "run"
    assert main(["run", str(ROOT / "specs" / "miniworld-oracle-dis.yaml"), "--seed", "2", "--out", str(out)]) == 0
    import json

    result = json.loads((out / "episode_0002" / "result.json").read_text())
    assert result["success"] is True and result["steps"] <= 100


def test_eval_grid_runs_tasks_without_a_setting_parameter(capsys, tmp_path):
    from avdc_cli.main import main

    code = main(["eval", str(ROOT / "specs" / "miniworld-oracle-simflow.yaml"), "--tasks", "one-room",
                 "--seeds", "2", "--out", str(tmp_path / "eval")])
    assert code == 0
    assert (tmp_path / "eval" / "episodes" / "one-room" / "agent" / "seed_001.json").is_file()
    assert "| agent | 100.0 |" in capsys.readouterr().out


def test_a_still_plan_can_be_the_agents_stop_which_ends_the_episode():
    executor = make_executor(still_plan="stop")
    try:
        observation = executor.reset(seed=0)
        commands = executor.commands(camera_motion(("forward", 0.0)), np.zeros((0, 3)), observation)
        assert commands.data == {"actions": ["stop"]}
        (report,) = list(executor.execute(commands))
        assert report.stopped and not report.success  # the box is not near the start
        assert list(executor.execute(executor.commands(camera_motion(("yaw", 30)), np.zeros((0, 3)),
                                                       observation))) == []  # nothing after a stop
    finally:
        executor.close()


def test_execution_stops_at_the_episodes_step_limit():
    executor = make_executor(max_steps=2)
    try:
        observation = executor.reset(seed=0)
        moves = executor.commands(camera_motion(("yaw", 30), ("yaw", 30), ("yaw", 30)), np.zeros((0, 3)),
                                  observation)
        reports = list(executor.execute(moves))
        assert [r.step for r in reports] == [1, 2] and not any(r.success for r in reports)
    finally:
        executor.close()
