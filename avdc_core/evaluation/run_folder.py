"""An evaluation's output folder: which spec made it, one writer at a time, readable records.

``run.json`` records the spec an evaluation ran — its resolved content (every component's
package, version and full parameters, defaults included) and that content's SHA-256 — so that
episodes of two different specs are never mixed: resuming into a folder made by another spec is
refused. A lock file (``.lock``, ``flock``) keeps a second evaluation out while one writes, and
the folder is checked writable before any episode runs. An episode file that cannot be read (a
crash mid-write on another machine, a hand edit) or that records an error counts as not done:
it is run again.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..artifacts import write_json
from ..errors import InputDataError, SpecError
from ..spec import ResolvedSpec
from .jobs import EpisodeJob

RUN_FILE = "run.json"
LOCK_FILE = ".lock"
RECORD_KEYS = ("task", "setting", "seed", "success", "end")
"""Keys every episode record has; a file without them is not a finished episode."""


def resolved_content(resolved: ResolvedSpec) -> dict[str, Any]:
    """What a spec runs, in full: its top-level settings and, per component, the plugin, its
    package and version and every parameter (defaults filled in)."""
    content: dict[str, Any] = resolved.spec.model_dump(
        mode="json", exclude=set(resolved.components))
    for kind, component in resolved.components.items():
        content[kind] = {"plugin": component.info.address, "package": component.info.package,
                         "version": component.info.version,
                         "params": component.config.model_dump(mode="json")}
    return content


def fingerprint(content: dict[str, Any]) -> str:
    """SHA-256 of ``content`` as canonical JSON."""
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def run_record(resolved: ResolvedSpec, source: str) -> dict[str, Any]:
    """What ``run.json`` holds: where the spec came from, its resolved content and its SHA-256."""
    content = resolved_content(resolved)
    return {"source": source, "spec_sha256": fingerprint(content), "spec": content}


def read_record(path: Path) -> dict[str, Any] | None:
    """The episode record in ``path``, or ``None`` if it is missing, unreadable or incomplete."""
    try:
        record = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return record if isinstance(record, dict) and all(key in record for key in RECORD_KEYS) else None


def episode_state(out: Path, job: EpisodeJob) -> str:
    """``done``, ``missing``, ``error`` (the episode recorded an error: run it again) or
    ``corrupt`` (a file that is not a readable record: run it again)."""
    path = out / job.relative_path
    if not path.is_file():
        return "missing"
    record = read_record(path)
    if record is None:
        return "corrupt"
    return "error" if record.get("end") == "error" else "done"


def pending_jobs(jobs: list[EpisodeJob], out: Path) -> list[EpisodeJob]:
    """The jobs not done yet: no episode file, an unreadable one, or one recording an error."""
    return [job for job in jobs if episode_state(out, job) != "done"]


@contextmanager
def claim_run_folder(out: Path, resolved: ResolvedSpec, source: str) -> Iterator[Path]:
    """Hold ``out`` for one evaluation of ``resolved``: create it, check it is writable, lock it
    against a second writer and check (or write) ``run.json``. Raises a one-line error for a
    folder that cannot be written, that another evaluation holds, or that another spec made."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        lock = open(out / LOCK_FILE, "a")  # held (and locked) for the whole evaluation
    except OSError as error:
        raise InputDataError(f"--out {str(out)!r} cannot be written ({error.strerror}); choose a "
                             "writable folder") from error
    try:
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            raise InputDataError(f"--out {str(out)!r} is being written by another avdc eval; wait for "
                                 "it to finish or choose another --out") from error
        _check_writable(out)
        _check_same_spec(out, resolved, source)
        yield out
    finally:
        lock.close()


def _check_writable(out: Path) -> None:
    probe = out / f".write-probe.{os.getpid()}"
    try:
        probe.write_bytes(b"0" * 4096)
        probe.unlink()
    except OSError as error:
        raise InputDataError(f"--out {str(out)!r} cannot be written ({error.strerror}); choose a "
                             "writable folder with free space") from error


def _check_same_spec(out: Path, resolved: ResolvedSpec, source: str) -> None:
    record = run_record(resolved, source)
    digest = record["spec_sha256"]
    run_file = out / RUN_FILE
    fresh = "choose another --out, or delete the folder to start afresh"
    if run_file.is_file():
        try:
            recorded = json.loads(run_file.read_text())
            recorded_digest, recorded_source = recorded["spec_sha256"], recorded.get("source", "?")
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as error:
            raise SpecError(f"--out {str(out)!r}: {RUN_FILE} is unreadable, so which spec made its "
                            f"episodes is unknown; {fresh}") from error
        if recorded_digest != digest:
            raise SpecError(f"--out {str(out)!r} holds episodes of another spec ({recorded_source}, "
                            f"sha256 {recorded_digest[:12]}); this one ({source}, sha256 {digest[:12]}) "
                            f"differs, and their episodes must not be mixed: {fresh}")
        return
    if any((out / "episodes").rglob("*.json")):
        raise SpecError(f"--out {str(out)!r} holds episodes but no {RUN_FILE} saying which spec made "
                        f"them; {fresh}")
    write_json(run_file, record)
