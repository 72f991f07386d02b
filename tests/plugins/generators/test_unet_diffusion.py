"""Diffusion process, samplers, guidance, checkpoints and the unet-diffusion generator component."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from avdc_core import BuildContext, InputDataError, MissingResourceError, SpecError
from avdc_core.spec import ComponentSpec
from avdc_core.testing import VideoGeneratorContract, flat_observation
from avdc_plugins.generators.text import MiniLmEncoder
from avdc_plugins.generators.unet_diffusion import UnetDiffusionGenerator
from avdc_plugins.generators.video_diffusion.checkpoint import (
    ModelCard,
    VideoDiffusionModel,
    load_tensors,
    save_tensors,
    tensors_sha256,
)
from avdc_plugins.generators.video_diffusion.diffusion import (
    DiffusionConfig,
    GaussianDiffusion,
    cosine_alphas_cumprod,
    sampling_timesteps,
)
from avdc_plugins.generators.video_diffusion.unet import UNetConfig, VideoUNet

from models import UNET  # noqa: E402
from models import random_card_model as _random_card_model


class OracleModel(torch.nn.Module):
    """Predicts the exact v for known clean frames: a perfect denoiser."""

    def __init__(self, x0: torch.Tensor, diffusion: GaussianDiffusion) -> None:
        super().__init__()
        self.x0, self.diffusion = x0, diffusion
        self.config = UNetConfig(**{**UNET.model_dump(), "image_size": tuple(x0.shape[-2:]),
                                    "frames": x0.shape[2] + 1})

    def forward(self, x_t, cond, t, text, keep_text=None):
        ab = self.diffusion.alphas_cumprod[t].float().view(-1, 1, 1, 1, 1)
        eps = (x_t - ab.sqrt() * self.x0) / (1 - ab).sqrt()
        return ab.sqrt() * eps - (1 - ab).sqrt() * self.x0


def test_cosine_schedule_runs_from_signal_to_noise():
    ab = cosine_alphas_cumprod(100)
    assert ab.shape == (100,) and (ab[1:] < ab[:-1]).all()
    assert ab[0] > 0.999 and ab[-1] < 1e-3
    s = 0.008
    expected_mid = np.cos((0.5 + s) / (1 + s) * np.pi / 2) ** 2 / np.cos(s / (1 + s) * np.pi / 2) ** 2
    assert ab[49] == pytest.approx(expected_mid, rel=1e-6)


def test_sampling_timesteps_are_evenly_spaced_from_the_noisiest():
    assert sampling_timesteps(100, 10) == [99, 88, 77, 66, 55, 44, 33, 22, 11, 0]
    assert sampling_timesteps(100, 100) == list(range(99, -1, -1))
    with pytest.raises(ValueError, match="1..100"):
        sampling_timesteps(100, 101)


def test_a_partial_strength_starts_part_way_down_the_noise_process():
    assert sampling_timesteps(100, 5, strength=0.5) == [50, 38, 25, 12, 0]
    with pytest.raises(ValueError, match="strength is 0; expected 0 < strength <= 1"):
        sampling_timesteps(100, 5, strength=0)


def test_a_small_strength_keeps_the_still_video_and_a_perfect_denoiser_still_recovers_the_data():
    model = _random_card_model()
    cond = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    text = np.random.default_rng(1).normal(size=384).astype(np.float32)
    gen = torch.Generator
    near = model.generate(cond, text, gen().manual_seed(7), sample_steps=4, strength=0.05)
    free = model.generate(cond, text, gen().manual_seed(7), sample_steps=4)
    change = [np.abs(v[1:].astype(int) - cond).mean() for v in (near, free)]
    assert change[0] < 0.2 * change[1]

    diffusion = GaussianDiffusion(DiffusionConfig(steps=50))
    x0 = torch.rand(2, 3, 3, 8, 8, generator=gen().manual_seed(1)) * 1.6 - 0.8
    out = diffusion.sample(OracleModel(x0, diffusion), torch.zeros(2, 3, 8, 8), torch.zeros(2, 384),
                           gen().manual_seed(0), sample_steps=5, strength=0.6)
    torch.testing.assert_close(out, x0, atol=1e-4, rtol=0)


@pytest.mark.parametrize("eta,steps", [(0.0, 5), (1.0, 5), (1.0, 50)])
def test_samplers_recover_the_data_with_a_perfect_denoiser(eta, steps):
    diffusion = GaussianDiffusion(DiffusionConfig(steps=50))
    x0 = torch.rand(2, 3, 3, 8, 8, generator=torch.Generator().manual_seed(1)) * 1.6 - 0.8
    model = OracleModel(x0, diffusion)
    out = diffusion.sample(model, torch.zeros(2, 3, 8, 8), torch.zeros(2, 384),
                           torch.Generator().manual_seed(0), sample_steps=steps, eta=eta)
    torch.testing.assert_close(out, x0, atol=1e-4, rtol=0)


def test_residual_target_diffuses_the_change_from_the_condition_frame():
    diffusion = GaussianDiffusion(DiffusionConfig(steps=50, target="residual"))
    gen = torch.Generator().manual_seed(1)
    cond = torch.rand(2, 3, 8, 8, generator=gen) * 1.6 - 0.8
    future = (cond[:, :, None] + torch.rand(2, 3, 3, 8, 8, generator=gen) * 0.2 - 0.1).clamp(-1, 1)
    residual = (future - cond[:, :, None]) / 2
    model = OracleModel(residual, diffusion)  # denoises the residual, not the frames
    out = diffusion.sample(model, cond, torch.zeros(2, 384), torch.Generator().manual_seed(0), sample_steps=5)
    torch.testing.assert_close(out, future, atol=1e-4, rtol=0)
    keep = torch.ones(2, dtype=torch.bool)
    assert diffusion.loss(model, future, cond, torch.zeros(2, 384), keep, torch.Generator()).item() < 1e-8
    frames_model = GaussianDiffusion(DiffusionConfig(steps=50))
    assert frames_model.loss(model, future, cond, torch.zeros(2, 384), keep, torch.Generator()).item() > 1e-3


def test_loss_is_zero_for_a_perfect_denoiser_and_min_snr_weighted_otherwise():
    diffusion = GaussianDiffusion(DiffusionConfig(steps=50, min_snr_gamma=5.0))
    x0 = torch.rand(4, 3, 3, 8, 8, generator=torch.Generator().manual_seed(1)) * 2 - 1
    cond, text, keep = torch.zeros(4, 3, 8, 8), torch.zeros(4, 384), torch.ones(4, dtype=torch.bool)
    oracle = diffusion.loss(OracleModel(x0, diffusion), x0, cond, text, keep, torch.Generator().manual_seed(3))
    assert oracle.item() < 1e-8

    zero = OracleModel(x0, diffusion)
    zero.forward = lambda x_t, *args: torch.zeros_like(x_t)
    got = diffusion.loss(zero, x0, cond, text, keep, torch.Generator().manual_seed(3))
    gen = torch.Generator().manual_seed(3)  # the same draws, by hand
    t = torch.randint(0, 50, (4,), generator=gen)
    noise = torch.randn(x0.shape, generator=gen)
    ab = diffusion.alphas_cumprod[t].float().view(-1, 1, 1, 1, 1)
    v = ab.sqrt() * noise - (1 - ab).sqrt() * x0
    snr = (ab / (1 - ab)).flatten()
    expected = ((v ** 2).mean(dim=(1, 2, 3, 4)) * snr.clamp(max=5.0) / (snr + 1)).mean()
    assert got.item() == pytest.approx(expected.item(), rel=1e-5)


def test_ddim_with_a_fixed_generator_is_deterministic():
    model = _random_card_model()
    cond = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    text = np.random.default_rng(1).normal(size=384).astype(np.float32)
    a = model.generate(cond, text, torch.Generator().manual_seed(7), sample_steps=4)
    b = model.generate(cond, text, torch.Generator().manual_seed(7), sample_steps=4)
    c = model.generate(cond, text, torch.Generator().manual_seed(8), sample_steps=4)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a.astype(int) - c).mean() > 1.0
    assert a.shape == (4, 16, 16, 3)
    np.testing.assert_array_equal(a[0], cond)


def test_guidance_changes_the_output():
    model = _random_card_model()
    cond = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    text = np.random.default_rng(1).normal(size=384).astype(np.float32)
    plain = model.generate(cond, text, torch.Generator().manual_seed(7), 4, guidance_scale=1.0)
    guided = model.generate(cond, text, torch.Generator().manual_seed(7), 4, guidance_scale=4.0)
    assert np.abs(plain.astype(int) - guided).mean() > 1.0


def test_checkpoint_round_trip_reproduces_weights_and_samples(tmp_path):
    model = _random_card_model()
    path = model.save(tmp_path / "model.safetensors")
    loaded = VideoDiffusionModel.load(path)
    assert loaded.card == model.card
    for key, value in model.unet.state_dict().items():
        torch.testing.assert_close(loaded.unet.state_dict()[key], value, atol=0, rtol=0)
    cond = np.full((16, 16, 3), 100, np.uint8)
    text = np.ones(384, np.float32)
    np.testing.assert_array_equal(model.generate(cond, text, torch.Generator().manual_seed(0), 3),
                                  loaded.generate(cond, text, torch.Generator().manual_seed(0), 3))


def test_architecture_mismatch_is_named_key_by_key(tmp_path):
    small = _random_card_model()
    wider = small.card.model_copy(update={"unet": small.card.unet.model_copy(update={"base_width": 16})})
    path = save_tensors(tmp_path / "model.safetensors", small.unet.state_dict(), wider.model_dump(mode="json"))
    with pytest.raises(SpecError) as error:
        VideoDiffusionModel.load(path)
    assert "stem.weight: checkpoint (8, 6, 1, 3, 3) != model (16, 6, 1, 3, 3)" in str(error.value)


def test_invalid_checkpoint_config_names_the_key(tmp_path):
    model = _random_card_model()
    config = model.card.model_dump(mode="json")
    config["unet"]["widht"] = 3
    path = save_tensors(tmp_path / "model.safetensors", model.unet.state_dict(), config)
    with pytest.raises(SpecError, match="unet.widht: Extra inputs are not permitted"):
        VideoDiffusionModel.load(path)


def test_weights_and_config_from_different_saves_are_detected(tmp_path):
    path = _random_card_model().save(tmp_path / "model.safetensors")
    config = json.loads(path.with_suffix(".json").read_text())
    config["step"] = 99
    path.with_suffix(".json").write_text(json.dumps(config))
    with pytest.raises(InputDataError, match="different saves"):
        load_tensors(path)


def test_one_flipped_byte_in_the_weights_is_detected(tmp_path):
    path = _random_card_model().save(tmp_path / "model.safetensors")
    data = bytearray(path.read_bytes())
    data[-100] ^= 0x01  # inside the last tensor's bytes, past the header
    path.write_bytes(bytes(data))
    with pytest.raises(InputDataError, match="damaged"):
        VideoDiffusionModel.load(path)


def test_tensor_hash_sees_names_dtypes_shapes_and_values():
    base = {"a": torch.zeros(2, 3), "b": torch.tensor(1.5)}
    digest = tensors_sha256(base)
    assert tensors_sha256({"a": torch.zeros(2, 3), "b": torch.tensor(1.5)}) == digest
    for changed in ({"a": torch.zeros(3, 2), "b": torch.tensor(1.5)},
                    {"a": torch.zeros(2, 3, dtype=torch.float64), "b": torch.tensor(1.5)},
                    {"c": torch.zeros(2, 3), "b": torch.tensor(1.5)},
                    {"a": torch.zeros(2, 3), "b": torch.tensor(1.25)}):
        assert tensors_sha256(changed) != digest


def test_missing_checkpoint_says_how_to_get_one(tmp_path):
    with pytest.raises(MissingResourceError, match="model.safetensors.*avdc train"):
        VideoDiffusionModel.load(tmp_path / "model.safetensors")
    _random_card_model().save(tmp_path / "model.safetensors")
    (tmp_path / "model.json").unlink()
    with pytest.raises(MissingResourceError, match="model.json"):
        VideoDiffusionModel.load(tmp_path / "model.safetensors")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return str(_random_card_model().save(tmp_path_factory.mktemp("ckpt") / "model.safetensors"))


@pytest.fixture(scope="module")
def minilm():
    return MiniLmEncoder(MiniLmEncoder.Config(), BuildContext())


class TestUnetDiffusionGenerator(VideoGeneratorContract):
    @pytest.fixture(autouse=True)
    def _setup(self, checkpoint, minilm):
        self.checkpoint, self.minilm = checkpoint, minilm

    def make_component(self, **params) -> UnetDiffusionGenerator:
        config = UnetDiffusionGenerator.Config(checkpoint=self.checkpoint, sample_steps=3, **params)
        return UnetDiffusionGenerator(config, BuildContext(text_encoder=self.minilm))

    def test_video_has_the_models_frames_at_the_observation_size(self):
        observation = flat_observation(height=48, width=64)
        video = self.make_component().generate(observation, "push the block", seed=0)
        assert video.frames.shape == (4, 48, 64, 3)

    def test_ancestral_and_ddim_samplers_differ(self):
        observation = flat_observation()
        ddim = self.make_component().generate(observation, "push the block").frames
        ancestral = self.make_component(sampler="ancestral").generate(observation, "push the block").frames
        assert np.abs(ddim[1:].astype(int) - ancestral[1:]).mean() > 1.0

    def test_builds_the_checkpoints_text_encoder_without_a_pipeline_one(self):
        generator = UnetDiffusionGenerator(
            UnetDiffusionGenerator.Config(checkpoint=self.checkpoint, sample_steps=2), BuildContext())
        assert generator.text_encoder.name == "minilm"
        assert generator.generate_rgb(flat_observation().rgb, "open the door").shape == (4, 48, 64, 3)

    def test_a_different_pipeline_text_encoder_is_refused(self):
        class OtherEncoder(MiniLmEncoder):
            name = "other"

        other = object.__new__(OtherEncoder)
        with pytest.raises(SpecError, match="trained with 'minilm'"):
            UnetDiffusionGenerator(UnetDiffusionGenerator.Config(checkpoint=self.checkpoint),
                                   BuildContext(text_encoder=other))

    @pytest.mark.parametrize("image,message", [
        (np.zeros((48, 64), np.uint8), r"\(48, 64\).*expected \(H, W, 3\)"),
        (np.zeros((48, 64, 4), np.uint8), r"\(48, 64, 4\)"),
        (np.zeros((48, 64, 3), np.float32), "float32"),
        (np.zeros((8, 64, 3), np.uint8), "at least 16 px"),
    ])
    def test_bad_images_are_refused(self, image, message):
        with pytest.raises(InputDataError, match=message):
            self.make_component().generate_rgb(image, "push the block")

    def test_empty_text_is_refused(self):
        with pytest.raises(InputDataError, match="describe the task"):
            self.make_component().generate_rgb(flat_observation().rgb, "  ")

    def test_more_sample_steps_than_diffusion_steps_is_refused(self):
        with pytest.raises(SpecError, match="sample_steps is 80.*1..50"):
            self.make_component().__class__(
                UnetDiffusionGenerator.Config(checkpoint=self.checkpoint, sample_steps=80),
                BuildContext(text_encoder=self.minilm))


def test_unet_variants_share_one_checkpoint_format(tmp_path):
    card = ModelCard(unet=UNET.model_copy(update={"conv": "3d"}), diffusion=DiffusionConfig(steps=10),
                     text_encoder=ComponentSpec(plugin="minilm"))
    path = VideoDiffusionModel.from_card(card).save(tmp_path / "m.safetensors")
    loaded = VideoDiffusionModel.load(path)
    assert loaded.card.unet.conv == "3d" and isinstance(loaded.unet, VideoUNet)
