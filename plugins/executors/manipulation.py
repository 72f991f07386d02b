"""From an object's rigid trajectory to end-effector waypoints: grasp or push.

The contact point (where the hand grasps or pushes the object, world frame, at frame 0) is
carried through each frame's transform: ``s_t = T_t @ c``. Then:

* **workspace** — a monocular plan is surest of where the contact point appears in the image
  and least sure of its depth along the viewing ray (decimetres off for a small object with
  noisy tracks). A path point outside the arm's workspace cannot be right: it slides along its
  viewing ray into the workspace box, keeping its pixel (:func:`fit_into_workspace`). The
  controller would otherwise clip it to the box along the axes, off its pixel, and press the
  hand against the bound until the stall detector fires.
* **grasp vs push** — *total-lift rule*: grasp when the contact point rises more than
  ``lift_threshold_m`` above its start at any frame (``max z - z_0``). The paper's rule
  (a per-frame height change > 0.1 m) picks *push* for the hammer, whose lift is spread over
  several frames.
* **grasp**: the contact point (on the visible surface) is moved ``grasp_depth_m`` along the
  viewing ray, towards the object's middle; hover above it with the gripper open, descend, close, then follow
  ``s_1 … s_T`` with the gripper closed. A replan that starts with the object already in the
  closed hand keeps carrying it (grasp mode whatever the lift, no approach: re-opening would
  drop it).
* **push**: back off ``push_backoff_m`` against the horizontal direction of motion, come down
  there from above, then follow ``s_1 … s_T`` with a closed gripper (a fist). When the motion is
  near-vertical (its horizontal extent is under ``vertical_ratio`` of its vertical extent, e.g.
  a top-down button) the paper's back-off would point in an arbitrary direction: the hand comes
  straight down from above instead. With ``slide_on_table`` (objects pushed across a table) the
  path keeps its starting height, each point moved along its viewing ray (:func:`onto_height`):
  the plan's depth along the ray is its weakest part, and a sliding object cannot leave its table.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from pydantic import Field

from avdc_core.interfaces import ComponentConfig
from avdc_core.types import Commands, Observation, RigidTrajectory


class ManipulationConfig(ComponentConfig):
    """Grasp/push primitive parameters (metres)."""

    mode: str = Field(default="auto", pattern="^(auto|grasp|push)$",
                      description="auto = total-lift rule; or force grasp/push")
    lift_threshold_m: float = Field(default=0.05, gt=0)
    push_backoff_m: float = Field(default=0.06, ge=0)
    vertical_ratio: float = Field(default=0.5, ge=0,
                                  description="horizontal/vertical extent below which a push is vertical")
    approach_height_m: float = Field(default=0.12, ge=0, description="hover height above the start")
    grasp_offset_m: tuple[float, float, float] = Field(
        default=(0.0, 0.0, 0.0), description="added to the grasp point (world frame)")
    grasp_depth_m: float = Field(
        default=0.012, ge=0, description="move the grasp point this far along the viewing ray: the "
        "tracked points lie on the visible surface, in front of the object's middle")
    slide_on_table: bool = Field(default=False, description="a push slides the object on its support: keep "
                                 "the contact path at its starting height, each point moved along its viewing "
                                 "ray (for objects pushed across a table; not for doors, buttons, levers)")
    close_steps: int = Field(default=15, ge=1, description="steps to wait while the gripper closes")
    holding_radius_m: float = Field(default=0.05, gt=0, description="a closed hand this close to the "
                                    "new contact point still carries the object: keep grasping")


@dataclass(frozen=True)
class Waypoint:
    """Move the tool centre to ``position`` (m, world) with the gripper ``closed`` or open;
    reached within ``tolerance_m``; then wait ``settle_steps`` steps."""

    position: np.ndarray
    closed: bool
    tolerance_m: float = 0.015
    settle_steps: int = 0

    def to_json(self) -> dict:
        return {"position": [float(x) for x in self.position], "closed": self.closed,
                "tolerance_m": self.tolerance_m, "settle_steps": self.settle_steps}

    @classmethod
    def from_json(cls, data: dict) -> Waypoint:
        return cls(np.asarray(data["position"], dtype=np.float64), bool(data["closed"]),
                   float(data["tolerance_m"]), int(data["settle_steps"]))


@dataclass(frozen=True)
class ManipulationPlan:
    """The chosen primitive, the contact point's path ``[T, 3]`` and the waypoints to follow."""

    mode: str
    contact_path: np.ndarray
    waypoints: list[Waypoint] = field(default_factory=list)

    def to_commands(self) -> Commands:
        return Commands("subgoals", {
            "mode": self.mode,
            "contact_path": self.contact_path.tolist(),
            "waypoints": [w.to_json() for w in self.waypoints],
            # the generic subgoal form of Commands: positions [K, 3] and grasp flags
            "positions": [w.to_json()["position"] for w in self.waypoints],
            "grasp": [w.closed for w in self.waypoints],
        })


