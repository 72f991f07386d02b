"""franky-sim for the tabletop: started on loopback only, one address per simulator, a scene
channel that refuses strangers; the scene seen from the executor's process; the tasks' seeds and
success test."""

import importlib.util
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client

import numpy as np
import pytest

from avdc_core import SpecError
from avdc_plugins.simulators.franka.server import loopback_candidates
from avdc_plugins.simulators.franka.tasks import TASKS

needs_franky = pytest.mark.skipif(importlib.util.find_spec("franky_sim") is None,
                                  reason="franky-sim is not installed (pip install 'avdc[franka]')")


@pytest.fixture(scope="module")
def simulator():
    from avdc_plugins.simulators.franka.server import launch

    process = launch("pick-place")
    yield process
    process.close()


@pytest.fixture(scope="module")
def scene(simulator):
    from avdc_plugins.simulators.franka.scene import FrankySimScene

    scene = FrankySimScene(simulator, "pick-place", 160, 120)
    yield scene
    scene.close()


@needs_franky
def test_the_simulator_listens_on_loopback_only(simulator):
    psutil = pytest.importorskip("psutil")
    listening = [connection.laddr for connection in psutil.Process(simulator.process.pid).net_connections("tcp")
                 if connection.status == psutil.CONN_LISTEN]
    assert {address.port for address in listening} >= {1337, 1338}  # libfranka's robot and gripper ports
    assert all(address.ip.startswith("127.") for address in listening), listening
    assert simulator.robot_host.startswith("127.")


@needs_franky
def test_a_second_simulator_takes_the_next_free_address(simulator):
    from avdc_plugins.simulators.franka.server import launch

    second = launch("push", host=simulator.robot_host)
    try:
        assert second.robot_host != simulator.robot_host and second.robot_host.startswith("127.0.0.")
    finally:
        second.close()
    assert second.process.returncode == 0


@needs_franky
def test_the_scene_channel_refuses_a_client_without_its_key(simulator):
    assert simulator.channel.request("state")["time"] > 0  # the executor's own connection works ...
    with pytest.raises(AuthenticationError):  # ... a stranger's does not
        Client(("127.0.0.1", _channel_port(simulator)), authkey=b"not the key")
    assert simulator.channel.request("state")["time"] > 0


def _channel_port(simulator):
    import psutil

    ports = {c.laddr.port for c in psutil.Process(simulator.process.pid).net_connections("tcp")
             if c.status == psutil.CONN_LISTEN and c.laddr.ip == "127.0.0.1"} - {1337, 1338}
    return ports.pop()


def test_only_loopback_addresses_are_served():
    with pytest.raises(SpecError, match="not a loopback address"):
        loopback_candidates("10.1.2.3")
    with pytest.raises(SpecError, match="not an IP address"):
        loopback_candidates("robot.local")
    assert loopback_candidates("127.0.0.253") == ["127.0.0.253", "127.0.0.254"]


@needs_franky
def test_placing_by_seed_is_seen_by_the_camera(scene):
    scene.place(seed=4)
    cube, goal = TASKS["pick-place"].placement(4)
    np.testing.assert_allclose(scene.object_position(), cube, atol=2e-3)  # it may settle by a hair
    np.testing.assert_allclose(scene.goal_position(), goal, atol=1e-9)
    observation = scene.observation()
    mask = scene.parts.mask(observation.simulator.segmentation, ["cube"])
    rows, cols = np.nonzero(mask)
    seen = observation.camera.unproject(np.stack([cols, rows], 1).astype(float), observation.depth[rows, cols])
    assert mask.sum() > 20
    assert np.linalg.norm(seen.mean(axis=0)[:2] - cube[:2]) < 0.02  # depth + camera put it where it is
    assert not scene.succeeded()


@needs_franky
def test_the_oracle_video_carries_the_object_onto_its_goal(scene):
    scene.place(seed=2)
    rollout = scene.expert_rollout(max_steps=500)
    video = scene.render_video([rollout.states[0], rollout.states[-1]])
    body = scene.object_id
    start, end = video.simulator.body_poses[:, body, :3, 3]
    goal = scene.goal_position()
    assert rollout.success
    np.testing.assert_allclose(start, scene.object_position(), atol=1e-9)
    np.testing.assert_allclose(end[:2], goal[:2], atol=1e-6)
    assert end[2] == pytest.approx(TASKS["pick-place"].resting_height(goal))
    heights = [scene.data_from_state(state).xpos[body][2] for state in rollout.states[::5]]
    assert max(heights) > start[2] + 0.09  # lifted over the pad's edge, not slid into it


def test_seeds_place_object_and_goal_apart_and_repeatably():
    for task in TASKS.values():
        for seed in range(20):
            obj, goal = task.placement(seed)
            assert np.linalg.norm(obj[:2] - goal[:2]) >= task.min_distance_m
            np.testing.assert_array_equal(task.placement(seed)[0], obj)
        assert not np.allclose(task.placement(0)[0], task.placement(1)[0])


def test_success_needs_the_object_resting_on_the_goal_and_released():
    task = TASKS["pick-place"]
    goal = np.array([0.5, 0.1, 0.015])
    on_pad = np.array([0.51, 0.105, task.resting_height(goal)])
    assert task.succeeded(on_pad, 0.0, goal, touched_by_fingers=False)
    assert not task.succeeded(on_pad, 0.0, goal, touched_by_fingers=True)  # still held
    assert not task.succeeded(on_pad + [0.025, 0, 0], 0.0, goal, False)  # 2.5 cm off
    assert not task.succeeded(on_pad + [0, 0, 0.05], 0.0, goal, False)  # in the air
    assert not task.succeeded(on_pad, 0.1, goal, False)  # still moving
