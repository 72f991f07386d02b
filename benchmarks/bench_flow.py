"""Flow benchmark: end-point error against exact flow of a ray-cast moving cube, and time per pair.

The ground truth comes from known motion and exact depth (avdc_core.synthetic). raft and gmflow
run with random weights (no checkpoint can be downloaded here): only their time is meaningful.
Run: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_flow.py [--network-pairs 1]``
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from avdc_core import BuildContext, Video  # noqa: E402
from avdc_core.synthetic import box_scene  # noqa: E402
from avdc_plugins.flow.networks import GmflowFlow, RaftFlow  # noqa: E402
from avdc_plugins.flow.opencv import OpenCvDis, OpenCvFarneback  # noqa: E402


def estimators() -> dict:
    context = BuildContext()
    found = {f"opencv-dis {p}": OpenCvDis(OpenCvDis.Config(preset=p), context)
             for p in ("ultrafast", "fast", "medium", "fine")}
    found["opencv-farneback"] = OpenCvFarneback(OpenCvFarneback.Config(), context)
    found["raft (random weights, 12 it)"] = RaftFlow(RaftFlow.Config(random_weights=True), context)
    found["gmflow (random weights)"] = GmflowFlow(GmflowFlow.Config(random_weights=True), context)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--network-pairs", type=int, default=1, help="pairs timed for raft/gmflow")
    args = parser.parse_args()
    import cv2
    import torch

    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    scene = box_scene(np.random.default_rng(0), frames=args.frames)
    renders = [scene.render(t) for t in range(args.frames)]
    video = Video(np.stack([r.rgb for r in renders]))
    truth = np.stack([scene.ground_truth_flow(t, renders[t]) for t in range(args.frames - 1)])
    on_object = np.stack([r.object_mask for r in renders[:-1]])
    speed = np.linalg.norm(truth[on_object], axis=-1)
    print(f"320x240, {args.frames - 1} pairs; cube ~{on_object[0].sum()} px, "
          f"moving {speed.mean():.1f} px/pair "
          f"(max {speed.max():.1f}); one thread")
    print(f"{'plugin':32s} {'EPE all':>8s} {'EPE cube':>9s} {'p90 cube':>9s} {'ms/pair':>9s}")
    for name, estimator in estimators().items():
        network = "random" in name
        clip = Video(video.frames[: args.network_pairs + 1]) if network else video
        estimator.estimate(Video(clip.frames[:2]), backward=False)  # warm-up
        start = time.perf_counter()
        flow = estimator.estimate(clip, backward=False).forward
        per_pair = (time.perf_counter() - start) / len(flow) * 1000
        error = np.linalg.norm(flow - truth[: len(flow)], axis=-1)
        cube = error[on_object[: len(flow)]]
        quality = ("     (untrained: error not meaningful)" if network else
                   f"{error.mean():8.3f} {cube.mean():9.3f} {np.percentile(cube, 90):9.3f}")
        print(f"{name:32s} {quality} {per_pair:9.1f}")


if __name__ == "__main__":
    main()