def contact_path(trajectory: RigidTrajectory, contact_point: np.ndarray) -> np.ndarray:
    """``[T, 3]``: the contact point carried through every frame's transform."""
    transforms = trajectory.transforms
    return transforms[:, :3, :3] @ np.asarray(contact_point, dtype=np.float64) + transforms[:, :3, 3]


def fit_into_workspace(path: np.ndarray, camera_origin: np.ndarray, low: np.ndarray,
                       high: np.ndarray) -> np.ndarray:
    """``path [T, 3]`` with every point outside the box ``[low, high]`` moved along its ray from
    ``camera_origin`` to the nearest point of that ray inside the box — or, if the ray misses
    the box, to the point of the ray nearest to the box (searched up to twice its distance)."""
    origin = np.asarray(camera_origin, dtype=np.float64)
    rays = path - origin  # a point of the ray is origin + s * ray; s = 1 is the path point
    with np.errstate(divide="ignore", invalid="ignore"):
        to_low, to_high = (low - origin) / rays, (high - origin) / rays
    # s where each ray enters and leaves each slab low[i] <= x[i] <= high[i]; a ray parallel
    # to a slab (0/0 = NaN here) is inside it all along if the origin is, else never
    within = (origin >= low) & (origin <= high)
    parallel = np.isnan(to_low)
    enter = np.where(parallel, np.where(within, -np.inf, np.inf), np.minimum(to_low, to_high))
    leave = np.where(parallel, np.where(within, np.inf, -np.inf), np.maximum(to_low, to_high))
    enter, leave = enter.max(axis=1), leave.min(axis=1)
    hits = (enter <= leave) & (leave > 0)
    scale = np.clip(1.0, np.maximum(enter, 0.0), leave)
    misses = np.flatnonzero(~hits)
    if len(misses):
        candidates = np.linspace(0.0, 2.0, 401)
        points = origin + candidates[None, :, None] * rays[misses, None]  # [M, S, 3]
        outside = np.linalg.norm(points - np.clip(points, low, high), axis=-1)
        scale[misses] = candidates[np.argmin(outside, axis=1)]
    return origin + scale[:, None] * rays


