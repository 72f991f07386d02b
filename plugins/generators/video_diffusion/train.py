"""Train the video diffusion model on AVDC-layout videos with HuggingFace accelerate.

The same call runs on one CPU (a smoke test) and, under ``accelerate launch``, on many GPUs or
nodes: mixed precision where the device has it, gradient accumulation, EMA weights, atomic
safetensors checkpoints, ``resume``, a tqdm bar (loss, it/s), sample GIFs and TensorBoard logs.

Randomness is a function of ``(seed, step, micro-batch, process)``: which clips a batch holds,
their crops, timesteps, noise and text dropout are drawn from generators seeded with that tuple.
Resuming from step ``s`` therefore continues exactly where an uninterrupted run would be.

Output folder::

    model.safetensors + model.json          EMA weights and config: what `avdc generate` loads
    train_state.safetensors + .json         raw + EMA weights, optimizer, step: for --resume
    samples/step-000100.gif                 top row: the clip; bottom row: the EMA model's sample
    tensorboard/                            loss, learning rate, sample PSNR
"""

from __future__ import annotations

import math
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from einops import rearrange
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from avdc_core import BuildContext, SpecError, TextEncoder
from avdc_core.datasets import ClipSampling, VideoClipDataset, recorded_seeds
from avdc_core.spec import ComponentSpec, format_validation_error, read_yaml, validate_mapping

from .checkpoint import (
    ModelCard,
    TrainingData,
    VideoDiffusionModel,
    config_differences,
    load_state_strict,
    load_tensors,
    save_tensors,
)
from .diffusion import DiffusionConfig
from .media import write_sample_gif
from .unet import UNetConfig


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataConfig(_Strict):
    root: Path = Field(description="folder holding (or being) metaworld_dataset / thor_dataset")
    clips: ClipSampling = Field(default="span", description="span: first, last and evenly spaced frames of "
                                "an episode; window: consecutive frames from a random start (navigation)")
    random_crop_scale: float = Field(default=1.0, gt=0, le=1, description="1 = no crop augmentation")
    horizontal_flip: bool = Field(default=False, description="mirror half the clips left-right (navigation; "
                                  "not for a one-handed arm)")
    cache: bool = Field(default=False, description="keep decoded clips in memory (small datasets)")
    workers: int = Field(default=0, ge=0, description="DataLoader worker processes")


class OptimConfig(_Strict):
    steps: int = Field(default=60000, ge=1, description="optimizer steps in total")
    batch_size: int = Field(default=16, ge=1, description="clips per micro-batch per process")
    grad_accum: int = Field(default=1, ge=1, description="micro-batches per optimizer step")
    lr: float = Field(default=1e-4, gt=0)
    warmup_steps: int = Field(default=0, ge=0)
    weight_decay: float = Field(default=0.0, ge=0)
    grad_clip: float = Field(default=1.0, gt=0)
    ema_decay: float = Field(default=0.999, ge=0, lt=1)


class TrainConfig(_Strict):
    """A training run (YAML). Relative paths resolve against the YAML file's folder."""

    out_dir: Path
    data: DataConfig
    model: UNetConfig = UNetConfig()
    diffusion: DiffusionConfig = DiffusionConfig()
    text_encoder: ComponentSpec = ComponentSpec(plugin="minilm")
    text_dropout: float = Field(default=0.1, ge=0, le=1, description="chance a clip's text is dropped (CFG)")
    optim: OptimConfig = OptimConfig()
    mixed_precision: Literal["auto", "no", "fp16", "bf16"] = Field(
        default="auto", description="auto: fp16 on CUDA, full precision elsewhere")
    cpu: bool = Field(default=False, description="train on CPU even if a GPU is present")
    seed: int = 0
    log_every: int = Field(default=10, ge=1)
    sample_every: int = Field(default=1000, ge=0, description="0 = no sample GIFs")
    save_every: int = Field(default=1000, ge=1)
    sample_steps: int = Field(default=10, ge=1)


