"""Manipulation primitives that use what a camera measures well (pixels, the first frame's depth)
to correct what a monocular plan measures worst (depth along the viewing ray): a tabletop built
by ray casting, so every number is known."""

import numpy as np
import pytest

from avdc_core.types import Camera, Observation, RigidTrajectory
from avdc_plugins.executors.manipulation import (
    ManipulationConfig,
    choose_mode,
    hinge_path,
    largest_rise,
    onto_height,
    plan_from_points,
    rear_contact,
    settle_on_support,
    slide_contact,
)
from avdc_plugins.simulators.franka.world import look_at_axes

PAD = (0.45, 0.55, 0.05, 0.15, 0.03)
"""A pad on the table: x range, y range (m) and its top's height; the table top is z = 0."""
CUBE = np.array([0.50, -0.10, 0.025])
"""A 5 cm cube's centre, standing on the table."""


def tabletop_camera() -> Camera:
    position = np.array([0.95, -0.45, 0.50])
    right, up = np.array(look_at_axes(position, np.array([0.5, 0.0, 0.02])).split(), float).reshape(2, 3)
    cam_to_world = np.eye(4)
    cam_to_world[:3, :3] = np.stack([right, -up, np.cross(right, up) * -1], axis=1)
    cam_to_world[:3, 3] = position
    return Camera.from_fov(320, 240, 42.0, cam_to_world)


def tabletop(camera: Camera) -> Observation:
    """The table (z = 0) with the pad and the cube, seen by ``camera`` (depth by ray casting)."""
    rows, cols = np.mgrid[0:camera.height, 0:camera.width]
    pixels = np.stack([cols.ravel(), rows.ravel()], axis=1).astype(float)
    origin = camera.cam_to_world[:3, 3]
    rays = camera.unproject(pixels, np.ones(len(pixels))) - origin  # points at depth 1 m
    best = np.full(len(pixels), np.inf)
    boxes = [((PAD[0], PAD[1]), (PAD[2], PAD[3]), (0.0, PAD[4])),
             tuple((c - 0.025, c + 0.025) for c in CUBE),
             ((-1.0, 2.0), (-1.0, 1.0), (-0.04, 0.0))]
    for box in boxes:  # slab intersection of each ray with each box; depth scales with the ray
        low, high = np.array([b[0] for b in box]), np.array([b[1] for b in box])
        with np.errstate(divide="ignore", invalid="ignore"):
            a, b = (low - origin) / rays, (high - origin) / rays
        enter, leave = np.minimum(a, b).max(axis=1), np.maximum(a, b).min(axis=1)
        hit = (enter <= leave) & (enter > 0)
        best[hit] = np.minimum(best[hit], enter[hit])
    depth = np.where(np.isfinite(best), best, 0.0).reshape(camera.height, camera.width)
    return Observation(np.zeros((camera.height, camera.width, 3), np.uint8), depth, camera)


def cube_points(camera: Camera, observation: Observation) -> np.ndarray:
    """The cube's visible surface points (world), as a mask and the depth would give them."""
    rows, cols = np.nonzero(observation.valid_depth)
    points = camera.unproject(np.stack([cols, rows], 1).astype(float), observation.depth[rows, cols])
    return points[np.all(np.abs(points - CUBE) < 0.0251, axis=1)]


def test_a_slide_keeps_its_starting_height_on_the_same_pixels():
    camera = tabletop_camera()
    origin = camera.cam_to_world[:3, 3]
    true = np.array([[0.5, -0.1, 0.03], [0.5, 0.0, 0.03], [0.5, 0.1, 0.03]])
    noisy = origin + (true - origin) * np.array([[1.0], [1.06], [0.93]])  # off along the rays
    fixed = onto_height(noisy, origin, 0.03)
    np.testing.assert_allclose(fixed, true, atol=1e-9)
    np.testing.assert_allclose(camera.project(fixed)[0], camera.project(noisy)[0], atol=1e-6)


def test_the_pushing_hand_touches_the_object_at_its_rear():
    rng = np.random.default_rng(0)
    points = CUBE + rng.uniform(-0.025, 0.025, (400, 3))
    path = CUBE + np.outer(np.linspace(0, 0.2, 5), [0.0, 1.0, 0.0])  # pushed along +y
    contact = rear_contact(points, path, ManipulationConfig(hand_radius_m=0.012))
    np.testing.assert_allclose(contact, CUBE - [0.0, 0.025 + 0.012, 0.0], atol=2e-3)


def test_a_large_part_is_pushed_at_the_contact_point_not_at_its_far_rear():
    rng = np.random.default_rng(0)
    door = CUBE + rng.uniform(-0.15, 0.15, (400, 3)) * [0.1, 1.0, 1.0]  # 30 cm along the push
    path = CUBE + np.outer(np.linspace(0, 0.2, 5), [0.0, 1.0, 0.0])
    np.testing.assert_allclose(rear_contact(door, path, ManipulationConfig(max_rear_m=0.08)), CUBE)
    assert rear_contact(door, path, ManipulationConfig(max_rear_m=0.2))[1] < CUBE[1] - 0.15


