"""Gaussian diffusion over future frames: cosine schedule, v-prediction, min-SNR weighting.

Sampling uses the generalised DDIM update on an evenly spaced subset of the training steps:
``eta=0`` is deterministic DDIM; ``eta=1`` draws fresh noise with the exact posterior variance,
which on the full step set is ancestral (DDPM) sampling and on a subset its respaced form.
Classifier-free guidance mixes text-conditioned and text-free predictions:
``v = v_null + w * (v_text - v_null)``.

Images live in ``[-1, 1]``; ``x0`` is clipped to that range at every sampling step.

``strength < 1`` starts sampling part-way down the noise process from the *still video* (every
future frame a copy of the observation) noised to that level, as SDEdit (Meng et al., 2022) starts
from a noised guide image: the sample keeps more of the observation's layout and the model has
fewer steps in which to change it. ``strength = 1`` is the usual start from pure noise. Tried on
the navigation model at 0.8 and 0.6, it did not make its plans turn (README, "The learned loop for
navigation").

``target="residual"`` diffuses ``(future - condition) / 2`` instead of the future frames (the
paper's target, ``"frames"``): the still video, every frame a copy of the observation, is the
zero of the noise process. Tried for the navigation model, it did not help within 2 CPU-hours
(README, "The learned loop for navigation"); it stays an option of the config.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field

from .unet import VideoUNet


class DiffusionConfig(BaseModel):
    """The noise process and loss (stored in every checkpoint)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    steps: int = Field(default=100, ge=2, description="diffusion steps of the training process")
    schedule: Literal["cosine"] = "cosine"
    prediction: Literal["v"] = "v"
    min_snr_gamma: float | None = Field(default=5.0, gt=0, description="min-SNR weight cap; null = unweighted")
    target: Literal["frames", "residual"] = Field(
        default="frames", description="what is diffused: the future frames, or their difference "
        "from the condition frame, halved (a still video is zero)")


def cosine_alphas_cumprod(steps: int, offset: float = 0.008) -> torch.Tensor:
    """Cumulative signal fractions ``ᾱ_t`` of Nichol & Dhariwal's cosine schedule (float64)."""
    s = torch.linspace(0, steps, steps + 1, dtype=torch.float64) / steps
    f = torch.cos((s + offset) / (1 + offset) * math.pi / 2) ** 2
    betas = (1 - f[1:] / f[:-1]).clamp(max=0.999)
    return torch.cumprod(1 - betas, dim=0)


def sampling_timesteps(train_steps: int, sample_steps: int, strength: float = 1.0) -> list[int]:
    """``sample_steps`` evenly spaced training steps, from ``strength`` of the way to the noisiest
    (1: the noisiest) down to 0."""
    if not 1 <= sample_steps <= train_steps:
        raise ValueError(f"sample_steps is {sample_steps}; expected 1..{train_steps} (the training steps)")
    if not 0 < strength <= 1:
        raise ValueError(f"strength is {strength}; expected 0 < strength <= 1")
    start = round(strength * (train_steps - 1))
    return sorted({round(x) for x in torch.linspace(start, 0, sample_steps).tolist()}, reverse=True)


