"""`avdc eval` never mixes, half-writes or silently loses results: the folder records its spec,
one evaluation holds it at a time, errored and unreadable episodes are re-run, a component that
cannot be built stops the evaluation before its first episode, an interrupt says how to resume."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import yaml

from avdc_cli.main import main
from avdc_core.evaluation import claim_run_folder
from avdc_core.registry import Registry
from avdc_core.spec import read_yaml, resolve_spec

from paths import ROOT, default_spec_data

pytest.importorskip("metaworld")

SPEC = ROOT / "specs" / "metaworld-oracle-simflow.yaml"
GRID = ["--tasks", "handle-press", "--cameras", "corner"]


def run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def episode_files(out):
    return sorted((out / "episodes").rglob("*.json"))


def test_a_second_spec_is_refused_and_the_first_resumes(capsys, tmp_path):
    out = tmp_path / "eval"
    code, _, _ = run(capsys, "eval", str(SPEC), *GRID, "--seeds", "1", "--out", str(out))
    assert code == 0 and len(episode_files(out)) == 1
    record = json.loads((out / "run.json").read_text())
    assert record["spec"]["flow"]["plugin"] == "flow/sim-flow" and len(record["spec_sha256"]) == 64
    other = read_yaml(SPEC)
    other["flow"] = {"plugin": "opencv-dis"}
    other_path = tmp_path / "other.yaml"
    other_path.write_text(yaml.safe_dump(other))
    code, _, err = run(capsys, "eval", str(other_path), *GRID, "--seeds", "2", "--out", str(out))
    assert code != 0 and "holds episodes of another spec" in err and "delete the folder" in err
    assert len(episode_files(out)) == 1  # nothing ran
    code, out_text, _ = run(capsys, "eval", str(SPEC), *GRID, "--seeds", "2", "--out", str(out))
    assert code == 0 and "1 already done, 1 to run" in out_text and len(episode_files(out)) == 2


def test_episodes_without_a_record_of_their_spec_are_not_reused(capsys, tmp_path):
    out = tmp_path / "eval"
    (out / "episodes" / "handle-press" / "corner").mkdir(parents=True)
    (out / "episodes" / "handle-press" / "corner" / "seed_000.json").write_text("{}")
    code, _, err = run(capsys, "eval", str(SPEC), *GRID, "--seeds", "1", "--out", str(out))
    assert code != 0 and "no run.json saying which spec made them" in err


def test_errored_and_unreadable_episodes_are_run_again(capsys, tmp_path):
    out = tmp_path / "eval"
    code, _, _ = run(capsys, "eval", str(SPEC), *GRID, "--seeds", "3", "--out", str(out))
    assert code == 0
    first, second, third = episode_files(out)
    first.write_text('{"task": "handle-press", "setting": "corner", "seed": 0, "succ')  # cut mid-write
    errored = json.loads(second.read_text())
    errored.update(success=False, end="error", error="RuntimeError: a flaky simulator")
    second.write_text(json.dumps(errored))
    kept = third.stat().st_mtime_ns
    code, out_text, _ = run(capsys, "eval", str(SPEC), *GRID, "--seeds", "3", "--out", str(out))
    assert code == 0
    assert "1 already done, 2 to run (2 errored or unreadable before: run again)" in out_text
    assert third.stat().st_mtime_ns == kept
    summary = json.loads((out / "summary.json").read_text())
    assert summary["episodes"] == 3 and summary["errors"] == [] and summary["overall_success"] == 1.0


def test_a_folder_held_by_another_eval_is_refused(capsys, tmp_path):
    out = tmp_path / "eval"
    data = read_yaml(SPEC)
    resolved = resolve_spec(data, Registry.discover(), base_dir=SPEC.parent)
    with claim_run_folder(out, resolved, str(SPEC)):  # a real flock, as another evaluation holds it
        code, _, err = run(capsys, "eval", str(SPEC), *GRID, "--seeds", "1", "--out", str(out))
    assert code != 0 and "is being written by another avdc eval" in err
    assert episode_files(out) == []


def test_an_out_that_cannot_be_written_is_refused_before_any_episode(capsys, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    code, _, err = run(capsys, "eval", str(SPEC), *GRID, "--seeds", "1", "--out", str(blocker / "eval"))
    assert code != 0 and "cannot be written" in err and "Traceback" not in err


def test_a_component_that_cannot_be_built_stops_the_eval_before_its_first_episode(capsys, tmp_path):
    """A damaged checkpoint (the files exist, so `validate` passes) fails once, not per episode."""
    spec = default_spec_data()
    model = tmp_path / "model"
    model.mkdir()
    source = ROOT / "models" / "metaworld-cpu"
    shutil.copy(source / "model.json", model / "model.json")
    (model / "model.safetensors").write_bytes(b"\x00" * 64)
    spec["generator"]["params"]["checkpoint"] = str(model / "model.safetensors")
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    out = tmp_path / "eval"
    code, _, err = run(capsys, "eval", str(path), "--tasks", "door-close", "--cameras", "corner",
                       "--seeds", "2", "--first-seed", "500", "--out", str(out))
    assert code != 0 and "model.safetensors" in err and "Traceback" not in err
    assert episode_files(out) == []


def test_interrupting_an_eval_says_how_to_resume_and_resuming_runs_the_rest(tmp_path):
    """SIGINT (Ctrl-C) mid-evaluation: exit 130 with a word on how to resume; the same command
    then runs exactly the episodes that were not saved."""
    out = tmp_path / "eval"
    command = [sys.executable, "-m", "avdc_cli.main", "eval", str(SPEC), *GRID, "--seeds", "4",
               "--out", str(out)]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    # a shell's background job inherits SIGINT ignored, and Python keeps it so: restore the default
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 240
    while time.time() < deadline and not (out / "episodes").exists():
        time.sleep(0.1)
    while time.time() < deadline and len(list((out / "episodes").rglob("*.json"))) < 1:
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err[-2000:]
    assert "run the same command to resume" in err and "Traceback" not in err
    saved = {p: p.stat().st_mtime_ns for p in episode_files(out)}
    assert 1 <= len(saved) < 4
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    assert f"{len(saved)} already done, {4 - len(saved)} to run" in result.stdout
    assert len(episode_files(out)) == 4 and all(p.stat().st_mtime_ns == t for p, t in saved.items())
    assert json.loads((out / "summary.json").read_text())["episodes"] == 4