def commanded_path(trajectory: RigidTrajectory, point: np.ndarray, camera_origin: np.ndarray | None = None,
                   workspace: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """The path ``[T, 3]`` of ``point`` carried by ``trajectory``, fitted into ``workspace``
    (``(low, high)``) along the viewing rays from ``camera_origin`` when both are given."""
    path = contact_path(trajectory, point)
    if workspace is None or camera_origin is None:
        return path
    return fit_into_workspace(path, camera_origin, *workspace)


def onto_height(path: np.ndarray, camera_origin: np.ndarray, height: float) -> np.ndarray:
    """``path [T, 3]`` with each point moved along its viewing ray from ``camera_origin`` to the
    horizontal plane ``z = height`` (a point whose ray runs nearly parallel to it stays)."""
    origin = np.asarray(camera_origin, dtype=np.float64)
    rays = path - origin
    steep = np.abs(rays[:, 2]) > 1e-3 * np.linalg.norm(rays, axis=1)
    scale = np.ones(len(path))
    scale[steep] = (height - origin[2]) / rays[steep, 2]
    return origin + np.where(scale[:, None] > 0, scale[:, None], 1.0) * rays


def choose_mode(path: np.ndarray, config: ManipulationConfig) -> str:
    """``grasp`` or ``push`` for a contact path ``[T, 3]`` (total-lift rule unless forced)."""
    if config.mode != "auto":
        return config.mode
    lift = float(np.max(path[:, 2]) - path[0, 2])
    return "grasp" if lift > config.lift_threshold_m else "push"


def push_direction(path: np.ndarray, config: ManipulationConfig) -> np.ndarray | None:
    """Unit horizontal direction of the push's first clear motion, or ``None`` when the motion
    is near-vertical (or absent)."""
    offsets = path - path[0]
    horizontal = np.linalg.norm(offsets[:, :2], axis=1)
    vertical = np.abs(offsets[:, 2])
    if horizontal.max() < 1e-3 or horizontal.max() < config.vertical_ratio * vertical.max():
        return None
    first = int(np.argmax(horizontal >= 0.5 * horizontal.max()))
    direction = offsets[first, :2] / horizontal[first]
    return np.array([direction[0], direction[1], 0.0])


def rear_contact(points: np.ndarray, contact_path: np.ndarray, hand_radius_m: float,
                 config: ManipulationConfig) -> np.ndarray:
    """Where a hand pushing along ``contact_path`` should touch: behind the object's ``points``
    (world, m) — the rearmost one against the push direction, plus ``hand_radius_m`` — at the
    height of the path's start. Following this point's path moves the object's centre along the
    plan instead of leaving it half an object ahead. A vertical push keeps the path's start."""
    start = contact_path[0]
    direction = push_direction(contact_path, config)
    if direction is None:
        return start
    behind = float(np.min((np.asarray(points) - start) @ direction))
    return start + (min(behind, 0.0) - hand_radius_m) * direction


def settle_on_support(trajectory: RigidTrajectory, path: np.ndarray, points: np.ndarray,
                      observation: Observation, object_margin_m: float = 0.03, cell_m: float = 0.01,
                      search: float = 0.3) -> RigidTrajectory:
    """``trajectory`` with its put-down moved along the last path point's viewing ray until the
    object rests on the surface frame 0 shows there (a table, a pad).

    A monocular plan places the end of a carry surest in the image and least surely along the
    viewing ray (centimetres off); the first frame's depth measures the surfaces directly. The
    object's lowest tracked point (``points``, world, frame 0) lies ``path[0].z - min z`` below
    the contact point; the end of ``path`` (the contact point's path ``[T, 3]``) slides along its
    ray (within ``1 ± search`` of its distance) to where that lowest point meets the highest
    surface point within ``cell_m`` horizontally (the object's own surroundings, ``object_margin_m``
    around its points, left out), and every frame after the path's highest one moves with it.
    Returned unchanged when no surface is seen along the ray.
    """
    camera = observation.camera
    rows, cols = np.nonzero(observation.valid_depth)
    stride = max(1, len(rows) // 20000)  # ~20k surface points are plenty at 1 cm cells
    rows, cols = rows[::stride], cols[::stride]
    scene = camera.unproject(np.stack([cols, rows], axis=1).astype(np.float64), observation.depth[rows, cols])
    low, high = points.min(axis=0) - object_margin_m, points.max(axis=0) + object_margin_m
    scene = scene[~np.all((scene >= low) & (scene <= high), axis=1)]
    origin = camera.cam_to_world[:3, 3]
    scales = np.linspace(1 - search, 1 + search, 121)
    candidates = origin + scales[:, None] * (path[-1] - origin)
    near = np.linalg.norm(scene[None, :, :2] - candidates[:, None, :2], axis=-1) < cell_m
    support = np.where(near, scene[None, :, 2], -np.inf).max(axis=1)
    seen = np.isfinite(support)
    if not seen.any():
        return trajectory
    bottom = path[0, 2] - points[:, 2].min()
    gap = np.abs(candidates[:, 2] - bottom - support)
    best = np.flatnonzero(seen)[np.argmin(gap[seen] + 1e-3 * np.abs(scales[seen] - 1))]
    shifted = trajectory.transforms.copy()
    shifted[int(np.argmax(path[:, 2])) + 1:, :3, 3] += candidates[best] - path[-1]
    return replace(trajectory, transforms=shifted)


def plan_manipulation(trajectory: RigidTrajectory, contact_point: np.ndarray,
                      config: ManipulationConfig, hand_m: np.ndarray | None = None,
                      holding: bool = False, camera_origin: np.ndarray | None = None,
                      workspace: tuple[np.ndarray, np.ndarray] | None = None) -> ManipulationPlan:
    """Waypoints realising ``trajectory`` by grasping/pushing at ``contact_point`` (world, m).

    ``holding``: the gripper is closed around the object now (a replan mid-grasp); with
    ``hand_m`` near the contact point the hand keeps carrying it. ``camera_origin`` (world, m):
    a grasp point is moved ``grasp_depth_m`` along its viewing ray, from the visible surface
    towards the object's middle, and, with ``workspace`` (``(low, high)`` corners of a box), path
    points outside the box are slid along their viewing rays into it (:func:`fit_into_workspace`).
    """
    contact_point = np.asarray(contact_point, dtype=np.float64)
    path = commanded_path(trajectory, contact_point, camera_origin, workspace)
    offset = np.asarray(config.grasp_offset_m)
    carrying = holding and hand_m is not None and bool(
        np.linalg.norm(np.asarray(hand_m) - (path[0] + offset)) < config.holding_radius_m)
    mode = "grasp" if carrying else choose_mode(path, config)
    up = np.array([0.0, 0.0, config.approach_height_m])
    waypoints: list[Waypoint] = []
    if mode == "grasp":
        if camera_origin is not None and not carrying:
            view = contact_point - np.asarray(camera_origin, dtype=np.float64)
            inside = contact_point + config.grasp_depth_m * view / np.linalg.norm(view)
            path = commanded_path(trajectory, inside, camera_origin, workspace)
        grasp = path[0] + offset
        if not carrying:
            waypoints += [Waypoint(grasp + up, False, 0.02), Waypoint(grasp, False, 0.01),
                          Waypoint(grasp, True, 0.02, config.close_steps)]
        follow = path[1:] + offset
    else:
        if config.slide_on_table and camera_origin is not None:
            path = onto_height(path, camera_origin, path[0, 2])
        direction = push_direction(path, config)
        start = path[0] if direction is None else path[0] - config.push_backoff_m * direction
        waypoints += [Waypoint(start + up, True, 0.02), Waypoint(start, True, 0.01)]
        follow = path[1:]
    waypoints += [Waypoint(p, True, 0.02) for p in follow[:-1]]
    waypoints.append(Waypoint(follow[-1], True, 0.01))
    return ManipulationPlan(mode, path, waypoints)