@pytest.mark.parametrize("ray_error", [0.9, 1.0, 1.08])
def test_a_put_down_settles_on_the_surface_seen_along_its_ray(ray_error):
    camera = tabletop_camera()
    observation = tabletop(camera)
    points = cube_points(camera, observation)
    assert len(points) > 100
    contact = points.mean(axis=0)
    goal = np.array([0.5, 0.1, PAD[4] + 0.025])  # the cube's centre resting on the pad
    lift = np.array([0.0, 0.0, 0.1])
    centres = np.array([CUBE, CUBE + lift, goal + lift, goal])
    origin = camera.cam_to_world[:3, 3]
    centres[-1] = origin + ray_error * (goal - origin)  # the plan's end, off along its ray
    transforms = np.repeat(np.eye(4)[None], 4, axis=0)
    transforms[:, :3, 3] = centres - CUBE
    trajectory = RigidTrajectory(transforms, np.ones((4, len(points)), bool), np.zeros(4))
    path = transforms[:, :3, 3] + contact
    settled = settle_on_support(trajectory, path, points, observation)
    end = settled.transforms[-1, :3, 3] + CUBE
    np.testing.assert_allclose(end, goal, atol=0.006)  # on the pad, within a 1 cm cell's reach
    np.testing.assert_allclose(settled.transforms[:3], transforms[:3])  # the carry is unchanged
    np.testing.assert_allclose(camera.project((end - CUBE + contact)[None])[0],
                               camera.project(path[-1:])[0], atol=1e-6)  # on the plan's pixel


def _rotation_about(axis: np.ndarray, degrees: float) -> np.ndarray:
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    skew = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    angle = np.radians(degrees)
    return np.eye(3) + np.sin(angle) * skew + (1 - np.cos(angle)) * skew @ skew


def _turning(axis, centre, degrees: list[float], shifts=None) -> np.ndarray:
    """Transforms ``[T, 4, 4]`` turning about ``axis`` through ``centre`` (plus ``shifts``)."""
    transforms = np.tile(np.eye(4), (len(degrees), 1, 1))
    for t, angle in enumerate(degrees):
        rotation = _rotation_about(axis, angle)
        transforms[t, :3, :3] = rotation
        transforms[t, :3, 3] = centre - rotation @ centre + (0 if shifts is None else shifts[t])
    return transforms


def _moved(offsets) -> np.ndarray:
    transforms = np.tile(np.eye(4), (len(offsets), 1, 1))
    transforms[:, :3, 3] = offsets
    return transforms


BLOCK = CUBE + np.random.default_rng(1).uniform(-0.02, 0.02, (300, 3))
"""A 4 cm block's points (the hand closes around it)."""
PLATE = CUBE + np.random.default_rng(2).uniform([-0.05, -0.05, -0.01], [0.05, 0.05, 0.01], (300, 3))
"""A 10 cm wide plate's points (wider than the open hand along the fingers' axis, y)."""


def _mode(transforms: np.ndarray, points: np.ndarray, contact: np.ndarray = CUBE, std_m: float | None = None) -> str:
    """The primitive for ``transforms``; ``std_m``: the fit's uncertainty per axis and along the
    ray (from the tabletop camera), from frame 1 on, or none known."""
    path = transforms[:, :3, :3] @ contact + transforms[:, :3, 3]
    count = len(transforms)
    ray_std = None if std_m is None else np.r_[0.0, np.full(count - 1, std_m)]
    trajectory = RigidTrajectory(transforms, np.ones((count, 1), bool), np.zeros(count),
                                 translation_std_m=None if std_m is None else np.outer(ray_std, np.ones(3)),
                                 ray_std_m=ray_std)
    return choose_mode(path, ManipulationConfig(), points, trajectory, tabletop_camera().cam_to_world[:3, 3])


@pytest.mark.parametrize("towards, points, mode", [(False, BLOCK, "push"), (True, BLOCK, "pull"),
                                                   (True, PLATE, "slide"), (False, PLATE, "push")])
def test_a_motion_towards_the_robot_is_pulled_or_slid_and_away_from_it_pushed(towards, points, mode):
    # the robot's base is the world origin; the object sits at x = 0.5
    step = np.array([-0.03 if towards else 0.03, 0.0, 0.0])
    assert _mode(_moved([step * t for t in range(6)]), points) == mode


@pytest.mark.parametrize("std_m", [None, 0.002])
def test_a_part_turning_about_a_hinge_is_turned_and_a_lifted_one_grasped(std_m):
    hinge = _turning([0, 0, 1], CUBE + [0.2, 0, 0], [0, 15, 30, 45, 60, 75])  # a door's vertical hinge
    assert _mode(hinge, BLOCK, std_m=std_m) == "turn"
    assert _mode(hinge[:4], BLOCK, std_m=std_m) != "turn"  # 45 degrees: under turn_min_deg (60)
    lifted = _moved([[0, 0, 0.03 * t] for t in range(6)])
    assert _mode(lifted, BLOCK, std_m=std_m) == "grasp"


