"""MiniWorld's scripted expert: turn towards the next waypoint until facing it within half a
turn step, then walk.

When the agent stands inside the target's room (its centre at least a radius from every wall
of it; MiniWorld's rooms are convex) and no other object is in the way, the waypoint is the
target itself: the shortest path in an open room or corridor. Otherwise a breadth-first search
over a grid of free floor (cells ``CLEARANCE`` agent radii from walls and objects, ``GRID_M``
apart, 8-connected) finds a path through the doors, and the waypoint is the farthest point of
that path the agent can walk to straight — no wall or object within its radius of the line,
plus the drift of heading up to half a turn step off it.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np

GRID_M = 0.2
"""Spacing of the free-floor grid (m)."""
CLEARANCE = 1.1
"""Distance the grid keeps from walls and objects, in agent radii."""


def _xz(position: np.ndarray) -> np.ndarray:
    return np.array([position[0], position[2]], dtype=np.float64)


class WaypointExpert:
    """The expert for one live MiniWorld environment (walls and objects stay put: the grid is
    built once)."""

    def __init__(self, env: Any, target: Any, turn_step_deg: float) -> None:
        from miniworld.math import intersect_circle_segs

        self.env, self.target, self._hits_walls = env, target, intersect_circle_segs
        self.half_turn = math.radians(turn_step_deg) / 2
        self.obstacles = [(_xz(e.pos), e.radius) for e in env.entities if e is not env.agent and e is not target]
        self._free: np.ndarray | None = None

    # --- geometry ---------------------------------------------------------------------------
    def blocked(self, point: np.ndarray, radius: float, walls: bool = True) -> bool:
        """A disc of ``radius`` at ``point`` (x, z) touches an object (or, with ``walls``, a wall)."""
        if walls and self._hits_walls(np.array([point[0], 0.0, point[1]]), radius, self.env.wall_segs):
            return True
        return any(np.linalg.norm(point - centre) < radius + size for centre, size in self.obstacles)

    def walkable(self, start: np.ndarray, end: np.ndarray, walls: bool = True) -> bool:
        """The agent can walk from ``start`` to ``end`` (x, z) heading up to half a turn step off
        the line: nothing within its radius plus that drift (``s · sin(half turn)`` at distance
        ``s``) of the segment."""
        length = float(np.linalg.norm(end - start))
        drift = math.sin(self.half_turn)
        for s in np.linspace(0.0, length, max(2, int(length / (GRID_M / 2)) + 1)):
            point = start + (s / length if length else 0.0) * (end - start)
            if self.blocked(point, self.env.agent.radius + s * drift, walls):
                return False
        return True

    def inside_room_of(self, here: np.ndarray, goal: np.ndarray) -> bool:
        """``here`` is a radius inside the walls of a room that holds ``goal`` (x, z)."""
        margin = self.env.agent.radius
        for room in self.env.rooms:
            corners = room.outline[:, [0, 2]]
            normals = room.edge_norms[:, [0, 2]]
            if np.all(np.sum(normals * (goal - corners), axis=1) > 0) and np.all(
                    np.sum(normals * (here - corners), axis=1) >= margin):
                return True
        return False

    def _grid(self) -> np.ndarray:
        if self._free is None:
            env = self.env
            self._xs = np.arange(env.min_x, env.max_x + GRID_M / 2, GRID_M)
            self._zs = np.arange(env.min_z, env.max_z + GRID_M / 2, GRID_M)
            radius = CLEARANCE * env.agent.radius
            self._free = np.array([[any(r.point_inside(np.array([x, 0.0, z])) for r in env.rooms)
                                    and not self.blocked(np.array([x, z]), radius) for z in self._zs]
                                   for x in self._xs])
        return self._free

    def _cell(self, point: np.ndarray) -> tuple[int, int]:
        """The free cell nearest ``point`` (x, z)."""
        cells = np.argwhere(self._grid())
        centres = np.stack([self._xs[cells[:, 0]], self._zs[cells[:, 1]]], axis=1)
        return tuple(cells[int(np.argmin(np.linalg.norm(centres - point, axis=1)))])

    def path(self, start: np.ndarray, goal: np.ndarray) -> list[np.ndarray]:
        """Grid points (x, z) from near ``start`` to near ``goal``; empty if none connects them."""
        free = self._grid()
        source, target = self._cell(start), self._cell(goal)
        previous: dict[tuple[int, int], tuple[int, int] | None] = {source: None}
        queue = deque([source])
        while queue and target not in previous:
            i, j = queue.popleft()
            for di in (-1, 0, 1):
                for dj in (-1, 0, 1):
                    nxt = (i + di, j + dj)
                    if (nxt not in previous and 0 <= nxt[0] < free.shape[0] and 0 <= nxt[1] < free.shape[1]
                            and free[nxt] and (di == 0 or dj == 0 or (free[i + di, j] and free[i, j + dj]))):
                        previous[nxt] = (i, j)
                        queue.append(nxt)
        if target not in previous:
            return []
        cells, cell = [], target
        while cell is not None:
            cells.append(np.array([self._xs[cell[0]], self._zs[cell[1]]]))
            cell = previous[cell]
        return cells[::-1]

    # --- acting -----------------------------------------------------------------------------
    def waypoint(self) -> np.ndarray:
        """Where to head for now (x, z)."""
        here, goal = _xz(self.env.agent.pos), _xz(self.target.pos)
        if self.inside_room_of(here, goal) and self.walkable(here, goal, walls=False):
            return goal
        reachable = [point for point in self.path(here, goal) if self.walkable(here, point)]
        return reachable[-1] if reachable else goal

    def action(self) -> str:
        """``turn_left``, ``turn_right`` or ``move_forward``."""
        agent = self.env.agent
        x, z = self.waypoint()
        heading = math.atan2(-(z - agent.pos[2]), x - agent.pos[0])
        offset = (heading - agent.dir + math.pi) % (2 * math.pi) - math.pi
        return "turn_left" if offset > self.half_turn else "turn_right" if offset < -self.half_turn else "move_forward"
