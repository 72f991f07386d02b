"""Every hook is documented and exercised by a test."""

from pathlib import Path

import pytest

from avdc_core import hookspecs

ROOT = Path(__file__).resolve().parents[1]
HOOKS = [name for name in dir(hookspecs) if name.startswith("avdc_")]


def test_there_are_hooks():
    assert HOOKS == ["avdc_cli", "avdc_components"]


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_documented_with_its_own_heading(hook):
    assert f"### `{hook}`" in (ROOT / "docs" / "plugins.md").read_text()


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_has_a_test(hook):
    tests = [p for p in (ROOT / "tests").rglob("test_*.py") if p.name != "test_docs.py"]
    assert any(f"def {hook}" in p.read_text() for p in tests), f"no test implements {hook}"
