"""executor/franka: the contract against franky-sim (started by the executor on loopback), a real
pick-and-place episode end to end, safety checks before motion, and the real-robot paths that
must fail clearly (unreachable host, missing camera files) or move nothing (dry run)."""

import importlib.util
import socket
import time

import numpy as np
import pytest

if importlib.util.find_spec("franky") is None or importlib.util.find_spec("franky_sim") is None:
    pytest.skip("franky-control / franky-sim are not installed (pip install 'avdc[franka]')",
                allow_module_level=True)

from avdc_cli.main import main  # noqa: E402
from avdc_core import BuildContext, InputDataError, MissingResourceError, PlanFailedError, SpecError  # noqa: E402
from avdc_core.pipeline import build_pipeline  # noqa: E402
from avdc_core.registry import Registry  # noqa: E402
from avdc_core.runner import run_episode  # noqa: E402
from avdc_core.spec import load_spec  # noqa: E402
from avdc_core.testing import ExecutorContract  # noqa: E402
from avdc_core.types import Commands, RigidTrajectory  # noqa: E402
from avdc_plugins.executors.franka import FrankaConfig, FrankaExecutor  # noqa: E402
from avdc_plugins.executors.manipulation import Waypoint  # noqa: E402

from paths import ROOT  # noqa: E402

RECORDED = ROOT / "tests" / "data" / "franka-recorded"
RECORDED_CAMERA = {"source": "recorded", "calibration": str(RECORDED / "camera.json"),
                   "rgb": str(RECORDED / "rgb.png"), "depth": str(RECORDED / "depth.png")}
RECORDED_CUBE_M = np.array([0.502, -0.028, 0.025])
"""Where the cube of the recorded frame (pick-place, seed 1) is, from the simulator."""


def make_executor(**params):
    return FrankaExecutor(FrankaConfig(**{"resolution": (160, 120), **params}), BuildContext())


def dry_run_executor(**params):
    return make_executor(**{"launch_simulator": False, "dry_run": True, "host": "192.0.2.10",
                            "camera": RECORDED_CAMERA, **params})


class TestFrankaExecutor(ExecutorContract):
    max_contract_steps = 600

    def make_component(self):
        return make_executor()

    def sample_plan(self, observation, mode):
        """The task's object (its mask) sliding 3 cm sideways over 3 frames: a push on the table."""
        view = observation.simulator
        rows, cols = np.nonzero(view.parts.mask(view.segmentation, ["cube"]) & observation.valid_depth)
        pixels = np.stack([cols, rows], axis=1).astype(np.float64)
        points = observation.camera.unproject(pixels, observation.depth[rows, cols])
        transforms = np.repeat(np.eye(4)[None], 3, axis=0)
        axis = [0.0, 0.0, 1.0] if mode == "camera" else [0.0, 1.0, 0.0]
        transforms[:, :3, 3] = np.outer([0.0, 0.015, 0.03], axis)
        return RigidTrajectory(transforms, np.ones((3, len(points)), bool), np.zeros(3), mode=mode), points

    def test_the_same_seed_starts_the_same_episode(self):
        """The objects are placed exactly; the arm's home pose repeats to a fraction of a millimetre
        (a controller settles there), so the images agree up to the robot's edge pixels."""
        executor, first = self._episode(seed=3)
        try:
            cube = executor.scene.object_position()
            again = executor.reset(seed=3)
            np.testing.assert_allclose(executor.scene.object_position(), cube, atol=1e-4)
            differs = np.abs(first.rgb.astype(int) - again.rgb.astype(int)).max(axis=2) > 30
            assert differs.mean() < 0.005
        finally:
            executor.close()


def test_a_pick_and_place_episode_succeeds_end_to_end():
    """Oracle video, real flow (DIS + template matching), real solver, the arm through franky over
    libfranka's protocol to franky-sim: the cube ends on the pad."""
    resolved = load_spec(ROOT / "specs" / "franka-sim-pick.yaml", Registry.discover())
    pipeline = build_pipeline(resolved)
    try:
        result = run_episode(pipeline.planner, pipeline.executor, resolved.spec.replan, seed=1)
        cube = pipeline.executor.scene.object_position()
        goal = pipeline.executor.scene.goal_position()
    finally:
        pipeline.close()
    assert result.success, result
    assert np.linalg.norm(cube[:2] - goal[:2]) < 0.02


def test_a_grasp_that_closes_on_nothing_ends_the_plan():
    executor = make_executor()
    try:
        executor.reset(seed=0)
        empty = np.array([0.35, -0.25, 0.025])  # outside every seed's object and goal areas
        waypoints = [Waypoint(empty + [0, 0, 0.08], False), Waypoint(empty, False), Waypoint(empty, True),
                     Waypoint(empty + [0, 0, 0.1], True)]
        commands = Commands("subgoals", {"mode": "grasp", "contact_path": [empty.tolist()] * 2,
                                         "waypoints": [w.to_json() for w in waypoints]})
        reports = list(executor.execute(commands))
    finally:
        executor.close()
    assert "missed" in reports[-1].info.get("gripper", ""), [report.info for report in reports]
    assert reports[-1].effector_m[2] < empty[2] + 0.02  # it never went on to lift


