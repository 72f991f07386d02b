"""Plan figures a person can read: one flow scale per figure, a colour key, a visible outline."""

from __future__ import annotations

import dataclasses

import imageio.v3 as iio
import numpy as np
import pytest

from avdc_core.plan_figures import colour_wheel, flow_scale_px, flow_to_rgb, tracks_figure, trajectory_figure
from avdc_core.testing import flat_observation
from avdc_core.types import Flow, Mask, Plan, RigidTrajectory, Tracks, Video


def test_flow_colour_encodes_direction_and_magnitude():
    flow = np.zeros((4, 8, 2))
    flow[:, :4, 0] = 3.0  # left half moves right, right half still
    rgb = flow_to_rgb(flow)
    assert rgb[:, 4:].max() == 0 and rgb[:, :4].max(axis=-1).min() == 255


def test_one_scale_serves_every_pair_of_a_figure():
    flows = np.zeros((2, 16, 16, 2))
    flows[0, ..., 0] = 1.0
    flows[1, ..., 0] = 10.0
    scale = flow_scale_px(flows)
    assert scale == pytest.approx(10.0)
    slow, fast = (flow_to_rgb(flow, max_px=scale).max() for flow in flows)
    assert fast == 255 and slow == pytest.approx(25, abs=1)  # the slow pair is drawn darker
    assert flow_scale_px(np.zeros((1, 4, 4, 2))) == 0.1  # a still video keeps a usable scale


def test_the_colour_key_is_dark_at_the_centre_and_bright_at_the_rim():
    wheel = colour_wheel(65).astype(int)
    assert wheel[32, 32].max() < 10
    assert wheel[32, 63].max() > 200 and wheel[32, 2].max() > 200
    assert not np.array_equal(wheel[32, 63], wheel[32, 2])  # opposite directions, other hues


def plan_on(colour: tuple[int, int, int], with_mask: bool) -> Plan:
    observation = flat_observation(32, 32)
    frames = np.broadcast_to(np.array(colour, np.uint8), (2, 32, 32, 3)).copy()
    mask = np.zeros((32, 32), bool)
    mask[8:24, 8:24] = with_mask
    return Plan("t", observation, Video(frames), Flow(np.zeros((1, 32, 32, 2))), Mask(mask), np.zeros((0, 3)),
                Tracks(np.zeros((2, 0, 2)), np.zeros((2, 0), bool)),
                RigidTrajectory(np.stack([np.eye(4)] * 2), np.zeros((2, 0), bool), np.zeros(2)))


@pytest.mark.parametrize("colour", [(255, 255, 255), (0, 0, 0), (220, 20, 20)])
def test_the_mask_outline_shows_on_any_background(tmp_path, colour):
    """On white, black or red frames the outline stands out: many of the pixels it changes are far
    from the frame's colour (a one-colour outline vanishes on frames of its colour)."""
    def figure(with_mask: bool) -> np.ndarray:
        path = tracks_figure(plan_on(colour, with_mask), tmp_path / f"{with_mask}.png", "task / camera / seed 0 plan 0")
        return iio.imread(path)[..., :3].astype(int)

    outlined, plain = figure(True), figure(False)
    changed = outlined[np.abs(outlined - plain).max(axis=-1) > 40]
    assert (np.abs(changed - np.array(colour)).max(axis=-1) > 150).sum() > 200



def test_the_motion_figure_draws_the_uncertainty_when_there_is_one(tmp_path):
    """A fourth panel shows the standard deviations (a line per world axis, a thick black one
    along the viewing ray), or a note when the solver gave none."""
    plain = plan_on((255, 255, 255), with_mask=False)
    std = np.array([0.0, 0.03])
    uncertain = dataclasses.replace(plain, trajectory=dataclasses.replace(
        plain.trajectory, translation_std_m=np.column_stack([std, std, std]), ray_std_m=std))

    def dark_pixels_of_last_panel(plan: Plan, name: str) -> int:
        image = iio.imread(trajectory_figure(plan, tmp_path / name, "task"))[..., :3]
        return int((image[:, 3 * image.shape[1] // 4:].max(axis=-1) < 40).sum())

    assert dark_pixels_of_last_panel(uncertain, "with.png") > dark_pixels_of_last_panel(plain, "without.png") + 200