@pytest.mark.parametrize("std_m", [None, 0.002])
def test_a_ball_rolling_away_is_pushed_not_turned(std_m):
    radius, degrees = 0.025, [0, 40, 80, 120, 160]
    shifts = [np.array([radius * np.radians(d), 0.0, 0.0]) for d in degrees]  # along +x, away
    rolling = _turning([0, 1, 0], CUBE, degrees, shifts)  # about a horizontal axis, at its height
    assert _mode(rolling, BLOCK, std_m=std_m) == "push"


def test_a_turn_no_fixed_pivot_explains_is_not_hinged_even_if_its_height_varies():
    # a ball whose tracks drift: its solved path jumps back and forth by decimetres as it rolls
    degrees = [0, 40, 80, 120, 160]
    wander = [[0, 0, 0], [0.05, 0.2, 0.05], [-0.1, 0.1, 0.0], [0.1, 0.3, 0.04], [0.0, -0.1, 0.02]]
    drifting = _turning([0, 1, 0], CUBE, degrees, np.array(wander))
    assert _mode(drifting, BLOCK) != "turn"
    assert _mode(drifting, BLOCK, std_m=0.002) != "turn"


@pytest.mark.parametrize("axis", [[0, 1, 0], [0, 0, 1], [1, 0, 0]])
def test_a_hinged_part_turns_about_one_pivot_despite_translations_off_along_the_ray(axis):
    pivot, lever = CUBE + [0.0, 0.0, 0.09], CUBE  # a 9 cm lever on a hinge
    degrees = [0, 5, 15, 35, 60, 80, 90]
    exact = _turning(axis, pivot, degrees)
    camera = tabletop_camera().cam_to_world[:3, 3]
    ray = (lever - camera) / np.linalg.norm(lever - camera)
    growth = np.array(degrees) / 90.0  # the solver's along-ray error grows with the turn ...
    off = exact.copy()
    off[:, :3, 3] += 0.10 * growth[:, None] * ray  # ... to 10 cm at the end
    ray_std = 1e-3 + 0.03 * growth  # and its fit says so
    translation_std = np.sqrt((ray_std[:, None] * ray) ** 2 + 1e-6)
    truth = exact[:, :3, :3] @ lever + exact[:, :3, 3]

    def trajectory(transforms):
        return RigidTrajectory(transforms, np.ones((len(degrees), 1), bool), np.zeros(len(degrees)),
                               translation_std_m=translation_std, ray_std_m=ray_std)

    np.testing.assert_allclose(hinge_path(trajectory(exact), lever, camera)[0], truth, atol=1e-6)
    raw = off[:, :3, :3] @ lever + off[:, :3, 3]
    assert np.linalg.norm(raw[-1] - truth[-1]) == pytest.approx(0.10)
    assert np.linalg.norm(hinge_path(trajectory(off), lever, camera)[0][-1] - truth[-1]) < 0.005


def test_an_object_that_settles_then_rises_is_grasped():
    fall_then_lift = np.array([[0, 0, z] for z in (0.0, -0.06, -0.06, -0.02, 0.03)])
    assert _mode(_moved(fall_then_lift), BLOCK) == "grasp"
    assert largest_rise(CUBE + fall_then_lift) == pytest.approx(0.09)


def test_a_slide_presses_on_the_top_behind_the_leading_edge():
    path = CUBE + np.outer(np.linspace(0, 0.15, 5), [-1.0, 0.0, 0.0])  # towards the robot, -x
    config = ManipulationConfig()
    contact = slide_contact(PLATE, path, config)
    np.testing.assert_allclose(contact[:2], [CUBE[0] - 0.05 + config.slide_inset_m, CUBE[1]], atol=3e-3)
    assert contact[2] == pytest.approx(CUBE[2] + 0.01 - config.press_m, abs=2e-3)  # its top, 95th percentile


def test_plans_from_points_push_at_the_rear_and_pull_at_the_middle():
    config = ManipulationConfig()
    away = RigidTrajectory(_moved([[0.03 * t, 0, 0] for t in range(5)]), np.ones((5, 1), bool), np.zeros(5))
    push = plan_from_points(away, BLOCK.mean(axis=0), BLOCK, config)
    assert push.mode == "push"
    assert push.contact_path[0][0] == pytest.approx(BLOCK[:, 0].min() - config.hand_radius_m, abs=2e-3)
    towards = RigidTrajectory(_moved([[-0.03 * t, 0, 0] for t in range(5)]), np.ones((5, 1), bool), np.zeros(5))
    pull = plan_from_points(towards, BLOCK.mean(axis=0), BLOCK, config)
    assert pull.mode == "pull"
    assert [w.closed for w in pull.waypoints[:3]] == [False, False, True]  # open, descend, close
    np.testing.assert_allclose(pull.contact_path[0], BLOCK.mean(axis=0), atol=1e-9)