def load_train_config(path: str | Path) -> TrainConfig:
    """Read a training YAML (safe_load); errors name the key, the value and what is valid."""
    path = Path(path)
    config = validate_mapping(read_yaml(path), TrainConfig, str(path), "training config")
    base = path.resolve().parent
    return config.model_copy(update={
        "out_dir": base / config.out_dir,
        "data": config.data.model_copy(update={"root": base / config.data.root}),
    })


def _seed(*parts: int) -> int:
    return int(np.random.default_rng(list(parts)).integers(2 ** 62))


class StepBatches:
    """Batch sampler: the clips (and crop seeds) of every micro-batch from ``start_step`` on."""

    def __init__(self, size: int, config: TrainConfig, start_step: int, rank: int) -> None:
        self.size, self.config, self.start_step, self.rank = size, config, start_step, rank

    def __iter__(self):
        o = self.config.optim
        for step in range(self.start_step, o.steps):
            for micro in range(o.grad_accum):
                rng = np.random.default_rng([self.config.seed, step, micro, self.rank])
                yield [(int(i), int(s)) for i, s in zip(rng.integers(0, self.size, o.batch_size),
                                                       rng.integers(0, 2 ** 31, o.batch_size), strict=True)]


def build_text_encoder(spec: ComponentSpec, context: BuildContext) -> TextEncoder:
    """The text encoder a config names, looked up among the installed plugins."""
    from avdc_core.registry import Registry

    info = Registry.discover().get("text_encoder", spec.plugin, where="text_encoder.plugin")
    try:
        params = info.component.Config.model_validate(spec.params)
    except ValidationError as error:
        raise SpecError(f"invalid parameters for {info.address}\n"
                        f"{format_validation_error(error, 'text_encoder.params')}") from error
    return info.component(params, context)


def _card(config: TrainConfig, text_dim: int, dataset: VideoClipDataset) -> ModelCard:
    if "text_dim" in config.model.model_fields_set and config.model.text_dim != text_dim:
        raise SpecError(f"model.text_dim is {config.model.text_dim} but text encoder "
                        f"{config.text_encoder.plugin!r} gives {text_dim}-d embeddings; drop model.text_dim "
                        "or set it to the encoder's width")
    unet = config.model.model_copy(update={"text_dim": text_dim})
    data = TrainingData(episodes=len(dataset), seeds=recorded_seeds(dataset.episodes))
    training = config.model_dump(mode="json", include={"optim", "mixed_precision", "seed", "text_dropout"})
    return ModelCard(unet=unet, diffusion=config.diffusion, text_encoder=config.text_encoder,
                     tasks=dataset.tasks, data=data, training=training)


