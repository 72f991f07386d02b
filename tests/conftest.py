"""Shared test set-up: headless rendering and single-threaded math for stable timings."""

import os

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("OMP_NUM_THREADS", "1")
