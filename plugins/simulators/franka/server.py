"""franky-sim for the tabletop, in its own process, on loopback only.

The process runs franky-sim's 1 kHz loop (``SimulationServer``: the libfranka protocol, so
``franky.Robot(host)`` drives it exactly as it drives a real Panda) and, beside it, a *scene
channel*: what a lab does by hand or with other devices — placing objects for an episode — and
what only a simulator can tell — the model and its state, for rendering the camera and judging
success. The channel is ``multiprocessing.connection`` on ``127.0.0.1`` with an HMAC key, carrying
JSON only (``send_bytes``; never pickle). Requests are served by the loop thread between two
ticks, so they never race the physics.

The robot's server binds TCP port 1337 (libfranka's, fixed) and the gripper's 1338 on one
address of ``127.0.0.0/8``: :func:`launch` takes the first free one from the address it is given,
which is how two simulators (two evaluation workers) coexist. franky-sim opens its state socket
(UDP) on an ephemeral port of the wildcard address, but only ever sends to the client's loopback
address.

Run ``python -m avdc_plugins.simulators.franka.server --task pick-place`` to serve by hand (the
key comes from ``AVDC_FRANKY_SIM_KEY``); :func:`launch` starts and stops it for the executor and
the tests. The process ends when its standard input closes (its parent died) or on SIGTERM.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import queue
import secrets
import select
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client, Connection, Listener
from pathlib import Path
from typing import Any

from avdc_core.errors import MissingResourceError, SpecError

KEY_VARIABLE = "AVDC_FRANKY_SIM_KEY"
READY = "READY"


def loopback_candidates(first: str) -> list[str]:
    """``first`` and the addresses after it in ``127.0.0.0/8`` (up to ``127.0.0.254``)."""
    try:
        address = ipaddress.ip_address(first)
    except ValueError as error:
        raise SpecError(f"host: {first!r} is not an IP address; franky-sim serves on a loopback address "
                        "such as 127.0.0.1") from error
    if not address.is_loopback:
        raise SpecError(f"host: {first!r} is not a loopback address; avdc starts franky-sim on "
                        "127.0.0.0/8 only (a real robot's address goes with launch_simulator: false)")
    start = int(address)
    end = int(ipaddress.ip_address("127.0.0.254"))
    return [str(ipaddress.ip_address(value)) for value in range(start, max(end, start) + 1)]


# --- the simulator's side -----------------------------------------------------------------------
class SceneService:
    """Answers scene-channel requests from the loop thread (:meth:`serve_pending`)."""

    def __init__(self, sim: Any, xml: str) -> None:
        self.sim = sim
        self.xml = xml
        self.requests: queue.Queue[tuple[dict, queue.Queue]] = queue.Queue()
        self.started = time.perf_counter()

    def ask(self, request: dict) -> dict:
        """Called from a connection's thread: queue ``request`` and wait for the loop's answer."""
        answer: queue.Queue[dict] = queue.Queue(maxsize=1)
        self.requests.put((request, answer))
        return answer.get()

    def serve_pending(self) -> None:
        while True:
            try:
                request, answer = self.requests.get_nowait()
            except queue.Empty:
                return
            try:
                answer.put(self.handle(request))
            except (KeyError, ValueError, TypeError) as error:
                answer.put({"error": f"{type(error).__name__}: {error}"})

    def handle(self, request: dict) -> dict:
        import mujoco

        model, data = self.sim.model, self.sim.data
        op = request["op"]
        if op == "xml":
            return {"xml": self.xml}
        if op == "state":
            wall = time.perf_counter() - self.started
            return {"qpos": data.qpos.tolist(), "qvel": data.qvel.tolist(), "mocap_pos": data.mocap_pos.tolist(),
                    "time": float(data.time), "realtime_factor": float(data.time) / wall if wall > 0 else 0.0}
        if op == "place":  # {"body": name, "position": [3]}: a free body at rest (upright) or a mocap body
            body = model.body(request["body"])
            position = [float(v) for v in request["position"]]
            if model.body_mocapid[body.id] >= 0:
                data.mocap_pos[model.body_mocapid[body.id]] = position
            else:
                joint = model.body_jntadr[body.id]
                qpos, dof = model.jnt_qposadr[joint], model.jnt_dofadr[joint]
                data.qpos[qpos:qpos + 7] = [*position, 1.0, 0.0, 0.0, 0.0]
                data.qvel[dof:dof + 6] = 0.0
            mujoco.mj_forward(model, data)
            return {"ok": True}
        raise ValueError(f"unknown request {op!r}; known: xml, state, place")


def _accept(listener: Listener, service: SceneService) -> None:
    while True:
        try:
            connection = listener.accept()
        except (AuthenticationError, EOFError):  # a client without the key: refused
            continue
        except OSError:  # the listener was closed
            return
        threading.Thread(target=_answer, args=(connection, service), daemon=True).start()


def _answer(connection: Connection, service: SceneService) -> None:
    with connection:
        while True:
            try:
                request = json.loads(connection.recv_bytes())
            except (EOFError, OSError):
                return
            connection.send_bytes(json.dumps(service.ask(request)).encode())


def serve(task: str, hosts: list[str], key: bytes, realtime: float = 1.0) -> None:
    """Build ``task``'s tabletop, serve the robot on the first free address of ``hosts`` and the
    scene channel on ``127.0.0.1``; print ``READY <robot host> <channel port>``; run until
    standard input closes."""
    import franky_sim

    from .tasks import TASKS
    from .world import build_simulator, scene_xml

    sim = build_simulator(TASKS[task])
    with sim, franky_sim.SimulationServer(sim, hostname_candidates=hosts) as server:
        service = SceneService(sim, scene_xml(sim))
        listener = Listener(("127.0.0.1", 0), authkey=key)
        threading.Thread(target=_accept, args=(listener, service), daemon=True).start()
        stop = threading.Event()
        threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
        robot_host = sim.robots[0].hostname
        print(f"{READY} {robot_host} {listener.address[1]}", flush=True)
        server.running = True
        try:
            while not stop.is_set():
                server.run_once(realtime)
                service.serve_pending()
        finally:
            listener.close()


def main(argv: list[str] | None = None) -> None:
    from .tasks import TASKS

    parser = argparse.ArgumentParser(description="franky-sim serving avdc's tabletop on loopback")
    parser.add_argument("--task", choices=sorted(TASKS), default="pick-place")
    parser.add_argument("--host", default="127.0.0.1", help="first loopback address to try")
    parser.add_argument("--realtime", type=float, default=1.0, help="speed (1 = real time)")
    args = parser.parse_args(argv)
    key = os.environ.get(KEY_VARIABLE)
    if not key:
        parser.error(f"set {KEY_VARIABLE} to the scene channel's key (any secret string)")
    serve(args.task, loopback_candidates(args.host), key.encode(), args.realtime)


# --- the executor's side ------------------------------------------------------------------------
@dataclass
class SimulatorProcess:
    """A running franky-sim (:func:`launch`): the robot's address, the scene channel."""

    process: subprocess.Popen
    robot_host: str
    channel: SceneChannel
    log_path: Path

    def close(self) -> None:
        """Stop the simulator (closing its standard input; killed if it does not end in 10 s);
        its log is kept only when it did not end cleanly."""
        self.channel.close()
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process.stdout.close()
        if self.process.returncode == 0:
            self.log_path.unlink(missing_ok=True)