def init_model(card: ModelCard, seed: int) -> VideoDiffusionModel:
    """A freshly initialised model; ``seed`` fixes its weights (the global RNG is left alone)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return VideoDiffusionModel.from_card(card)


def to_model_range(frames: torch.Tensor) -> torch.Tensor:
    """uint8 ``[B, F, H, W, C]`` → float ``[B, C, F, H, W]`` in [-1, 1]."""
    return rearrange(frames.float() / 127.5 - 1, "b f h w c -> b c f h w")


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio (dB) between uint8 arrays."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * math.log10(255 ** 2 / max(mse, 1e-10))


@dataclass
class TrainResult:
    """What a run did: its last step, the loss and the wall time (seconds, data loading
    included) of every optimizer step it ran, where it wrote."""

    step: int
    losses: list[float] = field(default_factory=list)
    step_seconds: list[float] = field(default_factory=list)
    out_dir: Path = Path(".")
    interrupted: bool = False

    @property
    def model_path(self) -> Path:
        return self.out_dir / "model.safetensors"


def _save(out: Path, model: VideoDiffusionModel, raw: torch.nn.Module, ema, optimizer, config: TrainConfig) -> None:
    model.save(out / "model.safetensors")
    tensors = {f"model.{k}": v for k, v in raw.state_dict().items()}
    tensors.update({f"ema.{k}": v for k, v in ema.state_dict().items()})
    optim = optimizer.state_dict()
    for index, slots in optim["state"].items():
        tensors.update({f"optim.{index}.{k}": torch.as_tensor(v) for k, v in slots.items()})
    save_tensors(out / "train_state.safetensors", tensors, {
        "card": model.card.model_dump(mode="json"),
        "train": config.model_dump(mode="json", include={"model", "diffusion", "text_encoder", "seed"}),
        "param_groups": optim["param_groups"],
    })


FREE_ON_RESUME = ("step", "train_seconds", "training")
"""Card fields that may change between sittings (progress, the optimiser's schedule); every other
field must match to resume."""


def _resume(out: Path, card: ModelCard, raw: torch.nn.Module, ema, optimizer,
            config: TrainConfig) -> ModelCard:
    """Load ``out``'s training state; returns the saved card (its step and training time)."""
    tensors, saved = load_tensors(out / "train_state.safetensors")
    now = {"card": card.model_dump(mode="json", exclude=set(FREE_ON_RESUME)),
           "train": config.model_dump(mode="json", include={"model", "diffusion", "text_encoder", "seed"})}
    before = {"card": {k: v for k, v in saved["card"].items() if k not in FREE_ON_RESUME},
              "train": saved["train"]}
    differences = config_differences(before, now)
    if differences:
        raise SpecError(f"cannot resume from {str(out)!r}: the config differs from the checkpoint's "
                        "(checkpoint != config):\n  " + "\n  ".join(differences))
    load_state_strict(raw, {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}, str(out))
    ema.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("ema.")})
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, index, slot = key.split(".", 2)
            state.setdefault(int(index), {})[slot] = value
    optimizer.load_state_dict({"state": state, "param_groups": saved["param_groups"]})
    return ModelCard.model_validate(saved["card"])


