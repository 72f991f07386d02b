"""flow/sim-flow: exact correspondences of simulator videos."""

from __future__ import annotations

import numpy as np
import pytest

from avdc_core.errors import InputDataError
from avdc_core.interfaces import BuildContext
from avdc_core.simulation import SceneParts, SimulatedFrames
from avdc_core.testing import FlowEstimatorContract, textured_video
from avdc_core.tracking import track_points
from avdc_core.types import Camera, Video
from avdc_plugins.flow.sim_flow import SimulatorFlow, exact_flow

from episodes import metaworld_episode  # noqa: E402

PARTS = SceneParts(("wall", "plate"), np.array([0, 1]), ("world", "plate"))


def make_flow(**params) -> SimulatorFlow:
    return SimulatorFlow(SimulatorFlow.Config(**params), BuildContext())


def sliding_plane_video(frames: int, shift_m: float = 0.01, depth_m: float = 1.0) -> Video:
    """A fronto-parallel plate (body 1) at ``depth_m`` sliding ``shift_m`` right per frame in
    front of a static background body (body 0), seen by a 64x48 camera at the origin."""
    camera = Camera.from_fov(64, 48, 45.0)
    height, width = 48, 64
    seg = np.zeros((frames, height, width), np.int32)  # geom 0 = wall (body 0)
    depth = np.full((frames, height, width), 2.0)
    poses = np.tile(np.eye(4), (frames, 2, 1, 1))
    for t in range(frames):
        poses[t, 1, 0, 3] = shift_m * t
        u0 = int(round(camera.K[0, 2] - 8 + camera.K[0, 0] * shift_m * t / depth_m))
        seg[t, 16:32, u0:u0 + 16] = 1  # geom 1 = plate (body 1)
        depth[t, 16:32, u0:u0 + 16] = depth_m
    truth = SimulatedFrames(depth, seg, PARTS, poses, (camera,) * frames,
                            depth_without_robot=depth, segmentation_without_robot=seg)
    return Video(textured_video(frames, height, width).frames, truth)


class TestSimFlow(FlowEstimatorContract):
    def make_component(self):
        return make_flow()

    def sample_video(self, frames: int) -> Video:
        return sliding_plane_video(frames)

    def expected_flow(self, video: Video) -> np.ndarray:
        """The plate moves fx * 1 cm / 1 m pixels right per frame; the wall stays."""
        truth = video.simulator
        flow = np.zeros((video.num_frames - 1, *video.frames.shape[1:3], 2))
        flow[..., 0] = (truth.segmentation[:-1] == 1) * truth.cameras[0].K[0, 0] * 0.01
        return flow


def test_plate_pixels_move_by_the_projected_shift_and_the_background_stays():
    video = sliding_plane_video(3, shift_m=0.01, depth_m=1.0)
    flow = make_flow(edge_px=0).estimate(video)
    fx = video.simulator.cameras[0].K[0, 0]
    plate = video.simulator.segmentation[0] == 1
    np.testing.assert_allclose(flow.forward[0][plate] - [fx * 0.01, 0.0], 0.0, atol=1e-9)
    np.testing.assert_allclose(flow.forward[0][~plate], 0.0, atol=1e-12)
    plate1 = video.simulator.segmentation[1] == 1
    np.testing.assert_allclose(flow.backward[0][plate1] - [-fx * 0.01, 0.0], 0.0, atol=1e-9)


def test_edge_extension_keeps_sub_pixel_edge_tracks_on_the_moving_body():
    """A track on the plate's last column is carried to a sub-pixel position on the plate's
    edge; with the flow extended 2 px onto the still wall it keeps moving with the plate, without
    it the bilinear interpolation with the wall's zero flow makes it lag."""
    video = sliding_plane_video(4, shift_m=0.0103, depth_m=1.0)
    fx = video.simulator.cameras[0].K[0, 0]
    seg = video.simulator.segmentation[0]
    rows, cols = np.nonzero(seg == 1)
    edge = np.stack([cols, rows], 1)[cols == cols.max()].astype(float)
    truth = edge[:, 0] + fx * 0.0103 * 3
    extended = track_points(make_flow(edge_px=2).estimate(video), edge, None)
    np.testing.assert_allclose(extended.pixels[-1, :, 0], truth, atol=1e-6)
    plain = track_points(make_flow(edge_px=0).estimate(video), edge, None)
    assert np.abs(plain.pixels[-1, :, 0] - truth).min() > 0.1
    wall = (video.simulator.segmentation[0] == 0)
    wall[:, cols.min() - 2: cols.max() + 3] = False
    np.testing.assert_allclose(make_flow(edge_px=2).estimate(video).forward[0][wall], 0.0, atol=1e-9)


