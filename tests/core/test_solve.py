"""The closed-form pieces every pose solver shares (avdc_core.solve) against numerical references."""

import numpy as np
import pytest
from scipy.linalg import expm

from avdc_core.solve import point_jacobian, project, projection_jacobian, se3_exp

K = np.array([[300.0, 0.0, 160.0], [0.0, 280.0, 120.0], [0.0, 0.0, 1.0]])


def _points(rng: np.random.Generator) -> np.ndarray:
    points = rng.normal(scale=0.3, size=(6, 3))
    points[:, 2] += 1.5
    return points


def _skew(w: np.ndarray) -> np.ndarray:
    return np.array([[0.0, -w[2], w[1]], [w[2], 0.0, -w[0]], [-w[1], w[0], 0.0]])


@pytest.mark.parametrize("scale", [1.0, 1e-3, 1e-7, 0.0])
def test_se3_exp_is_the_matrix_exponential_of_the_twist(scale):
    twists = np.random.default_rng(0).normal(size=(4, 6)) * scale
    for twist, transform in zip(twists, se3_exp(twists), strict=True):
        generator = np.zeros((4, 4))
        generator[:3, :3], generator[:3, 3] = _skew(twist[3:]), twist[:3]
        np.testing.assert_allclose(transform, expm(generator), atol=1e-12)


def _numerical_jacobian(function, points: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of ``function(exp(xi) p)`` w.r.t. a left perturbation ``xi``."""
    columns = []
    for k in range(6):
        twist = np.zeros((2, 6))
        twist[0, k], twist[1, k] = eps, -eps
        plus, minus = (points @ T[:3, :3].T + T[:3, 3] for T in se3_exp(twist))
        columns.append((function(plus) - function(minus)) / (2 * eps))
    return np.stack(columns, axis=-1)


def test_point_and_projection_jacobians_match_central_differences():
    points = _points(np.random.default_rng(1))
    np.testing.assert_allclose(point_jacobian(points), _numerical_jacobian(lambda p: p, points), atol=1e-8)
    np.testing.assert_allclose(projection_jacobian(points, np.diag(K)[:2]),
                               _numerical_jacobian(lambda p: project(K, p), points), atol=1e-5)
