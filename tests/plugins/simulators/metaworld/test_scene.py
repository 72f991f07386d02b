"""The Meta-World scene: the simulator contract (expert rollouts on copies, ground-truth videos,
named segmentation) and rendering beside torchvision."""

import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("metaworld")

from avdc_core.simulation import SimulatedFrames, SimulatedScene, SimulatorView  # noqa: E402
from avdc_plugins.simulators.metaworld.experts import expert_action, expert_policy  # noqa: E402
from avdc_plugins.simulators.metaworld.scene import MetaWorldScene  # noqa: E402

SCRIPT = """
from avdc_plugins.simulators.metaworld.scene import MetaWorldScene
scene = MetaWorldScene("button-press", "corner", 64, 48, seed=0)
scene.observation()
import torchvision.models.optical_flow  # imports torch._dynamo, hence Triton
print("ok", flush=True)
scene.close()
"""


@pytest.fixture(scope="module")
def scene():
    scene = MetaWorldScene("button-press", "corner3", 64, 48, seed=4)
    yield scene
    scene.close()


def test_torchvision_after_a_metaworld_render_does_not_crash():
    """A pipeline that builds a torchvision-based component after the first Meta-World render
    must not crash (Triton's LLVM loaded after Mesa's EGL renderer segfaults; ``import_mujoco``
    prevents it)."""
    env = {"MUJOCO_GL": "egl", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env,
                            timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("ok")


def test_observations_carry_the_named_segmentation_and_the_live_scene(scene):
    observation = scene.observation()
    view = observation.simulator
    assert isinstance(view, SimulatorView) and isinstance(view.scene, SimulatedScene)
    assert (view.world, view.task, view.camera_name) == ("metaworld", "button-press", "corner3")
    assert view.segmentation.shape == observation.depth.shape
    button = view.parts.mask(view.segmentation, bodies=["button"])
    assert button.any() and observation.valid_depth[button].all()


def test_cloned_rollout_matches_the_live_env_step_for_step():
    """The copy shares the live model (object placement included): the same expert actions on
    the live env give the same states as the rollout on the copy, which leaves the live env be."""
    scene = MetaWorldScene("button-press", "corner3", 64, 48, seed=4)
    try:
        before = scene.state().copy()
        rollout = scene.expert_rollout(max_steps=20)
        np.testing.assert_array_equal(scene.state(), before)
        policy, observation = expert_policy("button-press"), scene.env._get_obs()
        for step in range(1, len(rollout.states)):
            observation, *_ = scene.env.step(expert_action(policy, observation))
            np.testing.assert_allclose(scene.state(), rollout.states[step], atol=1e-9)
    finally:
        scene.close()


def test_rendered_videos_carry_per_frame_ground_truth(scene):
    rollout = scene.expert_rollout(max_steps=30)
    video = scene.render_video(rollout.states[:30:10])
    truth = video.simulator
    assert isinstance(truth, SimulatedFrames) and truth.num_frames == video.num_frames == 3
    assert truth.depth.shape == truth.segmentation_without_robot.shape == (3, 48, 64)
    assert truth.body_poses.shape == (3, scene.model.nbody, 4, 4)
    # with the robot hidden, no pixel shows a robot geom
    robot = np.isin(truth.segmentation_without_robot, scene.robot_geoms)
    assert np.isin(truth.segmentation, scene.robot_geoms).any() and not robot.any()
    assert video.first(2).simulator.num_frames == 2