def test_a_moving_camera_sees_a_static_scene_move_the_other_way():
    """Navigation: nothing moves but the camera, 5 cm right per frame; a wall 2 m away then
    moves ``fx * 0.05 / 2`` pixels left per frame, and a pixel's flow lands where the next
    camera projects its world point."""
    height, width, frames = 48, 64, 3
    cameras = []
    for t in range(frames):
        pose = np.eye(4)
        pose[0, 3] = 0.05 * t
        cameras.append(Camera.from_fov(width, height, 60.0, pose))
    depth = np.full((frames, height, width), 2.0)
    seg = np.zeros((frames, height, width), np.int32)
    truth = SimulatedFrames(depth, seg, SceneParts(("wall",), np.array([0]), ("world",)),
                            np.tile(np.eye(4), (frames, 1, 1, 1)), tuple(cameras))
    video = Video(textured_video(frames, height, width).frames, truth)
    flow = make_flow(see_through_robot=False).estimate(video)
    fx = cameras[0].K[0, 0]
    np.testing.assert_allclose(flow.forward[..., 0], -fx * 0.05 / 2.0, atol=1e-9)
    np.testing.assert_allclose(flow.forward[..., 1], 0.0, atol=1e-9)
    np.testing.assert_allclose(flow.backward[..., 0], fx * 0.05 / 2.0, atol=1e-9)
    with pytest.raises(InputDataError, match="see_through_robot: false"):
        make_flow().estimate(video)  # this world rendered nothing without the robot


def test_rotating_body_pixels_land_on_its_projected_points():
    """A body rotating about a vertical axis: each pixel's flow equals the projection of its
    world point moved by the body's known pose change (computed independently here)."""
    camera = Camera.from_fov(64, 48, 45.0)
    angle = np.radians(10)
    pose1 = np.eye(4)
    pose1[:3, :3] = [[np.cos(angle), 0, np.sin(angle)], [0, 1, 0], [-np.sin(angle), 0, np.cos(angle)]]
    pose1[:3, 3] = [0.02, 0.0, 0.05]
    pose0 = np.eye(4)
    pose0[:3, 3] = [0.0, 0.0, 1.5]
    pose1 = pose0 @ pose1
    depth = np.full((48, 64), 1.5)
    seg = np.zeros((48, 64), np.int32)
    flow = exact_flow((camera, camera), depth, seg, pose0[None], pose1[None], np.array([0]))
    v, u = 10, 40
    point = camera.unproject(np.array([[u, v]], float), np.array([1.5]))[0]
    local = np.linalg.inv(pose0) @ np.append(point, 1)
    moved = (pose1 @ local)[:3]
    expected = camera.K @ moved
    np.testing.assert_allclose(flow[v, u], expected[:2] / expected[2] - [u, v], atol=1e-9)


