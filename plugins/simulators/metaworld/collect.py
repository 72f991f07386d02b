"""Meta-World demonstrations (the library behind ``avdc collect metaworld``).

Demonstrations are Meta-World's scripted expert, rendered in avdc's image orientation (v3
renders as they come, see :mod:`.scene`) into the AVDC dataset layout::

    <out>/metaworld_dataset/<task>/<camera>/<episode:03d>/<frame>.png    RGB, 00.png, 01.png, ...
                                                    .../depth/<frame>.png         16-bit, millimetres (0 = none)
                                                    .../segmentation/<frame>.png  16-bit, geom id + 1 (0 = none)
                                                    .../camera.json               K, cam_to_world, size
                                                    .../info.json                 seed, steps (written last)

Only successful demonstrations are kept (a seed whose expert fails is skipped and the next is
tried); an episode folder with ``info.json`` is complete and is not redone.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from avdc_core.datasets import write_frame
from avdc_core.errors import InputDataError, SpecError

from .experts import expert_action, expert_policy
from .scene import MetaWorldScene, check_task
from .tasks import CAMERAS, unknown_name


def check_tasks_and_cameras(tasks: Sequence[str], cameras: Sequence[str]) -> list[str]:
    """Canonical task names; raises naming the closest valid task or camera."""
    if not tasks or not cameras:
        raise SpecError(f"need at least one task and one camera (got tasks={tasks}, cameras={cameras})")
    canonical = [check_task(task, field="--tasks") for task in tasks]
    for camera in cameras:
        if camera not in CAMERAS:
            raise SpecError(f"--cameras: {unknown_name('camera', camera, CAMERAS)}")
    return canonical


def collect_demonstrations(tasks: list[str], cameras: list[str], episodes: int, out: Path,
                           depth: bool = False, segmentation: bool = False,
                           resolution: tuple[int, int] = (320, 240), first_seed: int = 0,
                           max_steps: int = 500,
                           progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Write ``episodes`` successful expert demonstrations per task and camera under
    ``out/metaworld_dataset``; returns the number of episodes written per task.

    ``progress(n)`` is called after each finished (task, episode) with the number of episodes.
    """
    if episodes < 1:
        raise SpecError(f"--episodes: {episodes}; need at least 1")
    tasks = check_tasks_and_cameras(tasks, cameras)
    root = Path(out) / "metaworld_dataset"
    written: dict[str, int] = {}
    for task in tasks:
        written[task] = 0
        seed = first_seed
        for episode in range(episodes):
            folders = {camera: root / task / camera / f"{episode:03d}" for camera in cameras}
            if all((folder / "info.json").is_file() for folder in folders.values()):
                seed = 1 + max(json.loads((f / "info.json").read_text())["seed"] for f in folders.values())
                written[task] += 1
                if progress:
                    progress(1)
                continue
            for _ in range(10):  # skip seeds whose expert fails
                scene = MetaWorldScene(task, cameras[0], resolution[0], resolution[1], seed)
                try:
                    ok = _record_expert(scene, expert_policy(task), folders, cameras, depth,
                                        segmentation, max_steps, seed)
                finally:
                    scene.close()
                seed += 1
                if ok:
                    written[task] += 1
                    break
            else:
                raise InputDataError(f"Meta-World's expert failed 10 seeds in a row on {task!r} "
                                     f"(last seed {seed - 1})")
            if progress:
                progress(1)
    return written


def _record_expert(scene, policy, folders: dict[str, Path], cameras: list[str], depth: bool,
                   segmentation: bool, max_steps: int, seed: int) -> bool:
    """Run the expert on ``scene``'s live env, rendering every state; True if it succeeded."""
    env = scene.env
    observation = env._get_obs()
    views: dict[str, list] = {camera: [] for camera in cameras}
    success = False
    for step in range(max_steps + 1):
        for camera in cameras:
            views[camera].append(scene.render(depth=depth, segmentation=segmentation, camera=camera))
        if success or step == max_steps:
            break
        observation, _, _, _, info = env.step(expert_action(policy, observation))
        success = bool(info.get("success"))
    if not success:
        return False
    for camera, frames in views.items():
        folder = folders[camera]
        for index, view in enumerate(frames):
            name = f"{index:02d}.png"
            write_frame(folder / name, view.rgb)
            if depth:
                write_frame(folder / "depth" / name, np.round(view.depth * 1000).clip(0, 65535).astype(np.uint16))
            if segmentation:
                write_frame(folder / "segmentation" / name, (view.segmentation + 1).astype(np.uint16))
        (folder / "camera.json").write_text(json.dumps(scene.camera(camera=camera).to_json()))
        (folder / "info.json").write_text(json.dumps({"seed": seed, "frames": len(frames),
                                                      "task": scene.task, "camera": camera}))
    return True
