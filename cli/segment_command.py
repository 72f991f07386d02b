"""``avdc segment``: run a spec's segmenter on one image; writes the mask and an overlay PNG."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from avdc_cli.core_commands import DEFAULT_SPEC, SpecArg, _registry
from avdc_core import Camera, InputDataError, Observation, SegmentTarget, SpecError, Video
from avdc_core.interfaces import BuildContext
from avdc_core.masks import draw_overlay
from avdc_core.planner import FIRST_FLOW_HINT
from avdc_core.readers import read_depth, read_rgb
from avdc_core.spec import load_spec


def parse_numbers(option: str, text: str, counts: tuple[int, ...]) -> list[float]:
    """``"1,2.5"`` → ``[1.0, 2.5]``; raises naming ``option`` unless it has one of ``counts`` values."""
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        values = []
    if len(values) not in counts:
        shapes = {2: "u,v", 3: "u,v,label", 4: "x0,y0,x1,y1"}
        raise InputDataError(f"{option} {text!r}: expected {' or '.join(shapes[c] for c in counts)} "
                             "(pixels, comma-separated numbers)")
    return values


def prompt_hints(points: list[str], box: str | None) -> dict:
    """Command-line prompts as segment-target hints (``points``, ``point_labels``, ``box``)."""
    hints: dict = {}
    if points:
        parsed = [parse_numbers("--point", text, (2, 3)) for text in points]
        hints["points"] = [values[:2] for values in parsed]
        hints["point_labels"] = [int(values[2]) if len(values) == 3 else 1 for values in parsed]
    if box is not None:
        hints["box"] = parse_numbers("--box", box, (4,))
    return hints


def segment(ctx: typer.Context, spec: SpecArg = None,
            image: Annotated[Path, typer.Option(help="RGB image (PNG/JPG)")] = ...,
            depth: Annotated[Path | None, typer.Option(
                help="metric depth: .npy (m) or 16-bit PNG (mm); without it every pixel counts "
                     "as having valid depth")] = None,
            target: Annotated[str, typer.Option(help="what to segment (segment-target name)")] = "object",
            point: Annotated[list[str] | None, typer.Option(
                help="prompt point u,v (object) or u,v,0 (background); repeatable; replaces the "
                     "spec's prompts")] = None,
            box: Annotated[str | None, typer.Option(help="prompt box x0,y0,x1,y1 (pixels)")] = None,
            next_image: Annotated[Path | None, typer.Option(
                help="the following frame: its flow (spec's flow plugin) goes to flow-motion")] = None,
            out: Annotated[Path, typer.Option(help="output folder")] = Path("runs/segment")) -> None:
    """Segment one image with the spec's segmenter: writes mask.png and overlay.png."""
    resolved = load_spec(spec or DEFAULT_SPEC, _registry(ctx))
    context = BuildContext(base_dir=resolved.base_dir, device=resolved.spec.device)
    rgb = read_rgb(image)
    height, width = rgb.shape[:2]
    # Segmenters read pixels, not geometry: a nominal camera makes the Observation well-formed.
    observation = Observation(rgb, read_depth(depth) if depth else np.ones((height, width)),
                              Camera.from_fov(width, height, 60.0))
    section = resolved.components["segmenter"]
    hints = prompt_hints(point or [], box)
    if hints and not getattr(section.info.component, "accepts_prompts", False):
        raise SpecError(f"--point/--box need a segmenter that takes prompts (e.g. segmenter/sam); "
                        f"the spec's segmenter is {section.info.address}")
    if next_image is not None:
        following = read_rgb(next_image)
        observation.camera.check_image(f"--next-image {str(next_image)!r}", following)
        flow = resolved.components["flow"].build(context).estimate(Video(np.stack([rgb, following])),
                                                                   backward=False)
        hints[FIRST_FLOW_HINT] = flow.forward[0]
    mask = section.build(context).segment(observation, SegmentTarget(target, hints))

    import imageio.v3 as iio

    out.mkdir(parents=True, exist_ok=True)
    iio.imwrite(out / "mask.png", mask.pixels.astype(np.uint8) * 255)
    iio.imwrite(out / "overlay.png", draw_overlay(rgb, mask.pixels))
    typer.echo(f"{mask.source}: {mask.count} px ({100 * mask.count / mask.pixels.size:.1f} % of "
               f"{width}x{height}) for target {target!r}")
    typer.echo(f"mask     {out / 'mask.png'}\noverlay  {out / 'overlay.png'}")


def register(app: typer.Typer) -> None:
    app.command()(segment)
