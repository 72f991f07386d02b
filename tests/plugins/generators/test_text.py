"""Text encoders: MiniLM with its real shipped weights, CLIP from a small local folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from avdc_core import BuildContext, InputDataError, MissingResourceError
from avdc_core.testing import TextEncoderContract
from avdc_plugins.generators.text import ClipTextEncoder, MiniLmEncoder

_MINILM: list[MiniLmEncoder] = []


def minilm() -> MiniLmEncoder:
    """One real MiniLM per test session (loading takes about a second)."""
    if not _MINILM:
        _MINILM.append(MiniLmEncoder(MiniLmEncoder.Config(), BuildContext()))
    return _MINILM[0]


class TestMiniLm(TextEncoderContract):
    def make_component(self) -> MiniLmEncoder:
        return minilm()

    def test_embeddings_are_384_d_and_unit_length(self):
        embeddings = minilm().encode(["door open", "hammer"])
        assert embeddings.shape == (2, 384)
        np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)

    def test_paraphrases_are_closer_than_other_tasks(self):
        door, paraphrase, button = minilm().encode(["door open", "open the door", "press the button"])
        assert door @ paraphrase > door @ button + 0.2

    def test_each_string_is_embedded_once(self):
        encoder = MiniLmEncoder(MiniLmEncoder.Config(), BuildContext())
        calls = []
        embed = encoder._embed
        encoder._embed = lambda texts: calls.append(list(texts)) or embed(texts)
        first = encoder.encode(["door open", "door open", "hammer"])
        second = encoder.encode(["hammer", "faucet open"])
        assert calls == [["door open", "hammer"], ["faucet open"]]
        np.testing.assert_array_equal(first[2], second[0])

    def test_empty_text_is_refused(self):
        with pytest.raises(InputDataError, match="text 1 is ''"):
            minilm().encode(["door open", ""])

    def test_missing_model_folder_is_named(self, tmp_path):
        with pytest.raises(MissingResourceError, match="not a model folder.*cannot be downloaded"):
            MiniLmEncoder(MiniLmEncoder.Config(model_path=str(tmp_path)), BuildContext())


def _bytes_to_unicode() -> list[str]:
    """GPT-2/CLIP's printable stand-ins for the 256 byte values."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    chars, extra = [], 0
    for b in range(256):
        if b in keep:
            chars.append(chr(b))
        else:
            chars.append(chr(256 + extra))
            extra += 1
    return chars


def write_tiny_clip(folder: Path, vocab_extra: int = 0) -> Path:
    """A small random CLIP text model + a byte-level tokenizer with no merges, saved locally."""
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    chars = _bytes_to_unicode()
    tokens = chars + [c + "</w>" for c in chars] + ["<|startoftext|>", "<|endoftext|>"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(tokens)}))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt")).save_pretrained(folder)
    config = CLIPTextConfig(vocab_size=len(tokens) + vocab_extra, hidden_size=32, intermediate_size=64,
                            num_hidden_layers=2, num_attention_heads=2, max_position_embeddings=32,
                            bos_token_id=len(tokens) - 2, eos_token_id=len(tokens) - 1)
    CLIPTextModel(config).save_pretrained(folder)
    return folder


class TestClip(TextEncoderContract):
    @pytest.fixture(autouse=True)
    def _folder(self, tmp_path_factory):
        if not hasattr(TestClip, "folder"):
            TestClip.folder = write_tiny_clip(tmp_path_factory.mktemp("clip"))

    def make_component(self) -> ClipTextEncoder:
        return ClipTextEncoder(ClipTextEncoder.Config(path=str(self.folder)), BuildContext())

    def test_width_is_the_text_towers_hidden_size(self):
        encoder = self.make_component()
        assert encoder.dim == 32 and encoder.encode(["door open"]).shape == (1, 32)

    def test_missing_folder_says_it_cannot_be_downloaded(self, tmp_path):
        with pytest.raises(MissingResourceError, match="does not exist.*cannot be downloaded here"):
            ClipTextEncoder(ClipTextEncoder.Config(path=str(tmp_path / "clip-vit-b32")), BuildContext())

    def test_hub_id_not_in_the_local_cache_says_how_to_provide_it(self):
        with pytest.raises(MissingResourceError, match="not available locally.*save_pretrained"):
            ClipTextEncoder(ClipTextEncoder.Config(path="avdc-test/no-such-clip-model"), BuildContext())

    def test_tokenizer_that_does_not_match_the_model_is_refused(self, tmp_path):
        folder = write_tiny_clip(tmp_path / "clip", vocab_extra=100)
        with pytest.raises(MissingResourceError, match="has 514 tokens but the text model expects 614"):
            ClipTextEncoder(ClipTextEncoder.Config(path=str(folder)), BuildContext())
