"""``segmenter/sam``: Segment Anything (the ``segment-anything`` package) with point/box prompts.

Prompts come from the spec (``params.points``, ``params.point_labels``, ``params.box``) or, taking
precedence when any is present, from the target's hints under the same keys — ``avdc segment
--point/--box`` uses that path. Points are ``(u, v)`` pixels with labels 1 (object, the default)
or 0 (background); the box is ``(x0, y0, x1, y1)`` pixels. SAM returns three candidate masks for
an ambiguous prompt; the one with the highest predicted IoU is kept, then post-processed
(:mod:`avdc_core.masks`).

Weights are never downloaded: ``params.checkpoint`` names a local file (the official ``.pth``
or a ``.safetensors`` state dict), loaded with ``weights_only=True``.

For tests, ``model_type: tiny-test`` is a ~0.2 M-parameter SAM of the same architecture (no
official weights exist for it); :func:`build_sam_model` makes one with seeded random weights that
a test saves with ``torch.save(model.state_dict(), path)`` and loads through the real path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from avdc_core import (
    BuildContext,
    ComponentConfig,
    InputDataError,
    Mask,
    MissingResourceError,
    Observation,
    Segmenter,
    SegmentTarget,
    SpecError,
    hookimpl,
)
from avdc_core.masks import MaskPostprocess, postprocess_mask
from avdc_core.readers import weights_error

DOWNLOAD_PAGE = "https://github.com/facebookresearch/segment-anything#model-checkpoints"
OFFICIAL_CHECKPOINTS = {
    "vit_b": "sam_vit_b_01ec64.pth",
    "vit_l": "sam_vit_l_0b3195.pth",
    "vit_h": "sam_vit_h_4b8939.pth",
}
"""The official checkpoint file of each model type (from ``DOWNLOAD_PAGE``)."""

ModelType = Literal["vit_b", "vit_l", "vit_h", "tiny-test"]


class SamPrompts(BaseModel):
    """Point and box prompts in pixels of the observed image."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    points: list[tuple[float, float]] = Field(
        default_factory=list, description="(u, v) pixel prompts")
    point_labels: list[Literal[0, 1]] | None = Field(
        default=None, description="1 = object, 0 = background, one per point; all 1 if omitted")
    box: tuple[float, float, float, float] | None = Field(
        default=None, description="(x0, y0, x1, y1) pixel box around the object")

    @model_validator(mode="after")
    def _consistent(self) -> SamPrompts:
        if self.point_labels is not None and len(self.point_labels) != len(self.points):
            raise ValueError(f"point_labels has {len(self.point_labels)} entries but points has "
                             f"{len(self.points)}; give one label per point")
        if self.box is not None and not (self.box[0] < self.box[2] and self.box[1] < self.box[3]):
            raise ValueError(f"box {self.box} must be (x0, y0, x1, y1) with x0 < x1 and y0 < y1")
        return self

    @property
    def empty(self) -> bool:
        return not self.points and self.box is None

    def check_inside(self, width: int, height: int, where: str) -> None:
        """Raise :class:`InputDataError` naming the first prompt outside a ``width x height`` image."""
        size = f"the {width}x{height} image (u in [0, {width - 1}], v in [0, {height - 1}])"
        for index, (u, v) in enumerate(self.points):
            if not (0 <= u <= width - 1 and 0 <= v <= height - 1):
                raise InputDataError(f"segmenter/sam: point prompt #{index} ({u:g}, {v:g}) from "
                                     f"{where} is outside {size}")
        if self.box is not None:
            x0, y0, x1, y1 = self.box
            if not (0 <= x0 and x1 <= width - 1 and 0 <= y0 and y1 <= height - 1):
                raise InputDataError(f"segmenter/sam: box prompt ({x0:g}, {y0:g}, {x1:g}, {y1:g}) "
                                     f"from {where} is outside {size}")


PROMPT_KEYS = tuple(SamPrompts.model_fields)
"""Hint keys read as prompts: ``points``, ``point_labels``, ``box``."""


def build_sam_model(model_type: str, checkpoint: Path | None = None, seed: int = 0) -> Any:
    """The ``segment_anything`` ``Sam`` network of ``model_type`` in eval mode, on the CPU.

    Weights come from ``checkpoint`` (a state dict: ``.pth`` or ``.safetensors``); without one
    they are random, drawn from a generator seeded with ``seed`` (the global torch RNG is left as
    it was) — meaningful only for tests.
    """
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = _tiny_sam() if model_type == "tiny-test" else _official_sam(model_type)
    if checkpoint is not None:
        try:
            model.load_state_dict(_read_state_dict(checkpoint))
        except Exception as error:  # torch, safetensors and pickle raise many kinds
            raise InputDataError(f"segmenter/sam: checkpoint {str(checkpoint)!r} is not a {model_type} "
                                 f"SAM state dict: {weights_error(error)}") from error
    return model.eval()


def _official_sam(model_type: str) -> Any:
    from segment_anything import sam_model_registry

    return sam_model_registry[model_type](checkpoint=None)


