"""Object tracking on real Meta-World plans: a flow plugin against exact correspondences.

For each task x camera x seed, the first plan of an episode is made from an oracle video with
the flow and solver of ``--spec`` (e.g. ``dis-template`` + ``se3-lm``) and compared with
the truth: the tracked body's real motion in the simulator and ``flow/sim-flow``'s exact
correspondences (seen through the robot). Reported per cell:

* ``track p50/p90 px``: error of the object's tracks at the plan's last frame against the
  exact tracks of the same points, over the points the tested flow still tracks;
* ``lost %``: share of the points the tested flow marks invalid by the last frame;
* ``contact mm``: the largest distance, over the plan's frames, between the contact point
  (the executor's grasp/push point) carried by the plan — as the executor commands it, slid
  into the arm's workspace along the viewing ray (``fit_workspace``) — and by the body's true
  motion;
* ``along %``: the cosine between that largest error and the camera's viewing ray through the
  contact point, signed: +100 = straight away from the camera (the plan puts the object too
  far), -100 = straight towards it. Along the ray lies the depth a monocular plan must infer
  from changes of the object's image size;
* ``mode``: the grasp/push choice, from the plan vs from the true motion.

Failures of the tested plan (e.g. a SolveError) are listed, not hidden. This isolates the flow's
effect on the plan from the controller and the episode's later replans: one oracle video per
cell, seconds per cell instead of a whole episode.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_metaworld_tracking.py``
(``--spec`` picks the pipeline; default ``specs/metaworld-oracle-dis.yaml``).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from avdc_core.errors import PlanFailedError  # noqa: E402
from avdc_core.pipeline import build_pipeline  # noqa: E402
from avdc_core.registry import Registry  # noqa: E402
from avdc_core.spec import read_yaml, resolve_spec  # noqa: E402
from avdc_plugins.executors.manipulation import (  # noqa: E402
    choose_mode,
    commanded_path,
    contact_path,
    steady_points,
)
from avdc_plugins.generators.oracle import body_motion  # noqa: E402
from avdc_plugins.simulators.metaworld.tasks import PAPER_CAMERAS, PAPER_TASKS  # noqa: E402


def build(spec: dict, task: str, camera: str, exact: bool = False):
    """The spec's pipeline on ``task``/``camera``; ``exact``: planning only, with sim-flow's
    exact tracks instead of the spec's flow (no executor)."""
    spec = json.loads(json.dumps(spec))
    if exact:
        del spec["executor"]
        spec["flow"] = {"plugin": "sim-flow"}
        spec["planning"] = {**spec.get("planning", {}), "fb_threshold_px": None, "min_valid_tracks": 0}
        spec["solver"] = {"plugin": "se3-lm"}
    else:
        spec["executor"]["params"] = {**spec["executor"].get("params", {}), "task": task, "camera": camera}
    return build_pipeline(resolve_spec(spec, Registry.discover(), source=f"{task}/{camera}"))


