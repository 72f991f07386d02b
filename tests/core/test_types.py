"""Data passed between components: shape checks naming the field, JSON for people and tools."""

import json

import numpy as np
import pytest

from avdc_core import InputDataError
from avdc_core.types import RigidTrajectory, transform_points


def trajectory(**uncertainty) -> RigidTrajectory:
    return RigidTrajectory(np.stack([np.eye(4)] * 3), np.ones((3, 5), bool), np.zeros(3), **uncertainty)


def test_the_uncertainty_travels_in_the_trajectory_json():
    std = np.array([[0.0, 0.0, 0.0], [0.001, 0.002, 0.003], [0.002, 0.004, 0.006]])
    record = json.loads(json.dumps(trajectory(translation_std_m=std, ray_std_m=np.array([0.0, 0.01, 0.02])).to_json()))
    assert record["translation_std_m"][2] == [0.002, 0.004, 0.006]
    assert record["ray_std_m"] == [0.0, 0.01, 0.02]
    assert json.loads(json.dumps(trajectory().to_json()))["ray_std_m"] is None  # a solver without one


def test_an_uncertainty_of_the_wrong_length_names_the_field():
    with pytest.raises(InputDataError, match=r"trajectory.ray_std_m has shape \(2,\); expected \(3,\)"):
        trajectory(ray_std_m=np.zeros(2))


def test_transform_points_moves_points_by_one_transform_or_by_each_of_a_stack():
    from avdc_core.solve import se3_exp

    rng = np.random.default_rng(0)
    points = rng.normal(size=(5, 3))
    stack = se3_exp(rng.normal(size=(3, 6)))
    expected = np.stack([points @ T[:3, :3].T + T[:3, 3] for T in stack])
    np.testing.assert_allclose(transform_points(stack[1], points), expected[1])
    np.testing.assert_allclose(transform_points(stack, points), expected)
