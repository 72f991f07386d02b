"""Synthetic scenes with exact ground truth for tests and benchmarks.

A scene is a set of flat textured rectangles (a box is six of them) seen by a pinhole camera.
Frames are ray-cast in numpy, so depth, object masks, 3D points and optical flow are exact:
the flow of a pixel is where its surface point projects after the known motion. Objects move
by ``object_motions`` (world frame, ``x_t = M_t @ x_0``); the camera moves by
``camera_motions`` (its pose at frame ``t`` is ``D_t @ cam_to_world``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .tracking import bilinear_sample
from .types import Camera, Observation, Tracks, Video, invert_rigid, transform_points


@dataclass(frozen=True)
class TexturedRect:
    """A textured rectangle spanning ``±size_m/2`` in the x-y plane of ``pose`` (local → world).

    ``moving`` rectangles belong to the object and follow the scene's object motion.
    """

    pose: np.ndarray
    size_m: tuple[float, float]
    texture: np.ndarray
    moving: bool = False


@dataclass(frozen=True)
class Rendering:
    """One ray-cast frame: ``rgb [H, W, 3]`` uint8, ``depth [H, W]`` (m along the optical axis,
    ``inf`` where no surface), ``object_mask [H, W]`` and ``points_world [H, W, 3]`` (the surface
    point each pixel sees, world frame, metres)."""

    rgb: np.ndarray
    depth: np.ndarray
    object_mask: np.ndarray
    points_world: np.ndarray


def smooth_texture(rng: np.random.Generator, size: int = 96, blur_px: float = 1.2) -> np.ndarray:
    """A random colour texture ``[size, size, 3]`` uint8, blurred so flow has gradients to follow."""
    import cv2

    noise = rng.integers(0, 256, size=(size, size, 3), dtype=np.uint8)
    return cv2.GaussianBlur(noise, (0, 0), blur_px)


def rotation(rotvec: np.ndarray) -> np.ndarray:
    """3x3 rotation matrix of an axis-angle vector (radians)."""
    from scipy.spatial.transform import Rotation

    return Rotation.from_rotvec(np.asarray(rotvec, dtype=np.float64)).as_matrix()


def rigid(rotation_matrix: np.ndarray, translation: np.ndarray) -> np.ndarray:
    """A 4x4 transform from a rotation and a translation."""
    transform = np.eye(4)
    transform[:3, :3] = rotation_matrix
    transform[:3, 3] = translation
    return transform


def look_at(eye: np.ndarray, target: np.ndarray, up: np.ndarray = np.array([0.0, 0.0, 1.0])) -> np.ndarray:
    """``cam_to_world`` of an OpenCV camera at ``eye`` looking at ``target`` (world z up)."""
    forward = np.asarray(target, float) - np.asarray(eye, float)
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, up)
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    return rigid(np.column_stack([right, down, forward]), eye)


def box(centre: np.ndarray, size_m: float, rng: np.random.Generator,
        moving: bool = True) -> list[TexturedRect]:
    """The six faces of an axis-aligned cube of edge ``size_m`` centred at ``centre``."""
    half = size_m / 2
    faces = []
    for axis in range(3):
        for sign in (-1.0, 1.0):
            normal = np.zeros(3)
            normal[axis] = sign
            tangent = np.zeros(3)
            tangent[(axis + 1) % 3] = 1.0
            bitangent = np.cross(normal, tangent)
            pose = rigid(np.column_stack([tangent, bitangent, normal]), centre + half * normal)
            faces.append(TexturedRect(pose, (size_m, size_m), smooth_texture(rng, 48), moving))
    return faces


def screw_motions(frames: int, centre: np.ndarray, rotvec: np.ndarray, translation: np.ndarray) -> np.ndarray:
    """``[frames, 4, 4]`` motions reaching rotation ``rotvec`` about ``centre`` plus
    ``translation`` at the last frame, in equal steps; the first is the identity."""
    motions = []
    for s in np.linspace(0.0, 1.0, frames):
        turn = rotation(s * np.asarray(rotvec))
        motions.append(rigid(turn, centre - turn @ centre + s * np.asarray(translation)))
    return np.stack(motions)


@dataclass(frozen=True)
class SyntheticScene:
    """Rectangles, a frame-0 camera and per-frame object and camera motions ``[T, 4, 4]``."""

    camera: Camera
    rects: tuple[TexturedRect, ...]
    object_motions: np.ndarray
    camera_motions: np.ndarray

    @property
    def num_frames(self) -> int:
        return len(self.object_motions)

    def camera_at(self, t: int) -> Camera:
        """The camera at frame ``t``."""
        pose = self.camera_motions[t] @ self.camera.cam_to_world
        return Camera(self.camera.K, pose, self.camera.width, self.camera.height)

    def motion_of(self, rect: TexturedRect, t: int) -> np.ndarray:
        """World-frame motion of ``rect`` from frame 0 to frame ``t``."""
        return self.object_motions[t] if rect.moving else np.eye(4)

    def render(self, t: int) -> Rendering:
        """Ray-cast frame ``t`` (nearest surface wins)."""
        camera = self.camera_at(t)
        width, height = camera.width, camera.height
        u, v = np.meshgrid(np.arange(width, dtype=np.float64), np.arange(height, dtype=np.float64))
        rays = np.stack([u.ravel(), v.ravel(), np.ones(u.size)], axis=1) @ np.linalg.inv(camera.K).T
        depth = np.full(len(rays), np.inf)
        rgb = np.zeros((len(rays), 3))
        moving = np.zeros(len(rays), dtype=bool)
        world_to_cam = camera.world_to_cam
        for rect in self.rects:
            pose_cam = world_to_cam @ self.motion_of(rect, t) @ rect.pose
            normal, centre = pose_cam[:3, 2], pose_cam[:3, 3]
            with np.errstate(divide="ignore", invalid="ignore"):
                hit_depth = (centre @ normal) / (rays @ normal)
            local = (rays * hit_depth[:, None] - centre) @ pose_cam[:3, :3]
            half_w, half_h = rect.size_m[0] / 2, rect.size_m[1] / 2
            hit = ((hit_depth > 1e-6) & (hit_depth < depth)
                   & (np.abs(local[:, 0]) <= half_w) & (np.abs(local[:, 1]) <= half_h))
            tex_h, tex_w = rect.texture.shape[:2]
            tex_uv = np.stack([(local[hit, 0] / (2 * half_w) + 0.5) * (tex_w - 1),
                               (local[hit, 1] / (2 * half_h) + 0.5) * (tex_h - 1)], axis=1)
            rgb[hit] = bilinear_sample(rect.texture.astype(np.float64), tex_uv)
            depth[hit] = hit_depth[hit]
            moving[hit] = rect.moving
        finite = np.isfinite(depth)
        points_cam = rays * np.where(finite, depth, np.nan)[:, None]
        points_world = transform_points(camera.cam_to_world, points_cam)
        return Rendering(np.clip(np.rint(rgb), 0, 255).astype(np.uint8).reshape(height, width, 3),
                         depth.reshape(height, width), moving.reshape(height, width),
                         points_world.reshape(height, width, 3))

    def video(self) -> Video:
        """All frames as a :class:`Video`."""
        return Video(np.stack([self.render(t).rgb for t in range(self.num_frames)]))

    def observation(self) -> Observation:
        """Frame 0 with exact depth (background without a surface has ``inf`` depth)."""
        frame = self.render(0)
        return Observation(frame.rgb, frame.depth, self.camera)

    def ground_truth_flow(self, t: int, rendering: Rendering | None = None) -> np.ndarray:
        """Exact flow ``[H, W, 2]`` from frame ``t`` to ``t + 1`` (NaN where no surface is seen)."""
        frame = rendering or self.render(t)
        points = frame.points_world.reshape(-1, 3)
        step = self.object_motions[t + 1] @ invert_rigid(self.object_motions[t])
        moving = frame.object_mask.ravel()
        points = np.where(moving[:, None], transform_points(step, points), points)
        pixels, _ = self.camera_at(t + 1).project(points)
        height, width = frame.depth.shape
        u, v = np.meshgrid(np.arange(width, dtype=np.float64), np.arange(height, dtype=np.float64))
        return pixels.reshape(height, width, 2) - np.stack([u, v], axis=-1)

    def tracks(self, num_points: int, rng: np.random.Generator, noise_px: float = 0.0,
               outlier_fraction: float = 0.0, target: str = "object") -> tuple[np.ndarray, Tracks]:
        """Points seen at frame 0 (``target="object"``: on the object, ``"scene"``: anywhere) and
        their exact tracks, projected through the known motions (occlusion ignored).

        From frame 1 on, tracks get Gaussian noise of ``noise_px`` and ``outlier_fraction`` of
        the points are replaced by uniformly random pixels (each frame independently).
        Returns ``points_world [N, 3]`` and :class:`Tracks` ``[T, N]`` (all valid).
        """
        frame = self.render(0)
        usable = np.isfinite(frame.depth) & (frame.object_mask if target == "object" else True)
        rows, cols = np.nonzero(usable)
        chosen = rng.choice(len(rows), size=min(num_points, len(rows)), replace=False)
        points = frame.points_world[rows[chosen], cols[chosen]]
        pixels = np.stack([
            self.camera_at(t).project(transform_points(self.object_motions[t], points)
                                      if target == "object" else points)[0]
            for t in range(self.num_frames)])
        pixels[0] = np.stack([cols[chosen], rows[chosen]], axis=1)
        pixels[1:] += rng.normal(0.0, noise_px, size=pixels[1:].shape) if noise_px else 0.0
        outliers = rng.random(len(points)) < outlier_fraction
        size = np.array([self.camera.width - 1, self.camera.height - 1], dtype=np.float64)
        pixels[1:, outliers] = rng.uniform(0, 1, size=(self.num_frames - 1, outliers.sum(), 2)) * size
        return points, Tracks(pixels, np.ones(pixels.shape[:2], dtype=bool))


def box_scene(rng: np.random.Generator, frames: int = 8, width: int = 320, height: int = 240,
              box_size_m: float = 0.15, max_rotation_deg: float = 30.0,
              max_translation_m: float = 0.1, moving: str = "object") -> SyntheticScene:
    """A textured cube on a textured table, 1 m from an oblique camera (45° vertical FOV).

    ``moving="object"``: the cube turns up to ``max_rotation_deg`` about a random axis through
    its centre and shifts up to ``max_translation_m``; ``moving="camera"``: the camera does
    (about its own centre) and the scene stays still.
    """
    centre = np.array([0.0, 0.0, box_size_m / 2])
    cam_to_world = look_at(np.array([0.15, -0.7, 0.8]), centre)
    camera = Camera.from_fov(width, height, 45.0, cam_to_world)
    table = TexturedRect(np.eye(4), (4.0, 4.0), smooth_texture(rng, 512, 1.0))
    axis = rng.normal(size=3)
    rotvec = axis / np.linalg.norm(axis) * np.radians(rng.uniform(0.5, 1.0) * max_rotation_deg)
    direction = rng.normal(size=3)
    shift = direction / np.linalg.norm(direction) * rng.uniform(0.5, 1.0) * max_translation_m
    pivot = centre if moving == "object" else cam_to_world[:3, 3]
    motions = screw_motions(frames, pivot, rotvec, shift)
    still = np.repeat(np.eye(4)[None], frames, axis=0)
    rects = (table, *box(centre, box_size_m, rng, moving=moving == "object"))
    if moving == "object":
        return SyntheticScene(camera, rects, motions, still)
    return SyntheticScene(camera, rects, still, motions)


def motion_errors(estimated: np.ndarray, truth: np.ndarray,
                  points_world: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame rotation error (degrees) and translation error (m) of ``estimated [T, 4, 4]``.

    The translation error is how far apart the two motions carry the centroid of
    ``points_world``, so it does not depend on where the world origin is.
    """
    relative = np.swapaxes(truth[:, :3, :3], 1, 2) @ estimated[:, :3, :3]
    cos = np.clip((np.trace(relative, axis1=1, axis2=2) - 1) / 2, -1.0, 1.0)
    centroid = np.append(points_world.mean(axis=0), 1.0)
    return np.degrees(np.arccos(cos)), np.linalg.norm((estimated - truth)[:, :3] @ centroid, axis=1)
