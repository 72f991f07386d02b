"""``generator/unet-diffusion``: imagine the task as video with a trained video diffusion model.

The checkpoint (``model.safetensors`` + ``model.json``, written by ``avdc train``) names the text
encoder it was trained with. Text is embedded by **that** encoder: the pipeline's
``text_encoder`` (``BuildContext.text_encoder``) is reused when it is the same plugin with the same
width (its cache is then shared); a different one is an error, because embeddings of another
encoder mean nothing to the model. Without a pipeline encoder the checkpoint's is built.

The observation is resized (stretched) to the model's resolution, the future frames are sampled
and resized back to the observation's size; frame 0 of the result is the observation itself.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from avdc_core import (
    BuildContext,
    ComponentConfig,
    InputDataError,
    Observation,
    SpecError,
    TextEncoder,
    Video,
    VideoGenerator,
    hookimpl,
)

MIN_SIDE_PX = 16


class UnetDiffusionConfig(ComponentConfig):
    checkpoint: str = Field(description="model.safetensors written by `avdc train` (model.json beside it)")
    sample_steps: int = Field(default=10, ge=1, description="denoising steps (<= the model's diffusion steps)")
    sampler: Literal["ddim", "ancestral"] = "ddim"
    guidance_scale: float = Field(default=1.0, ge=0,
                                  description="classifier-free guidance; 1 = text-conditioned only")
    strength: float = Field(default=1.0, gt=0, le=1, description="1: sample from pure noise; below 1: from "
                            "the still video noised that far down the process (SDEdit-style start)")


class UnetDiffusionGenerator(VideoGenerator):
    """Text-conditioned video diffusion (factorized space-time U-Net), trained with `avdc train`."""

    name = "unet-diffusion"
    Config = UnetDiffusionConfig

    def __init__(self, config: UnetDiffusionConfig, context: BuildContext) -> None:
        super().__init__(config, context)
        from avdc_plugins.generators.video_diffusion.checkpoint import VideoDiffusionModel

        self.model = VideoDiffusionModel.load(context.resolve(config.checkpoint), device=context.device)
        card = self.model.card
        if config.sample_steps > card.diffusion.steps:
            raise SpecError(f"generator.params.sample_steps is {config.sample_steps}; the checkpoint has "
                            f"{card.diffusion.steps} diffusion steps, so use 1..{card.diffusion.steps}")
        self.text_encoder = self._text_encoder(context)

    @classmethod
    def check_files(cls, config: UnetDiffusionConfig, context: BuildContext) -> None:
        from avdc_plugins.generators.video_diffusion.checkpoint import require_checkpoint_files

        require_checkpoint_files(context.resolve(config.checkpoint))

    @classmethod
    def training_seeds(cls, config: UnetDiffusionConfig, context: BuildContext) -> dict[str, list[int]]:
        from avdc_plugins.generators.video_diffusion.checkpoint import read_card

        return read_card(context.resolve(config.checkpoint)).data.seeds

    def _text_encoder(self, context: BuildContext) -> TextEncoder:
        wanted = self.model.card.text_encoder
        encoder = context.text_encoder
        if encoder is None:
            from avdc_core.registry import Registry

            info = Registry.discover().get("text_encoder", wanted.plugin, where="checkpoint text_encoder")
            encoder = info.component(info.component.Config.model_validate(wanted.params), context)
        elif encoder.name != wanted.plugin:
            raise SpecError(f"the spec's text_encoder is {encoder.name!r} but the checkpoint "
                            f"{self.config.checkpoint!r} was trained with {wanted.plugin!r}; use "
                            f"text_encoder: {{plugin: {wanted.plugin}}} or leave text_encoder out")
        if encoder.dim != self.model.card.unet.text_dim:
            raise SpecError(f"text encoder {encoder.name!r} gives {encoder.dim}-d embeddings; the checkpoint "
                            f"expects {self.model.card.unet.text_dim}-d (check its params: {wanted.params})")
        return encoder

    def generate_rgb(self, rgb: np.ndarray, text: str, seed: int = 0) -> np.ndarray:
        """Frames ``[T, H, W, 3]`` uint8 imagined from ``rgb [H, W, 3]`` uint8; frame 0 is ``rgb``."""
        import torch

        from avdc_core.datasets import resize_rgb

        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise InputDataError(f"image has shape {rgb.shape} ({rgb.dtype}); expected (H, W, 3) uint8 RGB")
        if min(rgb.shape[:2]) < MIN_SIDE_PX:
            raise InputDataError(f"image is {rgb.shape[1]}x{rgb.shape[0]} px; both sides must be at least "
                                 f"{MIN_SIDE_PX} px")
        embedding = self.text_encoder.encode([text])[0]
        height, width = self.model.card.unet.image_size
        generator = torch.Generator().manual_seed(seed)
        frames = self.model.generate(resize_rgb(rgb, height, width), embedding, generator,
                                     self.config.sample_steps, 0.0 if self.config.sampler == "ddim" else 1.0,
                                     self.config.guidance_scale, self.config.strength)
        out = np.stack([resize_rgb(f, *rgb.shape[:2]) for f in frames])
        out[0] = rgb
        return out

    def generate(self, observation: Observation, text: str, seed: int = 0) -> Video:
        return Video(self.generate_rgb(observation.rgb, text, seed))


@hookimpl
def avdc_components():
    return [UnetDiffusionGenerator]
