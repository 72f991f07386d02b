"""``avdc train`` and ``avdc generate``: train the video model, imagine a video with it.

Multi-GPU or multi-node training is the same command under a launcher::

    accelerate launch --multi_gpu --num_processes 8 -m avdc_cli.main train configs/train-metaworld.yaml
    torchrun --nproc_per_node 2 -m avdc_cli.main train configs/train-tiny.yaml   # 2 CPU processes (gloo)
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from avdc_core import BuildContext


def train(config: Annotated[Path, typer.Argument(help="training config (YAML), e.g. configs/train-tiny.yaml")],
          resume: Annotated[bool, typer.Option(help="continue from out_dir/train_state.safetensors")] = False,
          data: Annotated[Path | None, typer.Option(help="override data.root")] = None,
          out: Annotated[Path | None, typer.Option(help="override out_dir")] = None,
          progress: Annotated[bool, typer.Option(help="show the progress bar")] = True) -> None:
    """Train the text-conditioned video diffusion model on AVDC-layout videos."""
    from avdc_plugins.generators.video_diffusion.train import load_train_config
    from avdc_plugins.generators.video_diffusion.train import train as run_training

    settings = load_train_config(config)
    if data is not None:
        settings = settings.model_copy(update={"data": settings.data.model_copy(update={"root": data})})
    if out is not None:
        settings = settings.model_copy(update={"out_dir": out})
    result = run_training(settings, resume=resume, progress=progress)
    last = f"{result.losses[-1]:.4f}" if result.losses else "n/a"
    typer.echo(f"step {result.step}, last loss {last}; model: {result.model_path}")
    if result.interrupted:
        typer.echo(f"interrupted: saved a resumable checkpoint at step {result.step}; continue with "
                   f"avdc train {config} --resume" + (f" --out {out}" if out is not None else ""))


def generate(checkpoint: Annotated[Path, typer.Option(help="model.safetensors written by `avdc train`")],
             image: Annotated[Path, typer.Option(help="the current RGB frame (PNG/JPG)")],
             text: Annotated[str, typer.Option(help="task description, e.g. 'door open'")],
             out: Annotated[Path, typer.Option(help="output video (.gif or .mp4)")] = Path("generated.gif"),
             steps: Annotated[int, typer.Option(help="denoising steps")] = 10,
             sampler: Annotated[str, typer.Option(help="ddim or ancestral")] = "ddim",
             guidance: Annotated[float, typer.Option(help="classifier-free guidance scale")] = 1.0,
             seed: Annotated[int, typer.Option(help="noise seed")] = 0,
             device: Annotated[str, typer.Option(help="torch device")] = "cpu") -> None:
    """Imagine the task as a video from one frame and a sentence; writes a GIF or MP4."""
    from pydantic import ValidationError

    from avdc_core import InputDataError, SpecError
    from avdc_core.artifacts import write_video
    from avdc_core.readers import read_rgb
    from avdc_plugins.generators.unet_diffusion import UnetDiffusionGenerator

    if not text.strip():
        raise InputDataError("--text is empty; describe the task, e.g. --text 'door open'")
    try:
        config = UnetDiffusionGenerator.Config(checkpoint=str(checkpoint), sample_steps=steps,
                                               sampler=sampler, guidance_scale=guidance)
    except ValidationError as error:
        raise SpecError(f"invalid option: {error.errors()[0]['loc'][0]}: {error.errors()[0]['msg']}") from error
    generator = UnetDiffusionGenerator(config, BuildContext(base_dir=Path.cwd(), device=device))
    frames = generator.generate_rgb(read_rgb(image), text, seed=seed)
    typer.echo(f"{len(frames)} frames {frames.shape[2]}x{frames.shape[1]} -> {write_video(out, frames)}")


def export(checkpoint: Annotated[Path, typer.Argument(help="model.safetensors written by `avdc train`")],
           out: Annotated[Path, typer.Option(help="where to write the exported .safetensors")],
           fp16: Annotated[bool, typer.Option(help="store the weights in half precision")] = True) -> None:
    """Copy a trained model for shipping (fp16 by default) with a MODEL_CARD.md beside it."""
    import torch

    from avdc_plugins.generators.video_diffusion.checkpoint import export_checkpoint, file_sha256

    target = export_checkpoint(checkpoint, out, torch.float16 if fp16 else None)
    typer.echo(f"{target} ({target.stat().st_size / 2 ** 20:.1f} MiB, sha256 {file_sha256(target)}); "
               f"card: {target.parent / 'MODEL_CARD.md'}")


def register(app: typer.Typer) -> None:
    app.command()(train)
    app.command()(generate)
    app.command()(export)
