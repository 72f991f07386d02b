"""The code passes the linter the project configures (pyproject.toml [tool.ruff])."""

import shutil
import subprocess
import sys
from pathlib import Path

from paths import ROOT


def test_ruff_finds_nothing():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert ruff is not None, "ruff is not installed: pip install 'avdc[test]' (scripts/setup.sh does)"
    result = subprocess.run([ruff, "check", "--no-cache", str(ROOT)], capture_output=True, text=True,
                            cwd=ROOT, check=False)
    assert result.returncode == 0, result.stdout[-4000:]
