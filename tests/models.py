"""Tiny video models for tests: a randomised U-Net and a short training config."""

from __future__ import annotations

from pathlib import Path

import torch

from avdc_core.spec import ComponentSpec
from avdc_plugins.generators.video_diffusion.checkpoint import ModelCard, VideoDiffusionModel
from avdc_plugins.generators.video_diffusion.diffusion import DiffusionConfig
from avdc_plugins.generators.video_diffusion.train import TrainConfig
from avdc_plugins.generators.video_diffusion.unet import UNetConfig

from paths import DATASET_SAMPLE

UNET = UNetConfig(image_size=(16, 16), frames=4, base_width=8, multipliers=(1, 2), res_blocks=1,
                  attention_levels=1, heads=2, text_dim=384)


def random_card_model(seed: int = 0) -> VideoDiffusionModel:
    """A tiny model with its zero-initialised layers randomised (so text and noise matter)."""
    card = ModelCard(unet=UNET, diffusion=DiffusionConfig(steps=50), text_encoder=ComponentSpec(plugin="minilm"))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = VideoDiffusionModel.from_card(card)
        with torch.no_grad():
            for p in model.unet.parameters():
                if not p.abs().sum():
                    p.normal_(0, 0.2)
    model.unet.eval()
    return model


def tiny_config(out_dir: Path, size: int = 16, steps: int = 150, **overrides) -> TrainConfig:
    """A tiny factorized U-Net on the two sample clips (Meta-World assembly, iTHOR bread)."""
    data = dict(
        out_dir=str(out_dir), data={"root": str(DATASET_SAMPLE), "cache": True},
        model={"image_size": [size, size], "base_width": 16, "multipliers": [1, 2], "res_blocks": 1,
               "attention_levels": 1, "heads": 2},
        optim={"steps": steps, "batch_size": 2, "lr": 2e-3, "ema_decay": 0.9},
        sample_every=0, save_every=10_000, seed=0)
    data.update(overrides)
    return TrainConfig.model_validate(data)