def _tiny_sam() -> Any:
    from functools import partial

    import torch
    from segment_anything.modeling import (
        ImageEncoderViT,
        MaskDecoder,
        PromptEncoder,
        Sam,
        TwoWayTransformer,
    )

    image_size, patch, dim = 256, 16, 32
    return Sam(
        image_encoder=ImageEncoderViT(
            img_size=image_size, patch_size=patch, embed_dim=64, depth=2, num_heads=2, out_chans=dim,
            use_rel_pos=True, window_size=4, global_attn_indexes=(1,),
            norm_layer=partial(torch.nn.LayerNorm, eps=1e-6)),
        prompt_encoder=PromptEncoder(
            embed_dim=dim, image_embedding_size=(image_size // patch, image_size // patch),
            input_image_size=(image_size, image_size), mask_in_chans=4),
        mask_decoder=MaskDecoder(
            num_multimask_outputs=3, transformer_dim=dim, iou_head_depth=3, iou_head_hidden_dim=32,
            transformer=TwoWayTransformer(depth=2, embedding_dim=dim, mlp_dim=64, num_heads=2)),
    )


def _read_state_dict(path: Path) -> dict[str, Any]:
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    import torch

    with path.open("rb") as handle:
        state = torch.load(handle, map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        raise ValueError(f"expected a state dict, found a {type(state).__name__}")
    return state


class SamSegmenter(Segmenter):
    """Segment Anything with point/box prompts; keeps the candidate with the best predicted IoU."""

    name = "sam"
    accepts_prompts: ClassVar[bool] = True
    """``avdc segment`` passes ``--point/--box`` only to segmenters that set this."""

    class Config(SamPrompts, ComponentConfig):
        model_type: ModelType = Field(default="vit_b", description="SAM backbone")
        checkpoint: str = Field(description="local weights file, e.g. sam_vit_b_01ec64.pth")
        multimask: bool = Field(default=True, description="3 candidates, best by predicted IoU")
        postprocess: MaskPostprocess = MaskPostprocess(largest_component=True, erode_px=1)

    def __init__(self, config: Config, context: BuildContext) -> None:
        super().__init__(config, context)
        from segment_anything import SamPredictor

        self.check_files(config, context)
        self.model = build_sam_model(config.model_type, context.resolve(config.checkpoint))
        try:
            self.model.to(context.device)
        except (RuntimeError, AssertionError) as error:
            raise SpecError(f"segmenter/sam: cannot use device {context.device!r}: {error}") from error
        self.predictor = SamPredictor(self.model)

    @classmethod
    def check_files(cls, config: Config, context: BuildContext) -> None:
        path = context.resolve(config.checkpoint)
        if not path.is_file():
            official = OFFICIAL_CHECKPOINTS.get(config.model_type)
            where = (f"download the official {config.model_type} weights ({official}) from "
                     f"{DOWNLOAD_PAGE}" if official else
                     "save one with avdc_plugins.segmenters.sam.build_sam_model('tiny-test')")
            raise MissingResourceError(
                f"segmenter/sam: checkpoint {str(path)!r} (params.checkpoint) does not exist; "
                f"{where} and point params.checkpoint at it")

    def prompts(self, target: SegmentTarget) -> tuple[SamPrompts, str]:
        """The prompts for ``target`` and where they came from (hints win over the spec)."""
        given = {key: target.hints[key] for key in PROMPT_KEYS if key in target.hints}
        if not given:
            return SamPrompts(**{key: getattr(self.config, key) for key in PROMPT_KEYS}), "params"
        try:
            return SamPrompts.model_validate(given), "target.hints"
        except ValidationError as error:
            raise InputDataError(f"segmenter/sam: invalid prompt in target.hints {given}: "
                                 f"{error.errors()[0]['msg']}") from error

    def segment(self, observation: Observation, target: SegmentTarget) -> Mask:
        prompts, where = self.prompts(target)
        if prompts.empty:
            raise InputDataError(
                f"segmenter/sam has no prompt for target {target.name!r}: set params.points or "
                "params.box in the spec, pass --point/--box to avdc segment, or give "
                "target.hints['points'] / ['box']")
        height, width = observation.depth.shape
        prompts.check_inside(width, height, where)
        points = np.array(prompts.points, dtype=np.float64).reshape(-1, 2)
        labels = np.array(prompts.point_labels or [1] * len(points), dtype=np.int64)
        self.predictor.set_image(observation.rgb)
        masks, scores, _ = self.predictor.predict(
            point_coords=points if len(points) else None,
            point_labels=labels if len(points) else None,
            box=None if prompts.box is None else np.array(prompts.box, dtype=np.float64),
            multimask_output=self.config.multimask)
        best = int(np.argmax(scores))
        return postprocess_mask(masks[best], self.config.postprocess, segmenter="segmenter/sam",
                                target=target.name)


@hookimpl
def avdc_components():
    return [SamSegmenter]
