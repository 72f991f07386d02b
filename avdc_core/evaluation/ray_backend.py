"""Episodes as Ray tasks on a Ray cluster (``avdc eval --backend ray``; ``pip install avdc[ray]``).

How results flow back: each episode is one Ray task (one CPU). The worker writes the episode's
media (``--video``, ``--plans``) into a scratch folder of its own machine and returns them with the
record; this process — the one that ran ``avdc eval`` — writes the media, then the record, into
``--out``, as soon as each task finishes. Nodes therefore need no shared file system, only avdc
and the spec's files (models, videos) at the same paths, and a finished episode is on disk before
the next result is awaited: a worker or node that dies loses only its running episodes, which are
recorded as errors (after Ray's own ``retries``) and run again on resume.

A worker process keeps the planner it built (:class:`~.episode.PlannerCache`): its models load
once, not once per episode; the executor (the simulator) is built afresh for every episode.

Where the cluster is: ``address=None`` starts a private one-machine Ray for this evaluation;
``"auto"`` or ``"HOST:PORT"`` joins a running cluster (``ray start --head`` on the head node,
``ray start --address HEAD:PORT`` on the others). Ray resolves a loopback address to the
machine's network address unless told otherwise, so for a loopback address (and the private
cluster) avdc sets ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` before Ray is imported, which keeps
every Ray server on 127.0.0.1; a loopback head must be started with the same variable.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import AvdcError, MissingResourceError
from .episode import WORKER_PLANNERS, EvalOptions, run_episode_job
from .jobs import EpisodeJob

LOOPBACK_ONLY_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
CONNECT_TIMEOUT_S = 5.0


def is_loopback(address: str | None) -> bool:
    """``None`` (a private cluster) or a ``HOST:PORT`` on 127.0.0.0/8, ``localhost`` or ``::1``."""
    if address is None:
        return True
    host = address.rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def reachable(address: str, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Raise a one-line error unless ``HOST:PORT`` accepts a TCP connection within ``timeout_s``
    (Ray itself retries an unreachable head for minutes)."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise AvdcError(f"--address {address!r} is not HOST:PORT (e.g. 127.0.0.1:6379) or auto")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as error:
        raise AvdcError(f"--address {address}: no Ray head answers there within {timeout_s:.0f} s "
                        f"({error.strerror or error}); start one with `ray start --head --port {port}` "
                        "or check the address") from error


def _import_ray(address: str | None) -> Any:
    if is_loopback(address):
        os.environ.setdefault(LOOPBACK_ONLY_ENV, "0")
    try:
        import ray
    except ImportError as error:
        raise MissingResourceError("--backend ray needs Ray: pip install 'avdc[ray]' (or ray>=2.60)") from error
    return ray


def _episode_with_media(job: EpisodeJob, options: EvalOptions) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Run on a worker: the episode's record and its media files (relative path → bytes)."""
    with tempfile.TemporaryDirectory(prefix="avdc-episode-") as scratch:
        root = Path(scratch)
        record = run_episode_job(job, replace(options, out=root), WORKER_PLANNERS)
        media = {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*"))
                 if path.is_file()}
    return record, media


class RayBackend:
    """Episodes as Ray tasks (one CPU each); ``address``: see the module docstring; ``retries``:
    how often Ray reruns an episode whose worker died before it is recorded as an error."""

    def __init__(self, address: str | None = None, retries: int = 1) -> None:
        if address not in (None, "auto"):
            reachable(address)  # at once, before anything is built: Ray retries an absent head for minutes
        self.address = address
        self.retries = retries

    def map(self, jobs: list[EpisodeJob], options: EvalOptions) -> Iterator[tuple[EpisodeJob, dict[str, Any]]]:
        if not jobs:
            return
        ray = _import_ray(self.address)
        started_here = not ray.is_initialized()
        if started_here:
            self._connect(ray)
        try:
            task = ray.remote(num_cpus=1, max_retries=self.retries)(_episode_with_media)
            pending = {task.remote(job, options): job for job in jobs}
            while pending:
                (done,), _ = ray.wait(list(pending), num_returns=1)
                job = pending.pop(done)
                yield job, self._collect(ray, done, job, options.out)
        finally:
            if started_here:
                ray.shutdown()

    def _connect(self, ray: Any) -> None:
        where = "a private Ray on this machine" if self.address is None else f"the Ray cluster at {self.address}"
        try:
            if self.address is None:
                ray.init(address="local", include_dashboard=False, log_to_driver=False, configure_logging=False)
            else:
                ray.init(address=self.address, log_to_driver=False, configure_logging=False)
        except Exception as error:  # Ray raises ConnectionError, RuntimeError, ValueError...
            raise AvdcError(f"--backend ray: cannot connect to {where} ({type(error).__name__}: {error}); "
                            "start one with `ray start --head` and pass --address HOST:PORT, or omit "
                            "--address for a private one") from error

    @staticmethod
    def _collect(ray: Any, ref: Any, job: EpisodeJob, out: Path) -> dict[str, Any]:
        """The finished task's record, its media written under ``out`` first; a task Ray lost
        (its worker or node died) becomes an error record, run again on resume."""
        try:
            record, media = ray.get(ref)
        except ray.exceptions.RayError as error:
            return {"task": job.task, "setting": job.setting, "seed": job.seed, "success": False,
                    "end": "error", "error": f"Ray lost the episode: {type(error).__name__}: "
                    f"{str(error).splitlines()[0] if str(error) else ''}", "seconds": 0.0}
        for relative, content in media.items():
            path = out / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        return record
