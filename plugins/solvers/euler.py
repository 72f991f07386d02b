"""Rigid motions as ``[tx, ty, tz, ex, ey, ez]``: the parametrisation of the SciPy solvers."""

from __future__ import annotations

import numpy as np


def euler_matrix(params: np.ndarray) -> np.ndarray:
    """4x4 transform of ``[tx, ty, tz, ex, ey, ez]`` (metres, XYZ Euler radians)."""
    from scipy.spatial.transform import Rotation

    transform = np.eye(4)
    transform[:3, :3] = Rotation.from_euler("xyz", params[3:]).as_matrix()
    transform[:3, 3] = params[:3]
    return transform
