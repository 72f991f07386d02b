"""The paper's iTHOR object-navigation protocol: four scenes, three targets each.

As in the AVDC authors' evaluation: 64x64 RGB-D, 90° field of view, 45° turns, 0.25 m steps,
visibility distance 1.5 m, a random reachable start per seed, 8-frame plans, at most 50 actions;
success = the target is visible at the last step.
"""

from __future__ import annotations

import difflib

from avdc_core.errors import SpecError

PAPER_SCENES = {
    "FloorPlan1": ("Toaster", "Spatula", "Bread"),
    "FloorPlan201": ("Painting", "Laptop", "Television"),
    "FloorPlan301": ("Blinds", "DeskLamp", "Pillow"),
    "FloorPlan401": ("Mirror", "ToiletPaper", "SoapBar"),
}
"""Scene → its targets (AI2-THOR object types)."""

TARGET_SCENES = {target: scene for scene, targets in PAPER_SCENES.items() for target in targets}
"""Target → the paper's scene for it."""

FOV_DEG = 90.0
ROTATE_STEP_DEG = 45.0
GRID_SIZE_M = 0.25
VISIBILITY_DISTANCE_M = 1.5
MAX_STEPS = 50
RESOLUTION = (64, 64)


def check_target(target: str, field: str = "target") -> str:
    """``target`` if it is one of the paper's; raises listing them and the closest."""
    if target not in TARGET_SCENES:
        close = difflib.get_close_matches(target, TARGET_SCENES, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ";"
        raise SpecError(f"{field}: unknown iTHOR target {target!r}{hint} the paper's targets: "
                        f"{', '.join(TARGET_SCENES)}")
    return target


def target_text(target: str) -> str:
    """The text given to a video generator: the target's name spaced out (``DeskLamp`` → ``desk
    lamp``), as the AVDC dataset's folder names give it."""
    from avdc_core.datasets import task_text

    return task_text(target)
