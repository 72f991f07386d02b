"""Shared test set-up: headless rendering and single-threaded math for stable timings."""

import importlib.util
import os

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("OMP_NUM_THREADS", "1")

# Mesa's EGL renderer (llvmpipe) and Triton each bring their own LLVM: importing Triton (which
# torchvision does through torch._dynamo) after MuJoCo has rendered through EGL segfaults the
# process. Loading Triton first avoids it, so simulator tests and torchvision-based components
# (SAM, RAFT) can share one test session.
if importlib.util.find_spec("triton") is not None:
    import triton  # noqa: F401
