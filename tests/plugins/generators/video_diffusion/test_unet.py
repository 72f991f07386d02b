"""The video U-Net: factorized convolutions, conditioning paths, both variants, config checks."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from pydantic import ValidationError

from avdc_plugins.generators.video_diffusion.unet import (
    FactorizedConv,
    SpaceTimeAttention,
    UNetConfig,
    VideoUNet,
    conv_weight_count,
)

TINY = dict(image_size=(16, 16), frames=5, base_width=8, multipliers=(1, 2), res_blocks=1,
            attention_levels=1, heads=2, text_dim=12)


def _model(conv: str = "factorized", seed: int = 0) -> VideoUNet:
    """A tiny U-Net whose zero-initialised output layers are randomised, so every input matters."""
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = VideoUNet(UNetConfig(**TINY, conv=conv))
    with torch.no_grad():
        for p in model.parameters():
            if not p.abs().sum():
                p.copy_(torch.randn(p.shape, generator=gen) * 0.1)
    return model.eval()


def _inputs(batch: int = 2, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, 3, 4, 16, 16, generator=gen)
    cond = torch.randn(batch, 3, 16, 16, generator=gen)
    return x, cond, torch.tensor([10, 50] * (batch // 2)), torch.randn(batch, 12, generator=gen)


def test_factorized_conv_is_a_per_frame_2d_conv_then_a_per_pixel_1d_conv():
    torch.manual_seed(0)
    conv = FactorizedConv(4, 6)
    x = torch.randn(2, 4, 5, 7, 9)
    spatial = torch.stack([F.conv2d(x[:, :, f], conv.spatial.weight[:, :, 0], conv.spatial.bias, padding=1)
                           for f in range(5)], dim=2)
    per_pixel = spatial.permute(0, 3, 4, 1, 2).reshape(-1, 6, 5)
    temporal = F.conv1d(per_pixel, conv.temporal.weight[..., 0], conv.temporal.bias, padding=1)
    expected = temporal.reshape(2, 7, 9, 6, 5).permute(0, 3, 4, 1, 2)
    torch.testing.assert_close(conv(x), expected, atol=1e-5, rtol=1e-5)


def test_factorized_variant_has_over_2x_fewer_conv_weights_at_equal_width():
    factorized, full = VideoUNet(UNetConfig(**TINY)), VideoUNet(UNetConfig(**TINY, conv="3d"))
    ratio = conv_weight_count(full) / conv_weight_count(factorized)
    assert 2.0 < ratio < 2.4  # 27 vs 9 + 3 weights per channel pair, plus biases
    assert sum(p.numel() for p in full.parameters()) > sum(p.numel() for p in factorized.parameters())


@pytest.mark.parametrize("conv", ["factorized", "3d"])
def test_output_has_one_prediction_per_future_frame(conv):
    x, cond, t, text = _inputs()
    out = _model(conv)(x, cond, t, text)
    assert out.shape == x.shape and torch.isfinite(out).all()


def test_condition_frame_reaches_every_future_frame():
    model = _model()
    x, cond, t, text = _inputs()
    cond.requires_grad_(True)
    for frame in range(x.shape[2]):
        (grad,) = torch.autograd.grad(model(x, cond, t, text)[:, :, frame].sum(), cond)
        assert grad.abs().sum() > 0, f"future frame {frame} ignores the condition frame"


def test_text_changes_the_output_unless_it_is_dropped():
    model = _model()
    x, cond, t, text = _inputs()
    other = text + 1.0
    with torch.no_grad():
        assert (model(x, cond, t, text) - model(x, cond, t, other)).abs().mean() > 1e-4
        dropped = torch.zeros(2, dtype=torch.bool)
        torch.testing.assert_close(model(x, cond, t, text, dropped), model(x, cond, t, other, dropped))


def test_timestep_changes_the_output():
    model = _model()
    x, cond, t, text = _inputs()
    with torch.no_grad():
        assert (model(x, cond, t, text) - model(x, cond, t + 30, text)).abs().mean() > 1e-4


def test_attention_sits_only_at_the_lowest_levels():
    model = VideoUNet(UNetConfig(**{**TINY, "multipliers": (1, 2, 2), "attention_levels": 1}))
    attended = [any(isinstance(a, SpaceTimeAttention) for a in level.attns) for level in model.down]
    assert attended == [False, False, True]
    assert all(isinstance(a, SpaceTimeAttention) for a in model.mid.attns)


def test_frames_mix_through_temporal_layers():
    """Changing one future frame's input changes other frames' outputs (temporal mixing)."""
    model = _model()
    x, cond, t, text = _inputs()
    moved = x.clone()
    moved[:, :, 0] += 1.0
    with torch.no_grad():
        change = (model(moved, cond, t, text) - model(x, cond, t, text)).abs().mean(dim=(0, 1, 3, 4))
    assert (change[1:] > 1e-5).all()


def test_config_rejects_sizes_the_levels_cannot_halve():
    with pytest.raises(ValidationError, match="divisible by 4"):
        UNetConfig(**{**TINY, "image_size": (18, 16), "multipliers": (1, 2, 2)})
    with pytest.raises(ValidationError, match="divisible by 8"):
        UNetConfig(**{**TINY, "base_width": 12})
    with pytest.raises(ValidationError):
        UNetConfig(**TINY, conv="2d")
