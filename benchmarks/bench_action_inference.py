"""Action inference without the generator: flow + tracking + solve for an 8-frame 320x240 plan.

A ray-cast cube moves on a table (exact depth for frame 0, exact object mask); the video is
rendered first (the generator's job, not timed). Timed on one thread: opencv-dis flow (forward
and backward), sampling + lifting masked pixels, tracking with the forward-backward check, and
the se3-lm solve. Prints the median time of the stages and the plan's error.
Run: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_action_inference.py``
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from avdc_core import BuildContext, Mask  # noqa: E402
from avdc_core.synthetic import box_scene, motion_errors  # noqa: E402
from avdc_core.tracking import sample_mask_pixels, track_points  # noqa: E402
from avdc_plugins.flow.opencv import OpenCvDis  # noqa: E402
from avdc_plugins.solvers.se3_lm import Se3Solver  # noqa: E402


def infer(flow_estimator, solver, video, observation, mask, num_points: int, seed: int) -> tuple:
    """One action-inference pass; returns the trajectory, the points and the stage timings (s)."""
    timings = {}
    start = time.perf_counter()
    flow = flow_estimator.estimate(video, backward=True)
    timings["flow"] = time.perf_counter() - start
    start = time.perf_counter()
    pixels = sample_mask_pixels(mask, observation.valid_depth, num_points, np.random.default_rng(seed))
    depth = observation.depth[pixels[:, 1].astype(int), pixels[:, 0].astype(int)]
    points = observation.camera.unproject(pixels, depth)
    tracks = track_points(flow, pixels, fb_threshold_px=2.0)
    timings["track"] = time.perf_counter() - start
    start = time.perf_counter()
    trajectory = solver.solve(points, tracks, observation.camera)
    timings["solve"] = time.perf_counter() - start
    return trajectory, points, timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="medium")
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    import cv2
    import torch

    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    scene = box_scene(np.random.default_rng(0), frames=8, max_rotation_deg=20.0, max_translation_m=0.08)
    video, observation = scene.video(), scene.observation()
    mask = Mask(scene.render(0).object_mask, source="ground truth")
    flow_estimator = OpenCvDis(OpenCvDis.Config(preset=args.preset), BuildContext())
    solver = Se3Solver(Se3Solver.Config(), BuildContext())
    infer(flow_estimator, solver, video, observation, mask, args.points, 0)  # warm-up
    runs = [infer(flow_estimator, solver, video, observation, mask, args.points, seed)
            for seed in range(args.repeats)]
    stages = {name: np.median([run[2][name] for run in runs]) * 1000 for name in runs[0][2]}
    total = np.median([sum(run[2].values()) for run in runs]) * 1000
    trajectory, points, _ = runs[0]
    rotation, translation = motion_errors(trajectory.transforms, scene.object_motions, points)
    print(f"8 frames 320x240, opencv-dis {args.preset}, {args.points} points, one thread, "
          f"median of {args.repeats}")
    stage_text = "  ".join(f"{name} {ms:.1f} ms" for name, ms in stages.items())
    print(f"  {stage_text}  | total {total:.1f} ms")
    print(f"  plan error vs ground truth: rotation max {rotation.max():.2f} deg, "
          f"translation max {translation.max() * 1000:.1f} mm; inliers per frame "
          f"{trajectory.inliers.sum(1).tolist()}")


if __name__ == "__main__":
    main()
