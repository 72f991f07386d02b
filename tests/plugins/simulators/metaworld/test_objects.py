"""Every Meta-World v3 task's object, found without a table: the part its expert moves."""

import numpy as np
import pytest

pytest.importorskip("metaworld")

from avdc_core.errors import InputDataError  # noqa: E402
from avdc_plugins.simulators.metaworld.objects import movable_parts, moving_object  # noqa: E402
from avdc_plugins.simulators.metaworld.scene import MetaWorldScene, task_names  # noqa: E402
from avdc_plugins.simulators.metaworld.tasks import DEFAULT_OBJECTS, PAPER_CAMERAS  # noqa: E402


def test_every_task_has_an_object_seen_by_every_paper_camera_without_a_table():
    empty = []
    for task in task_names():
        scene = MetaWorldScene(task, PAPER_CAMERAS[0], 320, 240, seed=0)  # the executor's size
        try:
            found = moving_object(scene)
            assert found.bodies, task
            if task in DEFAULT_OBJECTS:  # the table's paper tasks: the same bodies
                assert set(found.bodies) == set(DEFAULT_OBJECTS[task].bodies), task
            for camera in PAPER_CAMERAS:
                segmentation = scene.render(camera=camera, rgb=False, depth=False).segmentation
                if not scene.parts.mask(segmentation, found.bodies, where=task).any():
                    empty.append((task, camera, found.bodies))
        finally:
            scene.close()
    assert not empty


@pytest.fixture(scope="module")
def dial():
    scene = MetaWorldScene("dial-turn", "corner", 80, 60, seed=1)
    yield scene
    scene.close()


def test_an_unnamed_body_is_chosen_and_masked_by_its_index(dial):
    found = moving_object(dial)
    (reference,) = found.bodies
    index = int(reference.removeprefix("#"))
    assert reference.startswith("#") and dial.body_names[index] == ""
    assert dial.model.jnt_type[dial.model.body_jntadr[index]] == 3  # the dial's hinge
    segmentation = dial.render(rgb=False, depth=False).segmentation
    np.testing.assert_array_equal(dial.parts.mask(segmentation, found.bodies),
                                  np.isin(segmentation, np.flatnonzero(dial.geom_body == index)))


def test_a_movable_part_is_a_jointed_body_with_the_bodies_fixed_below_it():
    scene = MetaWorldScene("assembly", "corner", 64, 48, seed=0)
    try:
        parts = movable_parts(scene.model, scene.robot_root)
        names = [[scene.body_names[b] for b in part] for part in parts]
        assert ["RoundNut", "asmbly_peg"] in names  # the wrench: a free joint on a geom-less body
        robot = {b for part in parts for b in part if scene.model.body_rootid[b] == scene.robot_root}
        assert not robot
    finally:
        scene.close()


def test_a_body_index_out_of_range_is_refused_with_the_valid_range(dial):
    segmentation = dial.render(rgb=False, depth=False).segmentation
    with pytest.raises(InputDataError, match=r"body #999 does not exist.*#0-#"):
        dial.parts.mask(segmentation, ["#999"], where="object")
