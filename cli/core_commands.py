"""avdc's own commands: plugins, validate, run, plan, doctor (``eval``, ``train``, ``segment`` have
their own modules)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from avdc_core import InputDataError, Observation, SegmentTarget
from avdc_core.artifacts import write_json, write_plan_artifacts
from avdc_core.evaluation import play_episode
from avdc_core.evaluation.jobs import grid_cell
from avdc_core.evaluation.run_folder import RUN_FILE, run_record
from avdc_core.pipeline import build_pipeline
from avdc_core.readers import read_camera, read_depth, read_rgb
from avdc_core.registry import Registry
from avdc_core.spec import load_spec

DEFAULT_SPEC = Path(__file__).with_name("default_spec.yaml")
"""The embedded default pipeline: the best one that runs offline today (see README)."""

SpecArg = Annotated[Path | None, typer.Argument(help="pipeline spec (YAML); the embedded default if omitted")]


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
        seed: Annotated[int, typer.Option(min=0, help="seed of the first episode")] = 0,
        out: Annotated[Path, typer.Option(help="output folder")] = Path("runs/latest")) -> None:
    """Run the closed loop (plan → execute → replan) and write results and plan artifacts
    (``avdc report OUT`` shows them)."""
    path = spec or DEFAULT_SPEC
    resolved = load_spec(path, _registry(ctx))
    resolved.check_files()
    pipeline = build_pipeline(resolved)
    write_json(out / RUN_FILE, run_record(resolved, str(path)))
    task, setting = grid_cell(resolved)
    successes = 0
    try:
        for episode_seed in range(seed, seed + episodes):
            episode_dir = out / f"episode_{episode_seed:04d}"
            result = play_episode(pipeline, resolved, episode_seed, plans_dir=episode_dir,
                                  title=f"{task} / {setting} / seed {episode_seed}")
            write_json(episode_dir / "result.json",
                       {"task": task, "setting": setting, "seed": episode_seed, **result.to_json()})
            successes += result.success
            typer.echo(f"episode {episode_seed}: {result.end} after {result.steps} steps, "
                       f"{result.replans} replan(s); plan {result.plan_seconds:.2f}s, "
                       f"execute {result.execute_seconds:.2f}s")
            for failure in result.plan_failures:
                typer.echo(f"  could not plan: {failure}")
    finally:
        pipeline.close()
    typer.echo(f"success {successes}/{episodes}; results and plan artifacts in {out}/")


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
    observation = Observation(read_rgb(image), read_depth(depth), read_camera(camera))
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
