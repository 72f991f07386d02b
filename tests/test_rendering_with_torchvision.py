"""A pipeline that builds a torchvision-based component after the first Meta-World render must not
crash (Triton's LLVM loaded after Mesa's EGL renderer segfaults; `import_mujoco` prevents it)."""

import subprocess
import sys

SCRIPT = """
from avdc_plugins.executors.metaworld_env import MetaWorldScene
scene = MetaWorldScene("button-press", "corner", 64, 48, seed=0)
scene.observation()
import torchvision.models.optical_flow  # imports torch._dynamo, hence Triton
print("ok", flush=True)
scene.close()
"""


def test_torchvision_after_a_metaworld_render_does_not_crash():
    env = {"MUJOCO_GL": "egl", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("ok")