class SceneChannel:
    """The executor's end of the scene channel: :meth:`request` sends JSON, returns JSON."""

    def __init__(self, port: int, key: bytes) -> None:
        self.connection = Client(("127.0.0.1", port), authkey=key)
        self.lock = threading.Lock()

    def request(self, op: str, **fields: Any) -> dict:
        with self.lock:
            self.connection.send_bytes(json.dumps({"op": op, **fields}).encode())
            answer = json.loads(self.connection.recv_bytes())
        if "error" in answer:
            raise RuntimeError(f"franky-sim scene channel: {answer['error']}")
        return answer

    def close(self) -> None:
        self.connection.close()


def launch(task: str, host: str = "127.0.0.1", timeout_s: float = 60.0, realtime: float = 1.0) -> SimulatorProcess:
    """Start franky-sim with ``task``'s tabletop on the first free loopback address from ``host``;
    returns once it serves (or raises :class:`MissingResourceError` with its log)."""
    import importlib.util

    for package in ("franky", "franky_sim"):
        if importlib.util.find_spec(package) is None:
            raise MissingResourceError("the Franka executor needs franky-control and franky-sim: "
                                       "pip install 'avdc[franka]'")
    hosts = loopback_candidates(host)
    key = secrets.token_hex(16)
    log = Path(tempfile.mkstemp(prefix="franky-sim-", suffix=".log")[1])
    command = [sys.executable, "-m", __name__, "--task", task, "--host", hosts[0], "--realtime", str(realtime)]
    with log.open("w") as stderr:
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                                   env={**os.environ, KEY_VARIABLE: key}, text=True)
    deadline = time.monotonic() + timeout_s
    line = ""
    while time.monotonic() < deadline and process.poll() is None:
        ready, _, _ = select.select([process.stdout], [], [], 0.2)
        if ready:
            line = process.stdout.readline()
            break
    if not line.startswith(READY):
        process.kill()
        process.wait()
        tail = log.read_text()[-1500:]
        raise MissingResourceError(f"franky-sim did not start within {timeout_s:g} s (exit code "
                                   f"{process.returncode}); its log {log}:\n{tail}")
    _, robot_host, port = line.split()
    return SimulatorProcess(process, robot_host, SceneChannel(int(port), key.encode()), log)


if __name__ == "__main__":
    main()
