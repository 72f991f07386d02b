"""``avdc eval --backend ray`` on a real Ray cluster this test starts on 127.0.0.1: the same
records as the local backend, and a worker killed mid-run loses no finished episode."""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from avdc_core import AvdcError
from avdc_core.evaluation.ray_backend import LOOPBACK_ONLY_ENV, is_loopback, reachable

from paths import ROOT

pytest.importorskip("ray")
if importlib.util.find_spec("miniworld") is None:  # imported headless by the executor, not here
    pytest.skip("needs miniworld (pip install 'avdc[miniworld]')", allow_module_level=True)
psutil = pytest.importorskip("psutil")  # a dependency of Ray's

SPEC = ROOT / "specs" / "miniworld-oracle-simflow.yaml"
BIN = Path(sys.executable).parent
TIMING_KEYS = {"seconds", "plan_seconds", "execute_seconds", "plan_stage_seconds"}
"""What may differ between two runs of the same episode."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory):
    """A one-machine Ray cluster (``ray start --head``) on loopback, with its own temp folder and
    authentication token; yields ``(address, environment for its clients, head pid)``; stopped
    afterwards."""
    root = tmp_path_factory.mktemp("ray")
    token = root / "auth_token"
    token.write_text(secrets.token_hex(32))
    env = {**os.environ, LOOPBACK_ONLY_ENV: "0", "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token),
           "RAY_USAGE_STATS_ENABLED": "0", "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl")}
    port = free_port()
    head = subprocess.Popen(
        [str(BIN / "ray"), "start", "--head", "--block", "--node-ip-address", "127.0.0.1", "--port", str(port),
         "--ray-client-server-port", str(free_port()), "--include-dashboard", "false", "--num-cpus", "2",
         "--temp-dir", str(root / "session"), "--disable-usage-stats"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = head.stdout.readline()
            output.append(line)
            if "Ray runtime started" in line:
                break
            if not line and head.poll() is not None:
                pytest.fail("ray start failed:\n" + "".join(output))
        else:
            pytest.fail("ray start did not report a running cluster in 90 s:\n" + "".join(output))
        yield f"127.0.0.1:{port}", env, head.pid
    finally:
        os.killpg(head.pid, signal.SIGTERM)  # --block: ray start stops every process it started
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait()


def cluster_processes(head_pid: int) -> list:
    """Every process of the cluster: the servers and workers ``ray start`` spawned."""
    return psutil.Process(head_pid).children(recursive=True)


def running_episodes(head_pid: int) -> list:
    """The cluster's workers running an episode now (Ray titles them by their task)."""
    def title(process) -> str:
        try:
            return " ".join(process.cmdline())
        except psutil.Error:
            return ""

    return [process for process in cluster_processes(head_pid) if title(process).startswith("ray::_episode")]


def avdc_eval(out: Path, env: dict, *args: str, wait: bool = True):
    command = [str(BIN / "avdc"), "eval", str(SPEC), "--tasks", "one-room", "--out", str(out), *args]
    if not wait:
        return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


def records(out: Path) -> dict[str, dict]:
    return {str(path.relative_to(out)): {key: value for key, value in json.loads(path.read_text()).items()
                                         if key not in TIMING_KEYS}
            for path in sorted((out / "episodes").rglob("*.json"))}


def media(out: Path) -> list[str]:
    return sorted(str(path.relative_to(out)) for folder in ("videos", "plans") for path in (out / folder).rglob("*")
                  if path.is_file())


def test_loopback_addresses_are_told_apart():
    assert is_loopback(None) and is_loopback("127.0.0.1:6379") and is_loopback("localhost:1")
    assert is_loopback("[::1]:6379") and not is_loopback("10.0.0.5:6379") and not is_loopback("auto")


def test_an_unreachable_head_is_one_line_naming_the_address():
    port = free_port()  # nothing listens there
    with pytest.raises(AvdcError, match=rf"--address 127.0.0.1:{port}: no Ray head answers there within 1 s"):
        reachable(f"127.0.0.1:{port}", timeout_s=1.0)
    with pytest.raises(AvdcError, match="is not HOST:PORT"):
        reachable("head-node")


def test_the_cluster_listens_on_loopback_only(ray_cluster):
    listening = {(process.name(), connection.laddr.ip)
                 for process in cluster_processes(ray_cluster[2]) for connection in process.net_connections("inet")
                 if connection.status == psutil.CONN_LISTEN}
    assert listening, "found no Ray server"
    assert {ip for _, ip in listening} <= {"127.0.0.1", "::ffff:127.0.0.1", "::1"}, listening


def test_ray_records_and_media_equal_the_local_backends(ray_cluster, tmp_path):
    address, env, _ = ray_cluster
    local = avdc_eval(tmp_path / "local", env, "--seeds", "3", "--video", "--plans")
    assert local.returncode == 0, local.stdout + local.stderr
    remote = avdc_eval(tmp_path / "ray", env, "--seeds", "3", "--video", "--plans", "--backend", "ray",
                       "--address", address)
    assert remote.returncode == 0, remote.stdout + remote.stderr
    assert len(records(tmp_path / "ray")) == 3
    assert records(tmp_path / "ray") == records(tmp_path / "local")
    assert media(tmp_path / "ray") == media(tmp_path / "local") and media(tmp_path / "ray")
    assert (tmp_path / "ray" / "results.md").read_text() == (tmp_path / "local" / "results.md").read_text()


def test_a_killed_worker_loses_no_finished_episode_and_resume_completes(ray_cluster, tmp_path):
    address, env, head = ray_cluster
    out = tmp_path / "eval"
    run = avdc_eval(out, env, "--seeds", "6", "--backend", "ray", "--address", address, "--retries", "0",
                    wait=False)
    episodes = out / "episodes" / "one-room" / "agent"
    deadline = time.monotonic() + 120
    killed = []
    while not killed and time.monotonic() < deadline and run.poll() is None:
        if any(episodes.glob("seed_*.json")):
            for process in running_episodes(head):
                process.kill()
                killed.append(process.pid)
        time.sleep(0.05)
    output = run.communicate(timeout=300)[0]
    assert killed, "no episode was running to kill:\n" + output
    first = records(out)
    lost = {path for path, record in first.items() if record["end"] == "error"}
    assert lost and all("Ray lost the episode" in first[path]["error"] for path in lost), output
    assert run.returncode == 1 and "run the same command again" in output
    finished = {path: record for path, record in first.items() if path not in lost}
    assert finished, "no episode finished before the kill"

    again = avdc_eval(out, env, "--seeds", "6", "--backend", "ray", "--address", address)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"{len(finished)} already done, {6 - len(finished)} to run" in again.stdout
    final = records(out)
    assert len(final) == 6 and all(record["end"] != "error" for record in final.values())
    assert {path: final[path] for path in finished} == finished  # finished episodes were not run again
