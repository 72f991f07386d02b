"""MiniWorld demonstrations (the library behind ``avdc collect miniworld``).

The scripted expert (:meth:`.scene.MiniWorldScene.expert_action`) walks to the red box; its view
is written in the AVDC iTHOR dataset layout, which :mod:`avdc_core.datasets` reads::

    <out>/thor_dataset/RedBox/<task>-<episode:03d>/frames/<frame>.png   RGB, 00.png, 01.png, ...
                                                  .../info.json         task, camera, seed, steps (written last)

One frame per action, the start included; once the target is reached the last frame is repeated
``hold_frames`` times (the agent stands still), as in the paper's iTHOR data. Only successful
demonstrations are kept: a seed whose expert does not reach the box within ``max_steps``
actions (a wall between them) is skipped and the next is tried. An episode folder with
``info.json`` is complete and is not redone, so an interrupted collection resumes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

from avdc_core.datasets import write_frame
from avdc_core.errors import InputDataError, SpecError

from .scene import MiniWorldScene
from .tasks import FORWARD_STEP_M, FOV_DEG, TARGET_FOLDER, TURN_STEP_DEG, check_task

MAX_FAILED_SEEDS = 20
"""Seeds in a row whose expert may fail before a task is refused (its target out of reach)."""


def collect_demonstrations(tasks: Sequence[str], episodes: int, out: Path, resolution: tuple[int, int] = (64, 64),
                           first_seed: int = 0, max_steps: int = 100, hold_frames: int = 1,
                           fov_deg: float = FOV_DEG, turn_step_deg: float = TURN_STEP_DEG,
                           forward_step_m: float = FORWARD_STEP_M,
                           progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Write ``episodes`` successful expert demonstrations per task under ``out/thor_dataset``;
    returns the number of episodes per task. ``progress(n)`` is called after each episode.

    The camera settings (field of view, turn and step sizes) default to ``executor/miniworld``'s,
    so that a model trained on these videos imagines the moves that executor makes."""
    if episodes < 1:
        raise SpecError(f"--episodes: {episodes}; need at least 1")
    if hold_frames < 0:
        raise SpecError(f"--hold-frames: {hold_frames}; need 0 or more")
    if not tasks:
        raise SpecError("--tasks: need at least one MiniWorld task")
    tasks = [check_task(task, field="--tasks") for task in tasks]
    root = Path(out) / "thor_dataset" / TARGET_FOLDER
    written: dict[str, int] = {}
    for task in tasks:
        written[task], seed = 0, first_seed
        scene = MiniWorldScene(task, resolution[0], resolution[1], first_seed, turn_step_deg,
                               forward_step_m, fov_deg)
        try:
            for episode in range(episodes):
                folder = root / f"{task}-{episode:03d}"
                if (folder / "info.json").is_file():
                    seed = 1 + json.loads((folder / "info.json").read_text())["seed"]
                else:
                    seed = _record_first_success(scene, folder, seed, max_steps, hold_frames, {
                        "fov_deg": fov_deg, "turn_step_deg": turn_step_deg, "forward_step_m": forward_step_m})
                written[task] += 1
                if progress:
                    progress(1)
        finally:
            scene.close()
    return written


def _record_first_success(scene: MiniWorldScene, folder: Path, seed: int, max_steps: int,
                          hold_frames: int, camera: dict[str, float]) -> int:
    """Record the first seed from ``seed`` on whose expert succeeds; returns the next seed.
    ``camera``: the settings the scene was made with, written to ``info.json``."""
    task = scene.task
    for attempt in range(MAX_FAILED_SEEDS):
        scene.reset(seed + attempt)
        rollout = scene.expert_rollout(max_steps, extra_steps=hold_frames)
        if not rollout.success:
            continue
        video = scene.render_video(rollout.states)
        for index, frame in enumerate(video.frames):
            write_frame(folder / "frames" / f"{index:02d}.png", frame)
        (folder / "info.json").write_text(json.dumps({
            "task": task, "camera": "agent", "seed": seed + attempt, "frames": len(video.frames),
            "steps": len(video.frames) - 1 - hold_frames, "resolution": [scene.width, scene.height],
            **camera}))
        return seed + attempt + 1
    raise InputDataError(f"MiniWorld's expert did not reach the target on {task!r} from {MAX_FAILED_SEEDS} "
                         f"starts in a row (seeds {seed}-{seed + MAX_FAILED_SEEDS - 1}, at most {max_steps} "
                         "actions): its target is out of the expert's reach on this task; raise --max-steps "
                         "or choose an open task (one-room, hallway)")