def test_a_motion_the_robot_aborts_is_reported_recovered_and_ends_the_plan():
    """franky-sim has no contact reflexes; a stop from outside (an operator's, here) aborts the
    motion with the same libfranka ControlException a reflex raises."""
    executor = make_executor()
    try:
        executor.reset(seed=0)
        start = executor.tcp_position()
        moving = executor._move([start + np.array([0.0, 0.2, -0.2])])
        next(moving)
        executor.robot.stop()
        reports = list(moving)
        assert "ControlException" in reports[-1].info["error"] and reports[-1].info["recovered"]
        assert np.linalg.norm(executor.tcp_position() - start) < 0.15  # it stopped short of the target
        after = list(executor._move([executor.tcp_position() + np.array([0.0, 0.0, 0.03])]))
        assert after and "error" not in after[-1].info  # and moves again
    finally:
        executor.close()


def test_an_unreachable_robot_is_one_clear_error_within_its_timeout():
    executor = make_executor(launch_simulator=False, host="127.0.0.77", connect_timeout_s=1.0,
                             camera=RECORDED_CAMERA)
    start = time.monotonic()
    with pytest.raises(MissingResourceError, match=r"127\.0\.0\.77:1337 within 1 s"):
        executor.reset(seed=0)
    assert time.monotonic() - start < 5
    executor.close()


def test_dry_run_prints_the_waypoints_and_connects_to_nothing(monkeypatch, capsys, tmp_path):
    def refuse(*args, **kwargs):
        raise AssertionError(f"a dry run opened a connection: {args}")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    code = main(["run", str(ROOT / "specs" / "franka-dry-run.yaml"), "--out", str(tmp_path / "dry")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "dry run (grasp)" in out and "nothing moves" in out
    grasp = [line for line in out.splitlines() if "gripper closed" in line][0].split()
    position = np.array([float(value.split("=")[1]) for value in grasp[1:4]])
    assert np.linalg.norm(position[:2] - RECORDED_CUBE_M[:2]) < 0.02  # the hand closes on the cube


def test_a_plan_leaving_the_workspace_is_refused_before_any_motion():
    executor = dry_run_executor(fit_workspace=False)
    observation = executor.reset(seed=0)
    points = RECORDED_CUBE_M + np.random.default_rng(0).normal(0, 0.01, (50, 3))
    transforms = np.repeat(np.eye(4)[None], 3, axis=0)
    transforms[:, 0, 3] = [0.0, 0.2, 0.4]  # carried 40 cm away from the robot: x = 0.9 m
    trajectory = RigidTrajectory(transforms, np.ones((3, 50), bool), np.zeros(3))
    refused = r"waypoint \d+ \(0\.[89]\d\d, .*outside the workspace box \(0\.250, -0\.350, 0\.010\)"
    with pytest.raises(PlanFailedError, match=refused):
        executor.commands(trajectory, points, observation)


@pytest.mark.parametrize(("params", "message"), [
    ({"workspace_low": (0.2, -0.3, -0.01)}, "must be above table_z"),
    ({"workspace_low": (0.8, -0.3, 0.01)}, "must be below workspace_high"),
    ({"launch_simulator": False}, "camera source 'sim' needs launch_simulator"),
    ({"dry_run": True}, "dry_run plans from a recorded frame"),
    ({"camera": {"source": "recorded"}}, "needs calibration, rgb, depth"),
    ({"task": "pick-plaec"}, "did you mean 'pick-place'"),
])
def test_inconsistent_settings_are_refused_with_the_reason(params, message):
    resolved = {"executor": {"plugin": "franka", "params": params}, "generator": {"plugin": "oracle"},
                "flow": {"plugin": "sim-flow"}, "segmenter": {"plugin": "sim-mask"},
                "solver": {"plugin": "se3-lm"}}
    from avdc_core.spec import resolve_spec

    with pytest.raises(SpecError, match=message):
        resolve_spec(resolved, Registry.discover())


def test_a_realsense_camera_without_its_library_is_one_clear_error():
    if importlib.util.find_spec("pyrealsense2") is not None:
        pytest.skip("pyrealsense2 is installed: this tests the message given without it")
    with pytest.raises(MissingResourceError, match="pip install pyrealsense2"):
        make_executor(launch_simulator=False, camera={"source": "realsense",
                                                      "calibration": RECORDED_CAMERA["calibration"]})


def test_a_calibration_that_is_not_rigid_is_refused(tmp_path):
    import json

    calibration = json.loads((RECORDED / "camera.json").read_text())
    calibration["cam_to_world"][0][0] *= 2.0
    (tmp_path / "camera.json").write_text(json.dumps(calibration))
    with pytest.raises(InputDataError, match="not a rigid transform"):
        dry_run_executor(camera={**RECORDED_CAMERA, "calibration": str(tmp_path / "camera.json")})
    with pytest.raises(MissingResourceError, match="does not exist"):
        dry_run_executor(camera={**RECORDED_CAMERA, "calibration": str(tmp_path / "missing.json")})
