"""AI2-THOR without its Unity build: the build check (before any network), the exact camera's
axes against the shared action rule, and the paper's targets. The build is not on these machines
(it cannot be downloaded here), so nothing in this file starts Unity."""

from __future__ import annotations

import socket

import numpy as np
import pytest

pytest.importorskip("ai2thor")

from avdc_core.errors import MissingResourceError, SpecError  # noqa: E402
from avdc_core.types import RigidTrajectory, invert_rigid  # noqa: E402
from avdc_plugins.executors.navigation import pair_actions  # noqa: E402
from avdc_plugins.simulators.ai2thor.build import locate_build  # noqa: E402
from avdc_plugins.simulators.ai2thor.scene import ThorScene, camera_pose  # noqa: E402
from avdc_plugins.simulators.ai2thor.tasks import PAPER_SCENES, check_target, target_text  # noqa: E402


@pytest.fixture
def no_build_no_network(tmp_path, monkeypatch):
    """A home without ~/.ai2thor, and a network that fails the test if anything reaches for it."""
    monkeypatch.setenv("HOME", str(tmp_path))

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    return tmp_path


def test_a_missing_build_is_named_with_how_to_get_it_before_any_network(no_build_no_network):
    with pytest.raises(MissingResourceError, match=r"\.ai2thor/releases/thor-Linux64-[0-9a-f]{40}' is missing"
                                                   r".*download_only=True"):
        ThorScene("Toaster", seed=0)
    with pytest.raises(MissingResourceError, match="thor-CloudRendering-"):
        locate_build("cloud-rendering")
    with pytest.raises(MissingResourceError, match="executor.params.executable: .*nowhere/thor' does not exist"):
        ThorScene("Toaster", seed=0, executable=str(no_build_no_network / "nowhere" / "thor"))


def test_a_build_in_the_releases_folder_is_found(no_build_no_network):
    import ai2thor.build

    name = f"thor-Linux64-{ai2thor.build.COMMIT_ID}"
    folder = no_build_no_network / ".ai2thor" / "releases" / name
    folder.mkdir(parents=True)
    (folder / name).write_bytes(b"")
    found = locate_build()
    assert found.folder == folder and found.controller_args()["commit_id"] == ai2thor.build.COMMIT_ID


def trajectory(poses):
    transforms = np.stack([pose @ invert_rigid(poses[0]) for pose in poses])  # camera motion, world frame
    return RigidTrajectory(transforms, np.ones((len(poses), 1), bool), np.zeros(len(poses)), mode="camera")


def test_the_camera_turns_and_walks_the_way_the_action_rule_reads_them():
    at = {"x": 1.0, "y": 0.9, "z": -2.0}
    pose = camera_pose(at, 0.0, 0.0)
    np.testing.assert_allclose(pose[:3, :3], np.eye(3), atol=1e-12)  # yaw 0: OpenCV axes = avdc's world
    np.testing.assert_allclose(pose[:3, 3], [1.0, -0.9, -2.0])  # Unity's y up becomes y down
    for yaw in (0.0, 90.0, 215.0):
        for horizon in (0.0, 30.0):
            rotation = camera_pose(at, yaw, horizon)[:3, :3]
            np.testing.assert_allclose(rotation.T @ rotation, np.eye(3), atol=1e-12)
            assert np.linalg.det(rotation) == pytest.approx(1.0)
    assert camera_pose(at, 0.0, 30.0)[1, 2] > 0.4  # looking down: the optical axis points down (+y)
    # RotateRight adds to the yaw; MoveAhead walks along the heading (Unity: yaw 90 faces +x)
    turns = [camera_pose(at, yaw, 0.0) for yaw in (0.0, 45.0, 90.0, 45.0)]
    ahead = [camera_pose({"x": 1.0 + 0.25 * k, "y": 0.9, "z": -2.0}, 90.0, 0.0) for k in range(3)]
    assert pair_actions(trajectory(turns), turns[0], 0.2, 1e-3) == ["turn_right", "turn_right", "turn_left"]
    assert pair_actions(trajectory(ahead), ahead[0], 0.2, 1e-3) == ["move_forward", "move_forward"]


def test_the_paper_targets():
    assert sum(len(targets) for targets in PAPER_SCENES.values()) == 12
    assert check_target("DeskLamp") == "DeskLamp" and target_text("DeskLamp") == "desk lamp"
    with pytest.raises(SpecError, match="unknown iTHOR target 'Toastr'; did you mean 'Toaster'"):
        check_target("Toastr")
