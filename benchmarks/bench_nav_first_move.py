"""A cheap read of a navigation video model: does its first plan start with the expert's move?

For each evaluation seed of a MiniWorld task, the spec's pipeline makes one plan from the first
observation (generate, flow, whole-scene mask, camera-mode solve), and the executor turns it into
moves with the paper's action rule, as in a closed-loop episode (``executor/miniworld``). Its
first move is compared with the scripted expert's move from the same state. A plan that cannot
be made is counted as a disagreement and printed with its reason. One plan per seed: a minute for
a handful of seeds, where a closed-loop evaluation takes tens of minutes.

Run: ``.venv/bin/python benchmarks/bench_nav_first_move.py --spec specs/miniworld-generated.yaml
--task one-room --seeds 8``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from avdc_core.errors import PlanFailedError
from avdc_core.pipeline import build_pipeline
from avdc_core.registry import Registry
from avdc_core.spec import read_yaml, resolve_spec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=Path("specs/miniworld-generated.yaml"))
    parser.add_argument("--task", default="one-room")
    parser.add_argument("--seeds", type=int, default=8, help="how many seeds")
    parser.add_argument("--first-seed", type=int, default=0,
                        help="seeds FIRST..FIRST+N-1 (choose settings on seeds the reported evaluation does not use)")
    args = parser.parse_args()
    data = read_yaml(args.spec)
    data["executor"]["params"]["task"] = args.task
    pipeline = build_pipeline(resolve_spec(data, Registry.discover(), args.spec.resolve().parent))
    executor = pipeline.require_executor()
    agreed = 0
    try:
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            observation = executor.reset(seed)
            expert = executor.scene.expert_action()
            try:
                plan = pipeline.planner.plan(observation, executor.task_text(), executor.segment_target(),
                                             mode=executor.motion_mode, seed=seed)
                moves = executor.commands(plan.trajectory, plan.points_world, observation).data["actions"]
            except PlanFailedError as error:
                moves = [f"no plan ({type(error).__name__}: {error})"]
            agreed += moves[0] == expert
            print(f"seed {seed}: expert {expert}; plan {', '.join(moves)}", flush=True)
    finally:
        pipeline.close()
    print(f"first move agrees with the expert's: {agreed}/{args.seeds}")


if __name__ == "__main__":
    main()