def test_oracle_video_tracks_stay_on_the_moving_object():
    """In a real oracle video, button pixels carried by the exact flow land on button pixels of
    the next frame at the depth the body pose predicts (where the button is not occluded)."""
    pytest.importorskip("metaworld")
    from avdc_plugins.generators.oracle import OracleGenerator

    with metaworld_episode("button-press", "corner", seed=0) as (executor, observation):
        video = OracleGenerator(OracleGenerator.Config(), BuildContext()).generate(observation, "")
        button_geoms = np.flatnonzero(executor.scene.geom_body == executor.scene.model.body("button").id)
    flow = make_flow().estimate(video)
    truth = video.simulator
    seg, depth, poses = truth.segmentation, truth.depth, truth.body_poses
    camera, geom_body = truth.cameras[0], truth.parts.part_body
    rows, cols = np.nonzero(np.isin(seg[0], button_geoms))
    tracks = track_points(flow, np.stack([cols, rows], 1).astype(float), fb_threshold_px=None)
    assert np.linalg.norm(tracks.pixels[-1] - tracks.pixels[0], axis=1).mean() > 2.0  # it moved
    # one step of flow equals projecting the button's pose change (integer start pixels: exact)
    points = camera.unproject(tracks.pixels[0], depth[0][rows, cols])
    bodies = geom_body[seg[0][rows, cols]]
    move = poses[1][bodies] @ np.linalg.inv(poses[0][bodies])
    projected, predicted = camera.project(np.einsum("nij,nj->ni", move[:, :3, :3], points)
                                          + move[:, :3, 3])
    np.testing.assert_allclose(projected, tracks.pixels[1], atol=1e-6)
    # before the hand covers it (frame 1), the tracks land on the button at the rendered depth
    u, v = np.round(tracks.pixels[1]).astype(int).T
    landed = np.isin(seg[1][v, u], button_geoms)
    assert landed.mean() > 0.8
    assert np.median(np.abs(depth[1][v, u][landed] - predicted[landed])) < 2e-3


def test_seeing_through_the_robot_gives_covered_object_pixels_the_object_motion():
    """Button press: the gripper covers the button at the end of the video. The oracle's renders
    without the robot show the button there, and sim-flow gives those pixels exactly the
    projection of the button's true motion; the flow of the visible surfaces gives them the
    arm's motion instead."""
    pytest.importorskip("metaworld")
    from avdc_plugins.generators.oracle import OracleGenerator

    with metaworld_episode("button-press", "corner", seed=0, resolution=(160, 120)) as (executor, observation):
        video = OracleGenerator(OracleGenerator.Config(), BuildContext()).generate(observation, "")
        button = executor.scene.model.body("button").id
        robot = executor.scene.robot_geoms
    truth = video.simulator
    seen, hidden = truth.segmentation, truth.segmentation_without_robot
    assert not np.isin(hidden, robot).any()
    button_geoms = np.flatnonzero(truth.parts.part_body == button)
    covered = np.isin(seen, robot) & np.isin(hidden, button_geoms)  # [T, H, W]
    t = int(np.argmax(covered[:-1].sum(axis=(1, 2))))
    rows, cols = np.nonzero(covered[t])
    assert len(rows) >= 10
    camera, poses = truth.cameras[t], truth.body_poses[:, button]
    points = camera.unproject(np.stack([cols, rows], 1).astype(float),
                              truth.depth_without_robot[t][rows, cols])
    move = poses[t + 1] @ np.linalg.inv(poses[t])
    expected, _ = camera.project(points @ move[:3, :3].T + move[:3, 3])
    flow = make_flow().estimate(video)
    np.testing.assert_allclose(flow.forward[t][rows, cols], expected - np.stack([cols, rows], 1),
                               atol=1e-6)
    visible = SimulatorFlow(SimulatorFlow.Config(see_through_robot=False), BuildContext())
    arm_flow = visible.estimate(video).forward[t][rows, cols]
    assert np.abs(arm_flow - flow.forward[t][rows, cols]).max() > 0.05


def test_video_without_simulator_data_is_rejected():
    with pytest.raises(InputDataError, match="generator/oracle"):
        make_flow().estimate(textured_video(3))


def test_noise_degrades_the_flow_by_the_asked_amount_and_is_reproducible():
    video = sliding_plane_video(4)
    exact = make_flow().estimate(video)
    noisy = make_flow(noise_px=0.5).estimate(video)
    error = np.concatenate([noisy.forward - exact.forward, noisy.backward - exact.backward])
    assert error.std() == pytest.approx(0.5, rel=0.05)
    assert abs(error.mean()) < 0.05
    neighbours = np.corrcoef(error[:, :, :-1, 0].ravel(), error[:, :, 1:, 0].ravel())[0, 1]
    assert neighbours > 0.9  # smoothed over noise_scale_px: neighbouring pixels err alike
    again = make_flow(noise_px=0.5).estimate(video)
    np.testing.assert_array_equal(again.forward, noisy.forward)
    other = make_flow(noise_px=0.5, noise_seed=1).estimate(video)
    assert np.abs(other.forward - noisy.forward).max() > 0.1
