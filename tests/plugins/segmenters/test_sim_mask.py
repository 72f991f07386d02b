"""segmenter/sim-mask: exact object masks from the simulator's segmentation, chosen by name."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("metaworld")

from avdc_core.errors import InputDataError, PlanFailedError  # noqa: E402
from avdc_core.interfaces import BuildContext  # noqa: E402
from avdc_core.testing import SegmenterContract, flat_observation  # noqa: E402
from avdc_core.types import SegmentTarget  # noqa: E402
from avdc_plugins.segmenters.sim_mask import SimulatorMask  # noqa: E402
from avdc_plugins.simulators.metaworld.tasks import FINGER_BODIES  # noqa: E402

from episodes import metaworld_episode  # noqa: E402


@pytest.fixture(scope="module")
def door():
    with metaworld_episode("door-open", "corner2", seed=2) as episode:
        yield episode


def make_mask(**params) -> SimulatorMask:
    return SimulatorMask(SimulatorMask.Config(**params), BuildContext())


class TestSimMask(SegmenterContract):
    def make_component(self):
        return make_mask()

    @pytest.fixture(autouse=True)
    def _observation(self, door):
        self.door = door

    def sample_input(self):
        executor, observation = self.door
        return observation, executor.segment_target()


def test_mask_is_exactly_the_door_bodys_pixels(door):
    executor, observation = door
    mask = make_mask().segment(observation, executor.segment_target())
    scene = executor.scene
    door_geoms = np.flatnonzero(scene.geom_body == scene.model.body("door_link").id)
    expected = np.isin(observation.simulator.segmentation, door_geoms)
    assert mask.count > 200
    np.testing.assert_array_equal(mask.pixels, expected)
    # the handle is part of the tracked door
    handle = observation.simulator.segmentation == scene.model.geom("handle").id
    assert handle.any() and mask.pixels[handle].all()


def test_spec_table_overrides_the_default_object(door):
    executor, observation = door
    segmenter = make_mask(objects={"door-open": {"parts": ["handle"]}})
    mask = segmenter.segment(observation, executor.segment_target())
    handle = observation.simulator.segmentation == executor.scene.model.geom("handle").id
    np.testing.assert_array_equal(mask.pixels, handle)


def test_unknown_name_lists_the_models_names(door):
    _, observation = door
    target = SegmentTarget("door-open", hints={"task": "door-open", "bodies": ["dor_link"]})
    with pytest.raises(InputDataError, match="no body named 'dor_link'; closest: door_link"):
        make_mask().segment(observation, target)


def test_invisible_object_is_a_clear_error_naming_task_and_camera(door):
    executor, observation = door
    scene = executor.scene
    seen = set(np.unique(scene.geom_body[observation.simulator.segmentation[
        observation.simulator.segmentation >= 0]]))
    hidden = next(name for index, name in enumerate(scene.body_names) if name and index not in seen)
    segmenter = make_mask(objects={"door-open": {"bodies": [hidden]}})
    with pytest.raises(PlanFailedError, match="door-open.*camera 'corner2'.*empty"):
        segmenter.segment(observation, executor.segment_target())


def test_observation_without_simulator_data_is_rejected():
    with pytest.raises(InputDataError, match="segmenter/sim-mask .*simulated executor"):
        make_mask().segment(flat_observation(), SegmentTarget("door-open"))


def test_a_target_without_names_asks_for_them_in_the_spec(door):
    _, observation = door
    with pytest.raises(InputDataError, match="names no object for target 'door-open'.*objects"):
        make_mask().segment(observation, SegmentTarget("door-open"))


def test_fingers_join_the_mask_only_while_the_hand_holds_the_object_and_when_asked(door):
    executor, observation = door
    scene = executor.scene
    fingers = np.isin(observation.simulator.segmentation, np.flatnonzero(np.isin(
        scene.geom_body, [scene.model.body(name).id for name in FINGER_BODIES])))
    assert fingers.sum() > 20
    empty_hand = executor.segment_target()
    assert "holding_bodies" not in empty_hand.hints
    held = SegmentTarget(empty_hand.name, hints={**empty_hand.hints, "holding_bodies": list(FINGER_BODIES)})
    door_only = make_mask().segment(observation, held)
    with_fingers = make_mask(add_holding_fingers=True).segment(observation, held)
    np.testing.assert_array_equal(with_fingers.pixels, door_only.pixels | fingers)
    np.testing.assert_array_equal(make_mask(add_holding_fingers=True).segment(observation, empty_hand).pixels,
                                  door_only.pixels)
