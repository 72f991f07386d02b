"""``generator/oracle``: ground-truth videos from a simulator's scripted expert.

**An upper bound for ablations, not a policy**: it reads the simulator's true state and runs
the task's hand-written expert (Meta-World's ``metaworld.policies``). Use it to measure everything
after the video generator (flow, tracking, solving, grasp/push, replanning) without a trained model.

It works with any world that implements :class:`avdc_core.simulation.SimulatedScene`: the
observation's ``simulator.scene`` runs the expert on a copy of the live state (the live episode
is never touched) until the task succeeds (or ``max_steps``) and renders ``num_frames`` evenly
spaced states. Frame 0 is ``observation.rgb`` itself. ``Video.simulator`` carries the frames'
ground truth (:class:`~avdc_core.simulation.SimulatedFrames`: depth, segmentation, body poses,
cameras, the same with the robot hidden) for exact correspondences (``flow/sim-flow``), plus the
rollout and the state index of each frame.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from pydantic import Field

from avdc_core import hookimpl
from avdc_core.interfaces import ComponentConfig, VideoGenerator
from avdc_core.simulation import require_view
from avdc_core.types import Observation, RigidTrajectory, Video, invert_rigid


def body_motion(video: Video, body: int) -> RigidTrajectory:
    """The true world motion of body ``body`` (a body index of the scene) from frame 0 in a
    simulated video: an exact trajectory to drive an executor with, or to measure a plan against."""
    poses = video.simulator.body_poses[:, body]
    frames = len(poses)
    return RigidTrajectory(poses @ invert_rigid(poses[0]), np.ones((frames, 1), bool), np.zeros(frames))


class OracleGenerator(VideoGenerator):
    """Ground-truth video from a simulator's scripted expert (an upper bound, not a policy)."""

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
        scene = require_view(observation, "generator/oracle").scene
        rollout = scene.expert_rollout(self.config.max_steps, self.config.extra_steps)
        steps = np.linspace(0, len(rollout.states) - 1, self.config.num_frames).round().astype(int)
        video = scene.render_video([rollout.states[step] for step in steps])
        frames = video.frames.copy()
        frames[0] = observation.rgb
        if self.config.model_size is not None:
            from avdc_core.datasets import resize_rgb

            size = frames.shape[1:3]
            frames[1:] = [resize_rgb(resize_rgb(f, *self.config.model_size), *size) for f in frames[1:]]
        return Video(frames, replace(video.simulator, rollout=rollout, frame_steps=steps))


@hookimpl
def avdc_components():
    return [OracleGenerator]
