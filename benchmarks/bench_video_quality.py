"""How close a trained video model's imagined videos are to Meta-World's expert on unseen seeds.

For each task and seed, the episode's first observation is given to the model and to the scripted
expert (``generator/oracle``, the same 8 evenly spaced frames the training clips hold); frames 1-7
are compared at the model's resolution, where the expert's frames are shrunk exactly as the training
data was. Figures per task:

* PSNR and SSIM over whole frames;
* PSNR over the **moving pixels** only (where the expert's frame differs from frame 0 by more than
  ``--moving-threshold`` grey levels): the whole-frame figures are dominated by the static scene;
* the same for a **still video** (frame 0 repeated), the baseline that shows whether the model
  imagines motion at all.

A GIF grid (one row per episode: expert | generated, upscaled) lands in ``--out``. Seeds the model
was trained on (its card lists them) are refused.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_video_quality.py \\
        --checkpoint models/metaworld-cpu/model.safetensors \\
        --tasks door-close,handle-press,button-press-topdown --camera corner --seeds 10 --out runs/video-quality
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM (kornia, 7 px window) between uint8 frames ``[T, H, W, 3]``."""
    import kornia
    import torch

    def tensor(x: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(x).permute(0, 3, 1, 2).float() / 255

    return float(kornia.metrics.ssim(tensor(a), tensor(b), window_size=7).mean())


def column_titles(grid: np.ndarray) -> np.ndarray:
    """A white strip ``[T, 20, W, 3]`` naming the grid's two columns."""
    import cv2

    strip = np.full((20, grid.shape[2], 3), 255, np.uint8)
    for index, title in enumerate(("expert", "generated")):
        cv2.putText(strip, title, (4 + index * grid.shape[2] // 2, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                    (0, 0, 0), 1, cv2.LINE_AA)
    return np.repeat(strip[None], len(grid), axis=0)


def episode_videos(task: str, camera: str, seed: int, generator, oracle, executor_cls) -> tuple[np.ndarray, ...]:
    """(expert, generated) frames ``[8, h, w, 3]`` at the model's resolution for one episode."""
    import torch

    from avdc_core import BuildContext
    from avdc_core.datasets import resize_rgb

    executor = executor_cls(executor_cls.Config(task=task, camera=camera), BuildContext())
    try:
        observation = executor.reset(seed)
        text = executor.task_text()
        expert = oracle.generate(observation, text).frames
    finally:
        executor.close()
    height, width = generator.model.card.unet.image_size
    small = np.stack([resize_rgb(frame, height, width) for frame in expert])
    embedding = generator.text_encoder.encode([text])[0]
    generated = generator.model.generate(small[0], embedding, torch.Generator().manual_seed(seed),
                                         generator.config.sample_steps)
    return small, generated


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--tasks", required=True, help="comma-separated Meta-World tasks")
    parser.add_argument("--camera", default="corner")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--sample-steps", type=int, default=20)
    parser.add_argument("--moving-threshold", type=float, default=10.0, help="grey levels")
    parser.add_argument("--grid-rows", type=int, default=3, help="episodes per task in the GIF grid")
    parser.add_argument("--out", type=Path, default=Path("runs/video-quality"))
    args = parser.parse_args(argv)

    from avdc_core import BuildContext
    from avdc_core.artifacts import write_json, write_video
    from avdc_core.evaluation import EpisodeJob, refuse_seen_seeds
    from avdc_plugins.executors.metaworld import MetaWorldExecutor
    from avdc_plugins.generators.oracle import OracleGenerator
    from avdc_plugins.generators.unet_diffusion import UnetDiffusionGenerator
    from avdc_plugins.generators.video_diffusion.train import psnr

    config = UnetDiffusionGenerator.Config(checkpoint=str(args.checkpoint), sample_steps=args.sample_steps)
    generator = UnetDiffusionGenerator(config, BuildContext(base_dir=Path.cwd()))
    oracle = OracleGenerator(OracleGenerator.Config(num_frames=generator.model.card.unet.frames), BuildContext())
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    refuse_seen_seeds(generator.model.card.data.seeds,
                      [EpisodeJob(task, args.camera, seed) for task in tasks for seed in seeds],
                      f"the model {str(args.checkpoint)!r}")
    figures: dict[str, dict[str, float]] = {}
    rows = []
    for task in tasks:
        per_episode = []
        for seed in seeds:
            expert, generated = episode_videos(task, args.camera, seed, generator, oracle, MetaWorldExecutor)
            moving = np.abs(expert[1:].astype(int) - expert[:1].astype(int)).max(axis=-1) > args.moving_threshold
            still = np.repeat(expert[:1], len(expert) - 1, axis=0)
            truth = expert[1:]
            per_episode.append([psnr(generated[1:], truth), ssim(generated[1:], truth),
                                psnr(generated[1:][moving], truth[moving]), psnr(still, truth),
                                ssim(still, truth), psnr(still[moving], truth[moving])])
            if seed - args.first_seed < args.grid_rows:
                rows.append(np.concatenate([expert, generated], axis=2))
        values = np.nanmean(np.array(per_episode), axis=0)
        figures[task] = dict(zip(["psnr", "ssim", "psnr_moving", "still_psnr", "still_ssim", "still_psnr_moving"],
                                 map(float, values), strict=True))
    figures["all"] = {k: float(np.nanmean([figures[t][k] for t in tasks])) for k in figures[tasks[0]]}
    grid = np.concatenate(rows, axis=1)
    scale = max(1, 256 // grid.shape[2])
    grid = grid.repeat(scale, axis=1).repeat(scale, axis=2)
    write_video(args.out / "expert-vs-generated.gif", np.concatenate([column_titles(grid), grid], axis=1), fps=3)
    write_json(args.out / "video_quality.json", {"checkpoint": str(args.checkpoint), "camera": args.camera,
                                                 "seeds": seeds, "sample_steps": args.sample_steps,
                                                 "figures": figures})
    print("| task | PSNR (dB) | SSIM | PSNR moving px | still video: PSNR | SSIM | PSNR moving px |")
    print("|---|---|---|---|---|---|---|")
    for task, f in figures.items():
        print(f"| {task} | {f['psnr']:.2f} | {f['ssim']:.3f} | {f['psnr_moving']:.2f} | {f['still_psnr']:.2f} "
              f"| {f['still_ssim']:.3f} | {f['still_psnr_moving']:.2f} |")
    print(f"grid: {args.out / 'expert-vs-generated.gif'} (each row: expert | generated)")
    return figures


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
