"""Checkpoints: safetensors weights + a JSON config beside them, both written atomically.

``<name>.safetensors`` holds the tensors and, in its metadata, the SHA-256 of the JSON written
with it and of the tensors themselves; ``<name>.json`` holds the config. A pair from two different
saves (a crash between the two renames) and a damaged weight (one flipped byte) are detected on
load. Nothing is unpickled.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from einops import rearrange
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from avdc_core import InputDataError, MissingResourceError, SpecError
from avdc_core.readers import weights_error
from avdc_core.spec import ComponentSpec, format_validation_error

from .diffusion import DiffusionConfig, GaussianDiffusion
from .unet import UNetConfig, VideoUNet

FORMAT = "avdc-video-diffusion/1"
TARGETS = {"frames": "the future frames", "residual": "each future frame's difference from the condition frame"}
"""What the model card says each ``DiffusionConfig.target`` diffuses."""
HOW_TO_GET = ("train one with `avdc train CONFIG.yaml` (it writes <out_dir>/model.safetensors and "
              "model.json); pretrained weights cannot be downloaded here")


class TrainingData(BaseModel):
    """What a model was trained on: how many episodes, and the simulator seeds of those that
    record one (``avdc collect`` writes ``info.json``), by ``task/camera`` (e.g. ``door-close/corner``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    episodes: int = Field(default=0, ge=0)
    seeds: dict[str, list[int]] = Field(default_factory=dict)


class ModelCard(BaseModel):
    """The JSON config of a generator checkpoint: everything needed to rebuild and run it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["avdc-video-diffusion/1"] = FORMAT
    unet: UNetConfig
    diffusion: DiffusionConfig
    text_encoder: ComponentSpec = Field(description="the text encoder the model was trained with")
    step: int = Field(default=0, ge=0, description="optimizer steps trained")
    tasks: list[str] = Field(default_factory=list, description="task texts seen in training")
    data: TrainingData = Field(default_factory=TrainingData, description="the training episodes")
    train_seconds: float = Field(default=0.0, ge=0, description="wall time of training, all sittings")
    training: dict[str, Any] = Field(default_factory=dict, description="the run's optimiser, precision, "
                                     "seed and text dropout (a record; not needed to run the model)")


def _atomic_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def json_path(weights: Path) -> Path:
    """The JSON config that belongs to a ``.safetensors`` file."""
    return weights.with_suffix(".json")


def save_tensors(path: str | Path, tensors: dict[str, torch.Tensor], config: dict[str, Any]) -> Path:
    """Write ``path`` (.safetensors) and its ``.json`` config atomically; returns ``path``."""
    from safetensors.torch import save

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(config, indent=2, sort_keys=True)
    digest = hashlib.sha256(text.encode()).hexdigest()
    cpu = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    _atomic_bytes(path, save(cpu, metadata={"config_sha256": digest, "tensors_sha256": tensors_sha256(cpu)}))
    _atomic_bytes(json_path(path), text.encode())
    return path


def tensors_sha256(tensors: dict[str, torch.Tensor]) -> str:
    """SHA-256 over every tensor's name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256()
    for key in sorted(tensors):
        value = tensors[key].contiguous()
        digest.update(f"{key}|{value.dtype}|{tuple(value.shape)}|".encode())
        digest.update(value.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def require_checkpoint_files(path: Path) -> None:
    """Raise ``MissingResourceError`` unless the weights file and its JSON both exist."""
    for required in (path, json_path(path)):
        if not required.is_file():
            raise MissingResourceError(f"checkpoint file {str(required)!r} does not exist; {HOW_TO_GET}")


def load_tensors(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read a pair written by :func:`save_tensors`; raises if either is missing or they differ."""
    from safetensors import safe_open

    path = Path(path)
    require_checkpoint_files(path)
    text = json_path(path).read_text()
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}
        config = json.loads(text)
    except Exception as error:  # safetensors raises its own SafetensorError for a damaged file
        raise InputDataError(f"checkpoint {str(path)!r} (or its JSON) is unreadable: "
                             f"{weights_error(error)}; a checkpoint is a safetensors file and its JSON "
                             "written together by avdc train or avdc export") from error
    if metadata.get("config_sha256") != hashlib.sha256(text.encode()).hexdigest():
        raise InputDataError(f"checkpoint {str(path)!r} and {str(json_path(path))!r} come from different "
                             "saves (config hash mismatch); use a pair written together")
    stored = metadata.get("tensors_sha256")  # absent in checkpoints written before it was added
    if stored is not None and stored != tensors_sha256(tensors):
        raise InputDataError(f"checkpoint {str(path)!r} is damaged: its tensors do not match the hash "
                             "saved with them; re-export or re-train it")
    return tensors, config


def config_differences(expected: dict[str, Any], found: dict[str, Any], prefix: str = "") -> list[str]:
    """Key-by-key differences between two nested configs: ``unet.base_width: 64 != 32``."""
    lines = []
    for key in sorted(set(expected) | set(found)):
        where = f"{prefix}{key}"
        a, b = expected.get(key, "<absent>"), found.get(key, "<absent>")
        if isinstance(a, dict) and isinstance(b, dict):
            lines += config_differences(a, b, where + ".")
        elif a != b:
            lines.append(f"{where}: {a!r} != {b!r}")
    return lines


def load_state_strict(module: torch.nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """Load ``state`` into ``module``; a missing, unexpected or misshaped key is named in the error."""
    own = module.state_dict()
    problems = [f"missing {k} {tuple(v.shape)}" for k, v in own.items() if k not in state]
    problems += [f"unexpected {k} {tuple(v.shape)}" for k, v in state.items() if k not in own]
    problems += [f"{k}: checkpoint {tuple(state[k].shape)} != model {tuple(v.shape)}"
                 for k, v in own.items() if k in state and state[k].shape != v.shape]
    if problems:
        shown = "\n  ".join(problems[:20]) + (f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else "")
        raise SpecError(f"checkpoint {source} does not fit the architecture in its config:\n  {shown}")
    module.load_state_dict(state)


def _card_from(config: dict[str, Any], path: Path) -> ModelCard:
    try:
        return ModelCard.model_validate(config)
    except ValidationError as error:
        raise SpecError(f"checkpoint config {str(json_path(path))!r} is invalid:\n"
                        f"{format_validation_error(error, '')}") from error


def read_card(path: str | Path) -> ModelCard:
    """The card of checkpoint ``path`` (its ``.json``), without reading the weights."""
    path = Path(path)
    require_checkpoint_files(path)
    try:
        config = json.loads(json_path(path).read_text())
    except (OSError, ValueError) as error:
        raise InputDataError(f"checkpoint config {str(json_path(path))!r} is unreadable: {error}") from error
    return _card_from(config, path)


@dataclass
class VideoDiffusionModel:
    """A U-Net, its diffusion process and its card: load, save, sample."""

    card: ModelCard
    unet: VideoUNet
    diffusion: GaussianDiffusion

    @classmethod
    def from_card(cls, card: ModelCard) -> VideoDiffusionModel:
        return cls(card, VideoUNet(card.unet), GaussianDiffusion(card.diffusion))

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu") -> VideoDiffusionModel:
        """Load a generator checkpoint (``model.safetensors`` + ``model.json``)."""
        tensors, config = load_tensors(path)
        model = cls.from_card(_card_from(config, Path(path)))
        load_state_strict(model.unet, tensors, repr(str(path)))
        model.unet.to(device).eval()
        return model

    def save(self, path: str | Path, dtype: torch.dtype | None = None) -> Path:
        """Write the weights (cast to ``dtype``, e.g. ``torch.float16`` to halve the file; they
        load back into the float32 model) and the card."""
        state = self.unet.state_dict()
        if dtype is not None:
            state = {k: v.to(dtype) if v.is_floating_point() else v for k, v in state.items()}
        return save_tensors(path, state, self.card.model_dump(mode="json"))

    def generate(self, rgb: np.ndarray, text_embedding: np.ndarray, generator: torch.Generator,
                 sample_steps: int = 10, eta: float = 0.0, guidance_scale: float = 1.0,
                 strength: float = 1.0) -> np.ndarray:
        """Frames ``[F, H, W, 3]`` uint8 at the model's resolution; frame 0 is ``rgb``
        (``strength``: :meth:`GaussianDiffusion.sample`)."""
        expected = (*self.card.unet.image_size, self.card.unet.channels)
        if rgb.shape != expected or rgb.dtype != np.uint8:
            raise InputDataError(f"condition image has shape {rgb.shape} ({rgb.dtype}); expected {expected} uint8")
        if text_embedding.shape != (self.card.unet.text_dim,):
            raise InputDataError(f"text embedding has shape {text_embedding.shape}; "
                                 f"expected ({self.card.unet.text_dim},) from {self.card.text_encoder.plugin}")
        device = next(self.unet.parameters()).device
        cond = torch.from_numpy(rgb).to(device).permute(2, 0, 1)[None].float() / 127.5 - 1
        text = torch.from_numpy(np.asarray(text_embedding, np.float32)).to(device)[None]
        future = self.diffusion.sample(self.unet, cond, text, generator, sample_steps, eta, guidance_scale,
                                       strength=strength)
        frames = ((future[0].clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu()
        return np.concatenate([rgb[None], rearrange(frames, "c f h w -> f h w c").numpy()])


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes (hex)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def export_checkpoint(source: str | Path, target: str | Path, dtype: torch.dtype | None = torch.float16) -> Path:
    """Copy a checkpoint to ``target`` with its weights cast to ``dtype`` (fp16 halves the file)
    and write ``MODEL_CARD.md`` beside it: data, architecture, training, file hash."""
    model = VideoDiffusionModel.load(source)
    target = model.save(target, dtype)
    (target.parent / "MODEL_CARD.md").write_text(model_card_markdown(model.card, target))
    return target


def model_card_markdown(card: ModelCard, weights: Path) -> str:
    """A human-readable card for the checkpoint ``weights`` (written by :func:`export_checkpoint`)."""
    unet, data = card.unet, card.data
    seeds = "\n".join(f"| {cell} | {len(values)} | {min(values)}-{max(values)} |"
                      for cell, values in data.seeds.items()) or "| (not recorded) | | |"
    return f"""# Video model card: `{weights.name}`

Written by `avdc export` from an `avdc train` run; `{json_path(weights).name}` beside it is the
machine-readable card (the architecture, diffusion, text encoder, data and training progress).

## Data
{data.episodes} episodes; task texts: {", ".join(repr(t) for t in card.tasks)}.

| task/camera | episodes | simulator seeds |
|---|---|---|
{seeds}

## Model
U-Net, {unet.conv} convolutions, {unet.image_size[0]}x{unet.image_size[1]} px, {unet.frames} frames
(1 condition + {unet.future_frames} imagined), base width {unet.base_width}, multipliers
{list(unet.multipliers)}, {unet.res_blocks} ResNet blocks per level, attention at the
{unet.attention_levels} lowest levels, text from `{card.text_encoder.plugin}` ({unet.text_dim}-d);
{card.diffusion.steps} diffusion steps, {card.diffusion.schedule} schedule, {card.diffusion.prediction}-prediction,
min-SNR gamma {card.diffusion.min_snr_gamma}; it diffuses {TARGETS[card.diffusion.target]}.

## Training
{card.step} optimizer steps in {card.train_seconds / 60:.1f} minutes of wall time (all sittings).

```json
{json.dumps(card.training, indent=2, sort_keys=True)}
```

## File
`{weights.name}`: {weights.stat().st_size / 2 ** 20:.1f} MiB, SHA-256 `{file_sha256(weights)}`.
"""
