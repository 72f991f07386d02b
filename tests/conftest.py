"""Shared test set-up: headless rendering and single-threaded math for stable timings.

(Triton must load before MuJoCo's EGL renderer or the process segfaults; the Meta-World
environment module does that itself — see ``import_mujoco`` and
``tests/plugins/simulators/metaworld/test_scene.py``.)
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("OMP_NUM_THREADS", "1")

# Tests mirror the layout of what they test (tests/plugins/flow/test_sim_flow.py tests
# plugins/flow/sim_flow.py); the shared helpers (paths, episodes, toy_plugins) live here.
sys.path.insert(0, str(Path(__file__).resolve().parent))
