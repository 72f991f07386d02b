"""The example third-party package, installed for real with pip, extends avdc without touching it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from avdc_core.testing import FlowEstimatorContract, textured_video

from paths import default_spec_data

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "avdc-example-plugin"
DEFAULT_SPEC = ROOT / "cli" / "default_spec.yaml"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The example package pip-installed into a folder put on PYTHONPATH for the child avdc."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--target", str(target), str(EXAMPLE)],
                   check=True, capture_output=True)
    return target


def avdc(site, *args):
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run([sys.executable, "-m", "avdc_cli.main", *args], env=env,
                          capture_output=True, text=True, cwd=ROOT)


def test_installed_example_is_listed_with_its_package(site):
    result = avdc(site, "plugins", "--json")
    assert result.returncode == 0, result.stderr
    rows = {row["address"]: row for row in json.loads(result.stdout)["plugins"]}
    assert rows["flow/phase-shift"]["package"] == "avdc-example-plugin"
    assert rows["flow/phase-shift"]["version"] == "0.1.0"
    assert rows["flow/opencv-dis"]["package"] == "avdc"


def test_a_spec_can_use_the_example_flow_by_changing_one_line(site, tmp_path):
    spec = default_spec_data()
    spec["flow"] = {"plugin": "phase-shift"}
    path = tmp_path / "ablation.yaml"
    path.write_text(yaml.safe_dump(spec))
    result = avdc(site, "validate", str(path))
    assert result.returncode == 0, result.stderr
    assert "flow/phase-shift  (avdc-example-plugin)" in result.stdout


def test_example_adds_a_cli_command(site, tmp_path):
    import imageio.v3 as iio

    video = textured_video(frames=2, height=64, width=96, shift_px=3)
    for index, frame in enumerate(video.frames):
        iio.imwrite(tmp_path / f"{index}.png", frame)
    result = avdc(site, "phase-shift", str(tmp_path / "0.png"), str(tmp_path / "1.png"))
    assert result.returncode == 0, result.stderr
    dx = float(result.stdout.split()[0].split("=")[1])
    assert dx == pytest.approx(3.0, abs=0.2)


class TestPhaseShiftFlow(FlowEstimatorContract):
    """The example's component also passes avdc's flow contract."""

    def make_component(self):
        sys.path.insert(0, str(EXAMPLE))
        try:
            from avdc_example_plugin import PhaseShiftFlow
        finally:
            sys.path.remove(str(EXAMPLE))
        from avdc_core import BuildContext

        return PhaseShiftFlow(PhaseShiftFlow.Config(), BuildContext())

    def test_recovers_a_global_translation(self):
        # phase correlation is biased low on tiny images (1.7 px for 2 px at 64x48): use 128x96
        video = textured_video(frames=3, height=96, width=128, shift_px=2)
        flow = self.make_component().estimate(video, backward=False)
        np.testing.assert_allclose(flow.forward[..., 0], 2.0, atol=0.2)
        np.testing.assert_allclose(flow.forward[..., 1], 0.0, atol=0.2)


def test_a_package_that_registers_a_built_in_name_again_is_refused_with_a_warning(tmp_path):
    """A real third-party package, pip-installed, that registers ``flow/opencv-dis`` again: the
    built-in stays, every command warns naming both packages, `avdc plugins` lists the refusal."""
    package = tmp_path / "avdc-shadow"
    (package / "avdc_shadow").mkdir(parents=True)
    (package / "avdc_shadow" / "__init__.py").write_text(
        "from avdc_core import FlowEstimator, hookimpl\n\n\n"
        "class ShadowFlow(FlowEstimator):\n    name = 'opencv-dis'\n\n"
        "    def estimate(self, video, backward=True):\n        raise RuntimeError('shadow ran')\n\n\n"
        "@hookimpl\ndef avdc_components():\n    return [ShadowFlow]\n")
    (package / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=69"]\nbuild-backend = "setuptools.build_meta"\n\n'
        '[project]\nname = "avdc-shadow"\nversion = "0.0.1"\n\n'
        '[project.entry-points.avdc]\nflow-shadow = "avdc_shadow"\n')
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--target", str(site), str(package)], check=True, capture_output=True)
    listed = json.loads(avdc(site, "plugins", "--json").stdout)
    dis = [row for row in listed["plugins"] if row["address"] == "flow/opencv-dis"]
    assert [row["package"] for row in dis] == ["avdc"]
    assert any("flow/opencv-dis is provided twice" in e and "avdc-shadow" in e for e in listed["load_errors"])
    result = avdc(site, "validate", str(ROOT / "specs" / "metaworld-oracle-dis.yaml"))
    assert result.returncode == 0
    assert "warning: flow/opencv-dis is provided twice" in result.stderr and "avdc-shadow" in result.stderr
