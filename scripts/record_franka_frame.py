"""Record one frame of the franky-sim tabletop for dry runs and tests: the camera's RGB, depth
(16-bit PNG, mm) and calibration (camera JSON), the object's mask, and the oracle's video of the
task (a frames folder) — what a lab would capture with its own camera and a demonstration.

    .venv/bin/python scripts/record_franka_frame.py --task pick-place --seed 1 --out tests/data/franka-recorded
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np


def main() -> None:
    from avdc_plugins.simulators.franka.scene import FrankySimScene
    from avdc_plugins.simulators.franka.server import launch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="pick-place")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--size", type=int, nargs=2, default=(320, 240), metavar=("WIDTH", "HEIGHT"))
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    simulator = launch(args.task)
    scene = FrankySimScene(simulator, args.task, *args.size)
    try:
        scene.place(args.seed)
        observation = scene.observation()
        rollout = scene.expert_rollout(max_steps=500)
        steps = np.linspace(0, len(rollout.states) - 1, args.frames).round().astype(int)
        video = scene.render_video([rollout.states[step] for step in steps])
        mask = scene.parts.mask(observation.simulator.segmentation, [scene.spec.object_body])
    finally:
        scene.close()
        simulator.close()
    out = args.out
    (out / "video").mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out / "rgb.png"), cv2.cvtColor(observation.rgb, cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(out / "depth.png"), np.round(observation.depth * 1000).astype(np.uint16))
    cv2.imwrite(str(out / "mask.png"), mask.astype(np.uint8) * 255)
    for index, frame in enumerate(video.frames):
        cv2.imwrite(str(out / "video" / f"{index:02d}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    (out / "camera.json").write_text(json.dumps(observation.camera.to_json(), indent=1))
    print(f"recorded {args.task} seed {args.seed} in {out}")


if __name__ == "__main__":
    main()
