"""avdc's own commands: plugins, validate, run, plan, doctor."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import numpy as np
import typer

from avdc_core import Camera, InputDataError, MissingResourceError, Observation, SegmentTarget
from avdc_core.artifacts import write_json, write_plan_artifacts
from avdc_core.pipeline import build_pipeline
from avdc_core.registry import Registry
from avdc_core.runner import run_episode
from avdc_core.spec import load_spec

DEFAULT_SPEC = Path(__file__).with_name("default_spec.yaml")
"""The embedded default pipeline: the best one that runs offline today (see README)."""

SpecArg = Annotated[Optional[Path], typer.Argument(help="pipeline spec (YAML); the embedded default if omitted")]


def _registry(ctx: typer.Context) -> Registry:
    return ctx.obj if isinstance(ctx.obj, Registry) else Registry.discover()


def plugins(ctx: typer.Context,
            as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False) -> None:
    """List installed components (kind, name, package, version) and plugins that failed to load."""
    registry = _registry(ctx)
    rows = [{"kind": p.kind, "name": p.name, "address": p.address, "package": p.package,
             "version": p.version, "summary": p.summary} for p in registry.plugins()]
    errors = [str(e) for e in registry.load_errors]
    if as_json:
        typer.echo(json.dumps({"plugins": rows, "load_errors": errors}, indent=2))
        return
    width = max((len(r["address"]) for r in rows), default=10)
    for row in rows:
        typer.echo(f"{row['address']:<{width}}  {row['package']} {row['version']}  {row['summary']}")
    for error in errors:
        typer.echo(f"! {error}", err=True)


def validate(ctx: typer.Context, spec: SpecArg = None) -> None:
    """Check a spec: its shape, the plugins it names and their parameters."""
    resolved = load_spec(spec or DEFAULT_SPEC, _registry(ctx))
    resolved.check_files()
    for kind, component in resolved.components.items():
        typer.echo(f"{kind:<12} {component.info.address}  ({component.info.package})")
    typer.echo(f"ok: {spec or DEFAULT_SPEC}")


def run(ctx: typer.Context, spec: SpecArg = None,
        episodes: Annotated[int, typer.Option(min=1, help="episodes to run")] = 1,
        seed: Annotated[int, typer.Option(help="seed of the first episode")] = 0,
        out: Annotated[Path, typer.Option(help="output folder")] = Path("runs/latest")) -> None:
    """Run the closed loop (plan → execute → replan) and write results and plan artifacts."""
    resolved = load_spec(spec or DEFAULT_SPEC, _registry(ctx))
    pipeline = build_pipeline(resolved)
    executor = pipeline.require_executor()
    successes = 0
    try:
        for episode in range(episodes):
            episode_dir = out / f"episode_{seed + episode:04d}"

            def save(index: int, plan, episode_dir: Path = episode_dir) -> None:
                write_plan_artifacts(plan, episode_dir / f"plan_{index:02d}")

            result = run_episode(pipeline.planner, executor, resolved.spec.replan,
                                 seed=seed + episode, task_text=resolved.spec.task, on_plan=save)
            write_json(episode_dir / "result.json", result.to_json())
            successes += result.success
            typer.echo(f"episode {seed + episode}: {result.end} after {result.steps} steps, "
                       f"{result.replans} replan(s); plan {result.plan_seconds:.2f}s, "
                       f"execute {result.execute_seconds:.2f}s")
            for failure in result.plan_failures:
                typer.echo(f"  could not plan: {failure}")
    finally:
        pipeline.close()
    typer.echo(f"success {successes}/{episodes}; results and plan artifacts in {out}/")


def _read_depth(path: Path) -> np.ndarray:
    if not path.is_file():
        raise MissingResourceError(f"depth file {str(path)!r} does not exist")
    if path.suffix == ".npy":
        return np.load(path, allow_pickle=False).astype(np.float64)
    import cv2

    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if raw is None or raw.dtype != np.uint16 or raw.ndim != 2:
        raise InputDataError(f"depth file {str(path)!r} must be a .npy of metres or a 16-bit "
                             "single-channel PNG of millimetres")
    return raw.astype(np.float64) / 1000.0


def _read_rgb(path: Path) -> np.ndarray:
    import imageio.v3 as iio

    if not path.is_file():
        raise MissingResourceError(f"image file {str(path)!r} does not exist")
    image = iio.imread(path)
    if image.ndim != 3 or image.shape[2] not in (3, 4) or image.dtype != np.uint8:
        raise InputDataError(f"image {str(path)!r} has shape {image.shape} ({image.dtype}); "
                             "expected an 8-bit RGB image")
    return np.ascontiguousarray(image[..., :3])


def _read_camera(path: Path) -> Camera:
    if not path.is_file():
        raise MissingResourceError(f"camera file {str(path)!r} does not exist")
    data = json.loads(path.read_text())
    missing = {"K", "width", "height"} - set(data)
    if missing:
        raise InputDataError(f"camera file {str(path)!r} lacks {sorted(missing)}; expected keys "
                             "K (3x3), width, height and optionally cam_to_world (4x4)")
    return Camera(np.array(data["K"]), np.array(data.get("cam_to_world", np.eye(4))),
                  data["width"], data["height"])


def plan(ctx: typer.Context, spec: SpecArg = None,
         image: Annotated[Path, typer.Option(help="current RGB frame (PNG/JPG)")] = ...,
         depth: Annotated[Path, typer.Option(help="metric depth: .npy (m) or 16-bit PNG (mm)")] = ...,
         camera: Annotated[Path, typer.Option(help="camera JSON: K, width, height[, cam_to_world]")] = ...,
         text: Annotated[str, typer.Option(help="task description")] = ...,
         target: Annotated[str, typer.Option(help="object to move (segmenter target)")] = "object",
         out: Annotated[Path, typer.Option(help="output folder")] = Path("runs/plan")) -> None:
    """Plan once from an image, its depth and camera: writes video, flow, tracks, trajectory."""
    if not text.strip():
        raise InputDataError("--text is empty; describe the task, e.g. --text 'door open'")
    resolved = load_spec(spec or DEFAULT_SPEC, _registry(ctx))
    observation = Observation(_read_rgb(image), _read_depth(depth), _read_camera(camera))
    pipeline = build_pipeline(resolved)
    try:
        result = pipeline.planner.plan(observation, text, SegmentTarget(target))
    finally:
        pipeline.close()
    for name, path in write_plan_artifacts(result, out).items():
        typer.echo(f"{name:<10} {path}")


def doctor(ctx: typer.Context) -> None:
    """What is installed, which rendering backend works, what is missing and how to get it."""
    from avdc_cli.doctor import report

    for line in report(_registry(ctx)):
        typer.echo(line)


def register(app: typer.Typer) -> None:
    for command in (plugins, validate, run, plan, doctor):
        app.command()(command)
