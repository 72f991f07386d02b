"""MiniWorld's scripted expert: straight to the box in its room, through the doors otherwise."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

if importlib.util.find_spec("miniworld") is None:  # imported by the scene, after headless is set
    pytest.skip("miniworld is not installed (pip install 'avdc[miniworld]')", allow_module_level=True)

from avdc_plugins.simulators.miniworld.scene import MiniWorldScene  # noqa: E402


def start_of(scene):
    agent, box = scene.env.agent.pos, scene.target.pos
    return np.array([agent[0], agent[2]]), np.array([box[0], box[2]])


def test_the_expert_walks_through_doors_to_a_box_in_another_room():
    behind_a_wall = 0
    for seed in range(6):
        scene = MiniWorldScene("four-rooms", 32, 32, seed)
        try:
            here, goal = start_of(scene)
            if not scene.expert.inside_room_of(here, goal):
                behind_a_wall += 1
                assert len(scene.expert.path(here, goal)) > 10
            rollout = scene.expert_rollout(max_steps=100)
            assert rollout.success, f"four-rooms seed {seed}"
        finally:
            scene.close()
    assert behind_a_wall >= 2  # the seeds exercise the path search, not only the open room


def test_in_an_open_room_the_expert_heads_straight_for_the_box():
    scene = MiniWorldScene("one-room", 32, 32, seed=4)
    try:
        here, goal = start_of(scene)
        np.testing.assert_array_equal(scene.expert.waypoint(), goal)
    finally:
        scene.close()


def test_success_is_the_near_test_even_where_the_task_never_ends_by_itself():
    scene = MiniWorldScene("three-rooms", 32, 32, seed=1)  # ThreeRooms has no termination of its own
    try:
        rollout = scene.expert_rollout(max_steps=100)
        assert rollout.success
        scene.set_state(rollout.states[-1])
        assert scene.success()
    finally:
        scene.close()
