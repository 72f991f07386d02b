"""``generator/oracle``: ground-truth videos from Meta-World's scripted expert.

**An upper bound for ablations, not a policy**: it reads the simulator's true state and runs
the task's hand-written expert (``metaworld.policies``). Use it to measure everything after the
video generator (flow, tracking, solving, grasp/push, replanning) without a trained model.

Access to the simulator: the observation must come from ``executor/metaworld``, whose
``Observation.extras["simulator"]`` is the live scene. The generator copies the scene's state
into a fresh ``MjData`` (``mj_getState``/``mj_setState``; the live episode is never touched),
steps the expert on the copy until the task succeeds (or ``max_steps``), then renders
``num_frames`` evenly spaced states. Frame 0 is ``observation.rgb`` itself.

``Video.extras`` carries what exact correspondences (``flow/sim-flow``) need, per frame:
``depth [T, H, W]`` (m, 0 = background), ``segmentation [T, H, W]`` (geom ids, -1 background),
``body_poses [T, nbody, 4, 4]`` (world), the same depth and segmentation rendered with the robot
arm hidden (``depth_without_robot``, ``segmentation_without_robot``: what lies behind the arm,
which only a simulator can see), plus ``geom_body [ngeom]``, ``camera`` (fixed), and
``states [T, S]``, ``frame_steps [T]``, ``expert_steps`` and ``expert_success``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from pydantic import Field

from avdc_core import hookimpl
from avdc_core.errors import InputDataError, MissingResourceError
from avdc_core.interfaces import ComponentConfig, VideoGenerator
from avdc_core.types import Observation, RigidTrajectory, Video, invert_rigid


def expert_policy(task: str) -> Any:
    """A fresh instance of Meta-World's scripted expert for ``task`` (e.g. ``door-open``)."""
    import metaworld.policies as policies

    class_name = "Sawyer" + "".join(part.capitalize() for part in task.split("-")) + "V3Policy"
    if not hasattr(policies, class_name):
        raise MissingResourceError(f"Meta-World has no scripted expert {class_name} for task {task!r}")
    return getattr(policies, class_name)()


def expert_rollout(scene: Any, max_steps: int, extra_steps: int = 0) -> tuple[list[np.ndarray], bool]:
    """Run the expert on a copy of ``scene``'s live state: the states it went through (the
    current state first) and whether the task succeeded. ``extra_steps`` continue past success."""
    env = scene.clone_env()
    policy = expert_policy(scene.task)
    observation = env._get_obs()
    states = [scene.state(env.data)]
    success_at = None
    for step in range(max_steps):
        with warnings.catch_warnings():  # the experts' gains trip a harmless clipping warning
            warnings.simplefilter("ignore", UserWarning)
            action = policy.get_action(observation)
        observation, _, _, _, info = env.step(action)
        states.append(scene.state(env.data))
        if success_at is None and info.get("success"):
            success_at = step
        if success_at is not None and step - success_at >= extra_steps:
            break
    return states, success_at is not None


def body_motion(video: Video, body: int) -> RigidTrajectory:
    """The true world motion of body ``body`` (a MuJoCo body id) from frame 0 in an oracle
    video (``Video.extras["body_poses"]``): an exact trajectory to drive an executor with, or to
    measure a plan against."""
    poses = video.extras["body_poses"][:, body]
    frames = len(poses)
    return RigidTrajectory(poses @ invert_rigid(poses[0]), np.ones((frames, 1), bool), np.zeros(frames))


class OracleGenerator(VideoGenerator):
    """Ground-truth video from Meta-World's scripted expert (an upper bound, not a policy)."""

    name = "oracle"

    class Config(ComponentConfig):
        num_frames: int = Field(default=8, ge=2, description="frames per video, evenly spaced")
        max_steps: int = Field(default=500, ge=1, description="expert steps before giving up")
        extra_steps: int = Field(default=10, ge=0, description="expert steps kept after success "
                                 "(the first success state is on the threshold's edge)")
        model_size: tuple[int, int] | None = Field(
            default=None, description="[height, width]: shrink the imagined frames to this size and "
            "stretch them back, as generator/unet-diffusion does: a perfect video model of that size")

    def generate(self, observation: Observation, text: str, seed: int = 0) -> Video:
        scene = observation.extras.get("simulator")
        if scene is None or not hasattr(scene, "clone_env"):
            raise InputDataError("generator/oracle needs an observation from executor/metaworld "
                                 "(Observation.extras['simulator'] is missing); for other robots "
                                 "use a video generator such as generator/diffusion")
        states, success = expert_rollout(scene, self.config.max_steps, self.config.extra_steps)
        steps = np.linspace(0, len(states) - 1, self.config.num_frames).round().astype(int)
        frames, depth, segmentation, poses, hidden = [], [], [], [], []
        for index, step in enumerate(steps):
            data = scene.data_from_state(states[step])
            view = scene.render(data)
            frames.append(observation.rgb if index == 0 else view.rgb)
            depth.append(view.depth)
            segmentation.append(view.segmentation)
            poses.append(scene.body_poses(data))
            hidden.append(scene.render(data, rgb=False, hide_robot=True))
        extras = {"depth": np.stack(depth), "segmentation": np.stack(segmentation),
                  "body_poses": np.stack(poses), "geom_body": scene.geom_body,
                  "depth_without_robot": np.stack([view.depth for view in hidden]),
                  "segmentation_without_robot": np.stack([view.segmentation for view in hidden]),
                  "camera": observation.camera, "states": np.stack([states[s] for s in steps]),
                  "frame_steps": steps, "expert_steps": len(states) - 1, "expert_success": success}
        frames = np.stack(frames)
        if self.config.model_size is not None:
            from avdc_core.datasets import resize_rgb

            size = frames.shape[1:3]
            frames[1:] = [resize_rgb(resize_rgb(f, *self.config.model_size), *size) for f in frames[1:]]
        return Video(frames, extras)


@hookimpl
def avdc_components():
    return [OracleGenerator]