def measure(spec: dict, task: str, camera: str, seed: int) -> dict:
    """One cell: the tested plan and the truth for one oracle video."""
    tested, exact = build(spec, task, camera), build(spec, task, camera, exact=True)
    try:
        executor = tested.require_executor()
        observation = executor.reset(seed)
        text, target = executor.task_text(), executor.segment_target()
        video = tested.planner.generator.generate(observation, text, seed=seed)
        reference = exact.planner.plan_from_video(observation, video, text, target)
        truth_motion = body_motion(video, observation.simulator.parts.body_names.index(executor.object.bodies[0]))
        start = time.perf_counter()
        try:
            plan = tested.planner.plan_from_video(observation, video, text, target)
        except PlanFailedError as error:  # a failing plan is a result of this benchmark
            return {"error": f"{type(error).__name__}: {error}"}
        seconds = time.perf_counter() - start
        last = len(plan.tracks.pixels) - 1
        valid = plan.tracks.valid[last]
        errors = np.linalg.norm(plan.tracks.pixels[last] - reference.tracks.pixels[last], axis=1)[valid]
        contact = executor.contact_point(steady_points(reference.trajectory, reference.points_world), observation)
        origin = observation.camera.cam_to_world[:3, 3]
        ours = commanded_path(plan.trajectory, contact, origin, executor.workspace())
        truth = contact_path(truth_motion, contact)[: len(ours)]
        errors_m = ours - truth
        worst = errors_m[np.argmax(np.linalg.norm(errors_m, axis=1))]
        ray = contact - origin
        along = (worst @ ray) / np.linalg.norm(ray) / max(np.linalg.norm(worst), 1e-12)
        config = executor.config.manipulation
        return {"p50": float(np.median(errors)) if len(errors) else float("nan"),
                "p90": float(np.percentile(errors, 90)) if len(errors) else float("nan"),
                "lost": float(1 - plan.tracks.valid[last].mean()),
                "frames": f"{len(ours)}/{len(reference.tracks.pixels)}",
                "contact_mm": float(np.linalg.norm(errors_m, axis=1).max() * 1000),
                "along": float(along),
                "mode": f"{choose_mode(ours, config)}/{choose_mode(truth, config)}",
                "seconds": seconds}
    finally:
        tested.close()
        exact.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default="specs/metaworld-oracle-dis.yaml")
    parser.add_argument("--tasks", default=",".join(PAPER_TASKS))
    parser.add_argument("--cameras", default=",".join(PAPER_CAMERAS))
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    import cv2
    import torch

    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    spec = read_yaml(args.spec)
    print(f"{args.spec}: flow {spec['flow']}, solver {spec['solver']}, first plan, seeds 0..{args.seeds - 1}")
    print(f"{'task':22s} {'camera':8s} seed  p50 px  p90 px  lost %  frames  contact mm  along %  "
          "mode (ours/exact)")
    rows = []
    for task in args.tasks.split(","):
        for camera in args.cameras.split(","):
            for seed in range(args.seeds):
                row = {"task": task, "camera": camera, "seed": seed, **measure(spec, task, camera, seed)}
                rows.append(row)
                if "error" in row:
                    print(f"{task:22s} {camera:8s} {seed:4d}  FAILED {row['error'][:90]}")
                    continue
                print(f"{task:22s} {camera:8s} {seed:4d} {row['p50']:7.1f} {row['p90']:7.1f} "
                      f"{100 * row['lost']:7.0f} {row['frames']:>7s} {row['contact_mm']:11.0f} "
                      f"{100 * row['along']:8.0f}  {row['mode']}")
    solved = [row for row in rows if "error" not in row]
    if not solved:
        print(f"every plan failed ({len(rows)})")
        return
    contact = np.array([row["contact_mm"] for row in solved])
    agree = sum(len(set(row["mode"].split("/"))) == 1 for row in solved)
    large = np.array([row["along"] for row in solved if row["contact_mm"] > 50])
    along_median = 100 * np.median(np.abs(large)) if len(large) else float("nan")
    print(f"failed plans {len(rows) - len(solved)}/{len(rows)}; over the others (medians of the cells): "
          f"track p50 {np.nanmedian([row['p50'] for row in solved]):.1f} px, "
          f"p90 {np.nanmedian([row['p90'] for row in solved]):.1f} px; lost "
          f"{100 * np.mean([row['lost'] for row in solved]):.0f} % (mean); contact error median "
          f"{np.median(contact):.0f} mm, p90 {np.percentile(contact, 90):.0f} mm, "
          f"under 20 mm {np.mean(contact < 20) * 100:.0f} %; over 50 mm: {len(large)} cells, "
          f"|cos| to the viewing ray median {along_median:.0f} %, "
          f"too far {int((large > 0).sum())}/{len(large)}; mode right {agree}/{len(solved)}; "
          f"mean plan time {np.mean([row['seconds'] for row in solved]):.2f} s")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