class GaussianDiffusion:
    """Training loss and samplers for a :class:`VideoUNet`."""

    def __init__(self, config: DiffusionConfig) -> None:
        self.config = config
        self.alphas_cumprod = cosine_alphas_cumprod(config.steps)

    def _ab(self, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return self.alphas_cumprod.to(like.device)[t].to(torch.float32).view(-1, 1, 1, 1, 1)

    def _encode(self, future: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """The diffused quantity (in [-1, 1]) of future frames ``[B, C, F-1, H, W]``."""
        return future if self.config.target == "frames" else (future - cond[:, :, None]) / 2

    def _decode(self, x0: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """Future frames in [-1, 1] from the diffused quantity (inverse of :meth:`_encode`)."""
        return x0 if self.config.target == "frames" else (cond[:, :, None] + 2 * x0).clamp(-1, 1)

    def loss(self, model: VideoUNet, future: torch.Tensor, cond: torch.Tensor, text: torch.Tensor,
             keep_text: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """The min-SNR-weighted v-prediction MSE of a batch (a scalar).

        ``future [B, C, F-1, H, W]`` frames and ``cond [B, C, H, W]`` in [-1, 1];
        timesteps and noise come from ``generator`` (on the batch's device).
        """
        x0 = self._encode(future, cond)
        batch = x0.shape[0]
        t = torch.randint(0, self.config.steps, (batch,), generator=generator, device=generator.device)
        noise = torch.randn(x0.shape, generator=generator, device=generator.device)
        t, noise = t.to(x0.device), noise.to(x0.device, x0.dtype)
        ab = self._ab(t, x0)
        x_t = ab.sqrt() * x0 + (1 - ab).sqrt() * noise
        target = ab.sqrt() * noise - (1 - ab).sqrt() * x0
        pred = model(x_t, cond, t, text, keep_text).float()
        per_sample = ((pred - target) ** 2).mean(dim=(1, 2, 3, 4))
        if self.config.min_snr_gamma is not None:
            snr = (ab / (1 - ab)).flatten()
            per_sample = per_sample * snr.clamp(max=self.config.min_snr_gamma) / (snr + 1)
        return per_sample.mean()

    def _guided(self, model: VideoUNet, x: torch.Tensor, cond: torch.Tensor, t: torch.Tensor,
                text: torch.Tensor, guidance_scale: float) -> torch.Tensor:
        batch = x.shape[0]
        if guidance_scale == 1.0:
            return model(x, cond, t, text, torch.ones(batch, dtype=torch.bool, device=x.device))
        keep = torch.cat([torch.ones(batch, dtype=torch.bool), torch.zeros(batch, dtype=torch.bool)]).to(x.device)
        both = model(torch.cat([x, x]), torch.cat([cond, cond]), torch.cat([t, t]), torch.cat([text, text]), keep)
        v_text, v_null = both.chunk(2)
        return v_null + guidance_scale * (v_text - v_null)

    @torch.no_grad()
    def sample(self, model: VideoUNet, cond: torch.Tensor, text: torch.Tensor, generator: torch.Generator,
               sample_steps: int = 10, eta: float = 0.0, guidance_scale: float = 1.0,
               on_step: Callable[[int], None] | None = None, strength: float = 1.0) -> torch.Tensor:
        """Future frames ``[B, C, F-1, H, W]`` in [-1, 1] for conditions ``cond [B, C, H, W]``.

        ``eta=0``: DDIM; ``eta=1``: ancestral. ``strength < 1``: start from the noised still video
        (module docstring). ``generator`` (any device) draws all noise, so a fixed generator state
        gives a fixed result.
        """
        c = model.config
        shape = (cond.shape[0], c.channels, c.future_frames, *c.image_size)
        x = torch.randn(shape, generator=generator, device=generator.device).to(cond.device, cond.dtype)
        steps = sampling_timesteps(self.config.steps, sample_steps, strength)
        if strength < 1:
            still = self._encode(cond[:, :, None].expand(shape), cond)
            ab = self._ab(torch.full((shape[0],), steps[0], device=cond.device, dtype=torch.long), x)
            x = ab.sqrt() * still + (1 - ab).sqrt() * x
        for i, step in enumerate(steps):
            t = torch.full((shape[0],), step, device=cond.device, dtype=torch.long)
            ab = self._ab(t, x)
            ab_prev = self._ab(torch.full_like(t, steps[i + 1]), x) if i + 1 < len(steps) else torch.ones_like(ab)
            v = self._guided(model, x, cond, t, text, guidance_scale).to(x.dtype)
            x0 = (ab.sqrt() * x - (1 - ab).sqrt() * v).clamp(-1, 1)
            eps = (x - ab.sqrt() * x0) / (1 - ab).sqrt()
            sigma = eta * ((1 - ab_prev) / (1 - ab) * (1 - ab / ab_prev)).sqrt()
            x = ab_prev.sqrt() * x0 + (1 - ab_prev - sigma ** 2).clamp(min=0).sqrt() * eps
            if eta > 0 and i + 1 < len(steps):
                noise = torch.randn(shape, generator=generator, device=generator.device)
                x = x + sigma * noise.to(x.device, x.dtype)
            if on_step is not None:
                on_step(i)
        return self._decode(x, cond)
