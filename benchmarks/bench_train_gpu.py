"""Train the paper's Meta-World video model for a fixed number of steps: steps/s, peak GPU memory, loss.

The configuration is ``configs/train-metaworld.yaml`` as shipped (128x128, width 128, multipliers
1-5, batch 16 per process, EMA, fp16 on CUDA) with only the step count, the data and the output
folder replaced; ``--precision`` overrides its mixed precision. It runs unchanged under a launcher:

    python benchmarks/bench_train_gpu.py                                   # one GPU, ~300 steps
    accelerate launch --multi_gpu --num_processes 8 benchmarks/bench_train_gpu.py
    python benchmarks/bench_train_gpu.py --toy --steps 3                   # CPU smoke run (tests)

Data: synthetic clips in the AVDC layout (a textured cube moving on a textured table, ray-cast by
``avdc_core.synthetic``) written to a temporary folder. A step costs the same whatever the clips
show, and nothing beyond the repository and its wheels is needed. Steps/s leaves out the first
``--warmup`` steps (CUDA kernel selection, allocator growth). ``--toy`` shrinks the model to
32x32, width 16, two levels, and trains on the CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOY_MODEL = {"image_size": [32, 32], "base_width": 16, "multipliers": [1, 2], "res_blocks": 1,
             "attention_levels": 1, "heads": 2}


def write_synthetic_dataset(root: Path, clips: int, size: int, frames: int) -> Path:
    """``clips`` moving-cube episodes under ``root/metaworld_dataset/cube-move/synthetic/``."""
    import cv2
    import numpy as np

    from avdc_core.synthetic import box_scene

    for index in range(clips):
        scene = box_scene(np.random.default_rng(index), frames=frames, width=size, height=size)
        folder = root / "metaworld_dataset" / "cube-move" / "synthetic" / f"{index:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        for t, frame in enumerate(scene.video().frames):
            cv2.imwrite(str(folder / f"{t:02d}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    return root


def bench_config(args: argparse.Namespace, data: Path, out: Path):
    """The shipped config with this run's steps, data, output and (optionally) precision."""
    from avdc_plugins.generators.video_diffusion.train import load_train_config

    config = load_train_config(args.config)
    optim = {"steps": args.steps}
    update = {"out_dir": out, "data": config.data.model_copy(update={"root": data, "workers": 0}),
              "sample_every": 0, "save_every": args.steps, "log_every": max(1, args.steps // 10)}
    if args.toy:
        update["model"] = config.model.model_validate({**config.model.model_dump(exclude_unset=True), **TOY_MODEL})
        optim["batch_size"] = 2
        update["cpu"] = True
    if args.precision:
        update["mixed_precision"] = args.precision
    update["optim"] = config.optim.model_copy(update=optim)
    return config.model_copy(update=update)


def run(args: argparse.Namespace) -> dict:
    import torch

    from avdc_plugins.generators.video_diffusion.train import resolved_precision, train

    with tempfile.TemporaryDirectory(prefix="avdc-bench-train-") as scratch:
        scratch = Path(scratch)
        config = bench_config(args, scratch / "data", scratch / "run")
        write_synthetic_dataset(scratch / "data", args.clips, config.model.image_size[0], config.model.frames)
        cuda = torch.cuda.is_available() and not config.cpu
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        result = train(config, progress=False)
    timed = result.step_seconds[args.warmup:] or result.step_seconds
    world = int(os.environ.get("WORLD_SIZE", "1"))
    per_step = statistics.median(timed)
    head, tail = result.losses[:10], result.losses[-10:]
    return {
        "config": str(args.config), "device": torch.cuda.get_device_name() if cuda else "cpu",
        "processes": world, "mixed_precision": resolved_precision(config),
        "image_size": list(config.model.image_size), "base_width": config.model.base_width,
        "batch_per_process": config.optim.batch_size, "steps": result.step,
        "seconds_per_step_median": per_step, "steps_per_second": 1.0 / per_step,
        "clips_per_second": world * config.optim.batch_size / per_step,
        "peak_gpu_memory_gib": torch.cuda.max_memory_allocated() / 2 ** 30 if cuda else None,
        "loss_first10": statistics.mean(head), "loss_last10": statistics.mean(tail),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "train-metaworld.yaml")
    parser.add_argument("--steps", type=int, default=300, help="optimizer steps to train")
    parser.add_argument("--warmup", type=int, default=20, help="first steps left out of the timing")
    parser.add_argument("--clips", type=int, default=32, help="synthetic clips to train on")
    parser.add_argument("--precision", choices=["no", "fp16", "bf16"], help="override mixed_precision")
    parser.add_argument("--toy", action="store_true", help="tiny model on the CPU (a smoke run)")
    args = parser.parse_args(argv)
    figures = run(args)
    if int(os.environ.get("RANK", "0")) == 0:
        memory = figures["peak_gpu_memory_gib"]
        print(f"{figures['device']} x{figures['processes']}, {figures['mixed_precision']}, "
              f"{figures['image_size'][0]}px width {figures['base_width']}, batch {figures['batch_per_process']}"
              f"/process: {figures['steps_per_second']:.2f} steps/s ({figures['clips_per_second']:.1f} clips/s), "
              f"peak GPU memory {'n/a' if memory is None else f'{memory:.1f} GiB'}, "
              f"loss {figures['loss_first10']:.4f} -> {figures['loss_last10']:.4f}")
        print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
