"""avdc_core.tracking: sub-pixel sampling, tracking along flow, forward-backward occlusion check."""

import numpy as np
import pytest

from avdc_core import Flow, InputDataError, Mask
from avdc_core.synthetic import box_scene
from avdc_core.tracking import bilinear_sample, sample_mask_pixels, track_points


def test_bilinear_sample_is_exact_on_a_linear_field():
    v, u = np.mgrid[0:20, 0:30].astype(float)
    field = np.stack([2 * u + 1, -3 * v + 0.5 * u], axis=-1)
    points = np.array([[3.25, 4.5], [28.9, 18.1], [0.0, 0.0]])
    expected = np.stack([2 * points[:, 0] + 1, -3 * points[:, 1] + 0.5 * points[:, 0]], axis=1)
    np.testing.assert_allclose(bilinear_sample(field, points), expected, atol=1e-12)


def test_tracks_along_exact_flow_follow_the_projected_motion():
    rng = np.random.default_rng(0)
    scene = box_scene(rng, frames=4, width=160, height=120, max_rotation_deg=10, max_translation_m=0.04)
    renders = [scene.render(t) for t in range(4)]
    flow = Flow(np.stack([scene.ground_truth_flow(t, renders[t]) for t in range(3)]).astype(np.float32))
    rows, cols = np.nonzero(renders[0].object_mask)
    # keep away from the box's edges, where bilinear sampling mixes box and table flow
    inner = ((np.abs(rows - rows.mean()) < 0.25 * np.ptp(rows))
             & (np.abs(cols - cols.mean()) < 0.25 * np.ptp(cols)))
    start = np.stack([cols[inner], rows[inner]], axis=1).astype(float)
    tracks = track_points(flow, start)
    points = renders[0].points_world[rows[inner], cols[inner]]
    truth = [scene.camera_at(t).project(points @ scene.object_motions[t][:3, :3].T
                                        + scene.object_motions[t][:3, 3])[0] for t in range(4)]
    error = np.linalg.norm(tracks.pixels - np.stack(truth), axis=-1)
    assert tracks.valid.all()
    assert np.median(error[-1]) < 0.05 and error.max() < 0.5


def _shift_flow(frames: int, height: int, width: int, shift: float) -> np.ndarray:
    field = np.zeros((frames - 1, height, width, 2), dtype=np.float32)
    field[..., 0] = shift
    return field


def test_forward_backward_check_drops_occluded_points_for_good():
    forward = _shift_flow(4, 40, 60, 2.0)
    backward = -forward
    backward[0, :, 30:40] = 0.0  # an occluder appears where points land at frame 1
    start = np.array([[10.0, 20.0], [29.0, 20.0], [31.0, 5.0]])
    tracks = track_points(Flow(forward, backward), start, fb_threshold_px=1.0)
    np.testing.assert_array_equal(tracks.valid, [[1, 1, 1], [1, 0, 0], [1, 0, 0], [1, 0, 0]])
    np.testing.assert_allclose(tracks.pixels[3, 0], [16.0, 20.0])


def test_without_backward_flow_no_point_is_dropped_inside_the_image():
    tracks = track_points(Flow(_shift_flow(3, 40, 60, 2.0)), np.array([[10.0, 20.0], [30.0, 5.0]]))
    assert tracks.valid.all()


def test_points_leaving_the_image_become_invalid():
    tracks = track_points(Flow(_shift_flow(4, 40, 60, 10.0)), np.array([[5.0, 5.0], [52.0, 5.0]]))
    np.testing.assert_array_equal(tracks.valid[:, 1], [True, False, False, False])
    assert tracks.valid[:, 0].all()


@pytest.mark.parametrize("start", [np.zeros((3, 3)), np.array([[1.0, np.nan]])])
def test_bad_start_pixels_are_rejected(start):
    with pytest.raises(InputDataError, match="start_pixels"):
        track_points(Flow(_shift_flow(2, 10, 10, 1.0)), start)


def test_sampling_an_empty_mask_is_an_error():
    mask = Mask(np.zeros((10, 10), dtype=bool), source="test")
    with pytest.raises(InputDataError, match="none with valid depth"):
        sample_mask_pixels(mask, np.ones((10, 10), dtype=bool), 5, np.random.default_rng(0))
