"""Factorized (2D spatial + 1D temporal) U-Net vs the full 3D-conv U-Net at equal width.

Prints, for each variant: parameters (all, and in the ResNet convolutions where the variants
differ), training-step time (forward + backward + AdamW, median), peak memory of training and
time per sampling step (one DDIM step, batch 1, no guidance); then the 3D/factorized ratios.

Memory method: each variant runs in its own fresh subprocess. The child records
``resource.getrusage(RUSAGE_SELF).ru_maxrss`` (the process's peak resident set) after building the
model, optimizer and batch, runs the training steps, and reports the increase of that peak. This
counts everything torch allocates on CPU (tracemalloc would miss torch's allocator) and the
subprocess keeps one variant's peak from hiding the other's.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_video_unet.py
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time


def measure(conv: str, size: int, frames: int, width: int, batch: int, steps: int, threads: int) -> dict:
    """Run inside the child process: one variant's figures."""
    import resource

    import torch

    from avdc_plugins.generators.video_diffusion.diffusion import DiffusionConfig, GaussianDiffusion
    from avdc_plugins.generators.video_diffusion.unet import UNetConfig, VideoUNet, conv_weight_count

    torch.set_num_threads(threads)
    config = UNetConfig(image_size=(size, size), frames=frames, base_width=width, multipliers=(1, 2, 3, 4),
                        res_blocks=2, attention_levels=2, text_dim=384, conv=conv)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = VideoUNet(config)
    diffusion = GaussianDiffusion(DiffusionConfig())
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    data = torch.Generator().manual_seed(0)
    x0 = torch.rand(batch, 3, frames - 1, size, size, generator=data) * 2 - 1
    cond = torch.rand(batch, 3, size, size, generator=data) * 2 - 1
    text = torch.randn(batch, 384, generator=data)
    keep = torch.ones(batch, dtype=torch.bool)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = []
    for step in range(steps + 1):
        start = time.perf_counter()
        loss = diffusion.loss(model, x0, cond, text, keep, torch.Generator().manual_seed(step))
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        times.append(time.perf_counter() - start)
    peak_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    model.eval()
    sample_steps = 3
    start = time.perf_counter()
    diffusion.sample(model, cond[:1], text[:1], torch.Generator().manual_seed(0), sample_steps)
    return {
        "conv": conv,
        "params": sum(p.numel() for p in model.parameters()),
        "conv_params": conv_weight_count(model),
        "train_step_s": statistics.median(times[1:]),  # the first step warms up kernels
        "peak_train_mb": peak_mb,
        "sample_step_s": (time.perf_counter() - start) / sample_steps,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--frames", type=int, default=8, help="clip frames incl. the condition frame")
    parser.add_argument("--width", type=int, default=32, help="base width (multipliers 1,2,3,4)")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--steps", type=int, default=5, help="timed training steps")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--child", choices=["factorized", "3d"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    shape = (args.size, args.frames, args.width, args.batch, args.steps, args.threads)
    if args.child:
        print(json.dumps(measure(args.child, *shape)))
        return
    rows = {}
    for conv in ("factorized", "3d"):
        child = subprocess.run([sys.executable, __file__, "--child", conv, *sum(
            ([f"--{k}", str(v)] for k, v in vars(args).items() if k != "child"), [])],
            check=True, capture_output=True, text=True)
        rows[conv] = json.loads(child.stdout.strip().splitlines()[-1])
    print(f"video U-Net, {args.frames} frames at {args.size}x{args.size}, base width {args.width}, "
          f"batch {args.batch}, {args.threads} thread(s), median of {args.steps} training steps")
    print(f"{'variant':<11}{'params':>12}{'conv params':>13}{'train step s':>14}{'peak MB':>10}{'sample step s':>15}")
    for conv, r in rows.items():
        print(f"{conv:<11}{r['params']:>12,}{r['conv_params']:>13,}{r['train_step_s']:>14.3f}"
              f"{r['peak_train_mb']:>10.0f}{r['sample_step_s']:>15.3f}")
    f, d = rows["factorized"], rows["3d"]
    print("ratios 3d / factorized: "
          f"params {d['params'] / f['params']:.2f}x, conv params {d['conv_params'] / f['conv_params']:.2f}x, "
          f"train step {d['train_step_s'] / f['train_step_s']:.2f}x, "
          f"peak memory {d['peak_train_mb'] / max(f['peak_train_mb'], 1e-9):.2f}x, "
          f"sample step {d['sample_step_s'] / f['sample_step_s']:.2f}x")


if __name__ == "__main__":
    main()
