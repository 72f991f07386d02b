"""avdc_core.evaluation: resumable, parallel closed-loop evaluation; avdc eval."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from avdc_core import EvalGrid, SpecError
from avdc_core.artifacts import write_json
from avdc_core.evaluation import (
    EpisodeJob,
    EvalOptions,
    LocalBackend,
    grid_jobs,
    markdown_table,
    pending_jobs,
    run_episode_job,
    run_evaluation,
    summarize,
)
from avdc_core.spec import read_yaml

from paths import ROOT as REPO  # noqa: E402

SPEC = REPO / "specs" / "metaworld-oracle-simflow.yaml"


def record(task, setting, seed, success, **extra):
    return {"task": task, "setting": setting, "seed": seed, "success": success,
            "end": "success" if success else "step_limit", "replans": 1, "steps": 100, **extra}


def test_summary_and_table_put_tasks_in_columns_and_settings_in_rows():
    records = [record("door-open", "corner", 0, True), record("door-open", "corner2", 0, False),
               record("hammer", "corner", 0, True), record("hammer", "corner2", 0, True)]
    summary = summarize(records)
    assert summary["overall_success"] == pytest.approx(0.75)
    assert summary["per_task"] == {"door-open": 0.5, "hammer": 1.0}
    assert summary["per_setting"] == {"corner": 1.0, "corner2": 0.5}
    lines = markdown_table(summary).splitlines()
    assert lines[0] == "| setting | door-open | hammer | Overall |"
    assert lines[2] == "| corner | 100.0 | 100.0 | 100.0 |"
    assert lines[3] == "| corner2 | 0.0 | 100.0 | 50.0 |"
    assert lines[4] == "| all | 50.0 | 100.0 | **75.0** |"


def test_resume_runs_only_unfinished_episodes_and_records_failures(tmp_path):
    """Half the grid is already on disk: only the other half runs (for real, in two spawned
    workers); a broken episode is recorded as that episode's failure and the rest goes on."""
    pytest.importorskip("metaworld")
    jobs = [EpisodeJob("handle-press", "corner", seed, {"task": "handle-press", "camera": "corner"})
            for seed in range(2)]
    jobs.append(EpisodeJob("no-such-task", "corner", 0, {"task": "no-such-task", "camera": "corner"}))
    options = EvalOptions(read_yaml(SPEC), SPEC.parent, tmp_path)
    run_evaluation(jobs[:1], options)  # the folder now records its spec and one episode
    write_json(tmp_path / jobs[0].relative_path, record("handle-press", "corner", 0, False))
    assert pending_jobs(jobs, tmp_path) == jobs[1:]
    ran = []
    summary = run_evaluation(jobs, options, LocalBackend(workers=2),
                             on_episode=lambda job, rec: ran.append((job, rec)))
    assert sorted(job.seed for job, _ in ran if job.task == "handle-press") == [1]
    assert len(ran) == 2
    finished = {job.task: rec for job, rec in ran}
    assert finished["handle-press"]["success"] is True
    assert finished["no-such-task"]["end"] == "error"
    assert "unknown Meta-World task 'no-such-task'" in finished["no-such-task"]["error"]
    assert summary["episodes"] == 3 and summary["overall_success"] == pytest.approx(1 / 3)
    assert json.loads((tmp_path / "summary.json").read_text())["episodes"] == 3
    assert (tmp_path / "results.md").read_text().startswith("| setting |")
    assert (tmp_path / "success.png").stat().st_size > 1000
    assert pending_jobs(jobs, tmp_path) == [jobs[2]]  # the errored episode runs again on resume


class InOrderBackend:
    """Another backend: runs the jobs in this process, last job first, and notes what it ran."""

    def __init__(self):
        self.ran = []

    def map(self, jobs, options):
        for job in reversed(jobs):
            self.ran.append(job)
            yield job, run_episode_job(job, options)


def test_any_backend_runs_the_pending_jobs_and_its_records_are_summarised(tmp_path):
    """The backend seam: run_evaluation hands the unfinished jobs to whatever backend it is
    given and writes and summarises the records it yields."""
    pytest.importorskip("metaworld")
    jobs = grid_jobs(EvalGrid("task", "camera", ("handle-press",), ("corner",)), seeds=2, first_seed=3)
    options = EvalOptions(read_yaml(SPEC), SPEC.parent, tmp_path)
    run_evaluation(jobs[:1], options)
    write_json(tmp_path / jobs[0].relative_path, record("handle-press", "corner", 3, False))
    backend = InOrderBackend()
    summary = run_evaluation(jobs, options, backend)
    assert backend.ran == jobs[1:]
    assert json.loads((tmp_path / jobs[1].relative_path).read_text())["success"] is True
    assert summary["episodes"] == 2 and summary["overall_success"] == pytest.approx(0.5)


def test_grid_jobs_cross_tasks_settings_and_seeds_into_executor_params():
    grid = EvalGrid("task", "camera", ("door-open", "hammer"), ("corner", "corner2"))
    jobs = grid_jobs(grid, seeds=2, first_seed=5, extra_params={"record": True})
    assert len(jobs) == 8 and jobs[0] == EpisodeJob(
        "door-open", "corner", 5, {"task": "door-open", "camera": "corner", "record": True})
    assert [job.seed for job in jobs[:2]] == [5, 6]
    assert {job.setting for job in grid_jobs(grid, ["hammer"], ["corner2"], 1)} == {"corner2"}
    with pytest.raises(SpecError, match="--tasks: hammer given twice"):
        grid_jobs(grid, ["hammer", "hammer"])
    with pytest.raises(SpecError, match="--settings: empty.*corner, corner2"):
        grid_jobs(grid, None, [])
    with pytest.raises(SpecError, match="--seeds: 0"):
        grid_jobs(grid, seeds=0)


@pytest.mark.slow
def test_killed_eval_resumes_with_the_remaining_episodes(tmp_path):
    """Acceptance 5: kill `avdc eval` after its first episodes, re-run the same command: it
    runs exactly the missing episodes."""
    pytest.importorskip("metaworld")
    command = [sys.executable, "-m", "avdc_cli.main", "eval", str(SPEC), "--tasks",
               "handle-press,button-press", "--cameras", "corner", "--seeds", "3",
               "--out", str(tmp_path)]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               start_new_session=True)
    episodes = tmp_path / "episodes"
    deadline = time.time() + 300
    while time.time() < deadline and len(list(episodes.rglob("*.json"))) < 2:
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    done_before = {p: p.stat().st_mtime_ns for p in episodes.rglob("*.json")}
    assert 2 <= len(done_before) < 6
    output = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    assert f"{len(done_before)} already done, {6 - len(done_before)} to run" in output
    assert len(list(episodes.rglob("*.json"))) == 6
    assert all(p.stat().st_mtime_ns == stamp for p, stamp in done_before.items())


def _compute_threads(_: int) -> tuple[int, int]:
    import cv2
    import torch

    return torch.get_num_threads(), cv2.getNumThreads()


def test_spawned_workers_share_the_cores_instead_of_each_taking_all():
    """A worker pool set up as LocalBackend sets it up: each of 2 processes gets half the cores
    (on this 2-core machine 1 thread each, where torch and OpenCV would each take 2)."""
    import multiprocessing

    from avdc_core.evaluation.backends import share_cores

    share = max(1, (os.cpu_count() or 1) // 2)
    with multiprocessing.get_context("spawn").Pool(2, share_cores, (2,)) as pool:
        assert pool.map(_compute_threads, range(2)) == [(share, share)] * 2