class StopRequests:
    """While active, SIGINT and SIGTERM ask the training loop to save a resumable checkpoint and
    stop after the step in progress; a second signal stops at once (``KeyboardInterrupt``).
    Signal handlers can only be set in the main thread; elsewhere nothing is installed."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self) -> StopRequests:
        if threading.current_thread() is threading.main_thread():
            self._previous = {sig: signal.signal(sig, self._handle) for sig in self.SIGNALS}
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def resolved_precision(config: TrainConfig) -> str:
    """The mixed precision a run uses: ``auto`` is fp16 on CUDA and none elsewhere."""
    if config.mixed_precision != "auto":
        return config.mixed_precision
    return "fp16" if torch.cuda.is_available() and not config.cpu else "no"


def train(config: TrainConfig, resume: bool = False, progress: bool = True) -> TrainResult:
    """Run (or, with ``resume``, continue) a training run; returns the losses it logged."""
    with StopRequests() as stop:  # from the start: a signal during set-up stops after the first step
        return _train(config, resume, progress, stop)


def _train(config: TrainConfig, resume: bool, progress: bool, stop: StopRequests) -> TrainResult:
    from accelerate import Accelerator
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
    from tqdm.auto import tqdm

    mixed = resolved_precision(config)
    out = config.out_dir
    try:
        accelerator = Accelerator(mixed_precision=mixed, cpu=config.cpu, log_with="tensorboard",
                                  project_dir=str(out), gradient_accumulation_steps=config.optim.grad_accum)
    except ValueError as error:  # accelerate fixes precision and device once per process
        raise SpecError(f"mixed_precision={mixed!r}, cpu={config.cpu}: {error} (accelerate allows one "
                        "setting per process; train with another setting in a new process)") from error
    accelerator.init_trackers("tensorboard")
    device = accelerator.device
    dataset = VideoClipDataset(config.data.root, config.model.image_size, config.model.frames,
                               config.data.random_crop_scale, config.data.cache, config.data.clips,
                               config.data.horizontal_flip)
    encoder = build_text_encoder(config.text_encoder, BuildContext(device=str(device)))
    card = _card(config, encoder.dim, dataset)
    text_table = torch.from_numpy(encoder.encode(card.tasks)).to(device)
    task_row = {task: i for i, task in enumerate(card.tasks)}

    bundle = init_model(card, config.seed)
    raw = bundle.unet.to(device)
    ema = AveragedModel(raw, multi_avg_fn=get_ema_multi_avg_fn(config.optim.ema_decay))
    ema.module.eval()
    optimizer = torch.optim.AdamW(raw.parameters(), lr=config.optim.lr, weight_decay=config.optim.weight_decay)
    if resume:
        saved = _resume(out, card, raw, ema, optimizer, config)
        card = card.model_copy(update={"step": saved.step, "train_seconds": saved.train_seconds})
    step, trained_before, started = card.step, card.train_seconds, time.monotonic()
    model, optimizer = accelerator.prepare(raw, optimizer)
    loader = torch.utils.data.DataLoader(
        dataset, batch_sampler=StepBatches(len(dataset), config, step, accelerator.process_index),
        num_workers=config.data.workers)
    result = TrainResult(step=step, out_dir=out)
    bar = tqdm(total=config.optim.steps, initial=step, desc="train", unit="step",
               disable=not progress or not accelerator.is_main_process)
    micro, running, tick = 0, 0.0, time.monotonic()
    model.train()
    for frames, texts in loader:
        generator = torch.Generator(device).manual_seed(
            _seed(config.seed, step, micro, accelerator.process_index))
        x = to_model_range(frames.to(device))
        text = text_table[torch.tensor([task_row[t] for t in texts], device=device)]
        keep = torch.rand(len(texts), generator=generator, device=device) >= config.text_dropout
        with accelerator.accumulate(model):
            loss = bundle.diffusion.loss(model, x[:, :, 1:], x[:, :, 0], text, keep, generator)
            accelerator.backward(loss)
            if accelerator.sync_gradients:
                accelerator.clip_grad_norm_(model.parameters(), config.optim.grad_clip)
                for group in optimizer.param_groups:
                    group["lr"] = config.optim.lr * min(1.0, (step + 1) / max(1, config.optim.warmup_steps))
            optimizer.step()
            optimizer.zero_grad()
        running += loss.detach() / config.optim.grad_accum
        micro += 1
        if micro < config.optim.grad_accum:
            continue
        ema.update_parameters(accelerator.unwrap_model(model))
        step += 1
        # the loss and any stop request, agreed by every process so that all stop together
        requested = torch.tensor(float(stop.requested), device=device)
        stats = accelerator.gather(torch.stack([running.float(), requested])[None])
        value, stopping = stats[:, 0].mean().item(), bool(stats[:, 1].max().item())
        micro, running = 0, 0.0
        result.losses.append(value)
        result.step_seconds.append(time.monotonic() - tick)
        tick = time.monotonic()
        bar.update(1)
        bar.set_postfix(loss=f"{value:.4f}")
        if step % config.log_every == 0:
            accelerator.log({"loss": value, "lr": optimizer.param_groups[0]["lr"]}, step=step)
        last = step == config.optim.steps
        save = step % config.save_every == 0 or last or stopping
        draw_sample = config.sample_every and (step % config.sample_every == 0 or last)
        if accelerator.is_main_process and (save or draw_sample):
            progress_now = {"step": step, "train_seconds": trained_before + time.monotonic() - started}
            snapshot = VideoDiffusionModel(card.model_copy(update=progress_now), ema.module, bundle.diffusion)
            if save:
                _save(out, snapshot, accelerator.unwrap_model(model), ema, optimizer, config)
            if draw_sample:
                clip, task = dataset.clip(0)
                sample = snapshot.generate(clip[0], text_table[task_row[task]].cpu().numpy(),
                                           torch.Generator().manual_seed(config.seed), config.sample_steps)
                write_sample_gif(out / "samples" / f"step-{step:06d}.gif", clip, sample)
                accelerator.log({"sample_psnr": psnr(sample[1:], clip[1:])}, step=step)
        if stopping:
            result.interrupted = True
            break
    bar.close()
    accelerator.wait_for_everyone()
    accelerator.end_training()
    result.step = step
    return result
