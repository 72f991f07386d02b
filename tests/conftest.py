"""Shared test set-up: headless rendering and single-threaded math for stable timings.

(Triton must load before MuJoCo's EGL renderer or the process segfaults; the Meta-World
environment module does that itself — see ``import_mujoco`` and
``test_rendering_with_torchvision.py``.)
"""

import os

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("OMP_NUM_THREADS", "1")
