"""``avdc report``: one static HTML page of an ``avdc eval`` or ``avdc run`` folder.

The page needs no server and no network: it links the folder's own files (videos, plan figures)
by relative paths and inlines its style and its few lines of script. It shows the paper-style
success table (each cell links to its episodes), the success chart, the timing per stage, every
episode's outcome with its failure reasons and, unfolded on demand, its video and plans (plan
video, tracked points, flow with its colour key, recovered motion), and the spec that produced it.
For hundreds of episodes the list is paged (50 per page, filterable) and media load only when an
episode is opened (``preload="none"``, ``loading="lazy"``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import InputDataError
from .run_folder import RUN_FILE, read_record
from .summary import percent, summarize

PLAN_FIGURES = (("video", "plan.gif"), ("tracks", "tracks.png"), ("flow", "flow.png"), ("motion", "trajectory.png"))
BROWSER_VIDEOS = (".webm", ".mp4")


@dataclass
class PlanMedia:
    """One plan's files, as paths relative to the report."""

    index: int
    figures: dict[str, str]
    video: str | None = None


@dataclass
class EpisodeEntry:
    """One episode of the folder: its record and its media, relative to the report."""

    record: dict[str, Any]
    video: str | None = None
    plans: list[PlanMedia] = field(default_factory=list)
    first_of_cell: bool = False
    """The first episode of its task x setting: the success table's cell links to it."""

    @property
    def anchor(self) -> str:
        return cell_anchor(self.record["task"], self.record["setting"])


def cell_anchor(task: str, setting: str) -> str:
    return f"cell-{task}-{setting}"


def collect_episodes(run_dir: Path, report_dir: Path) -> list[EpisodeEntry]:
    """The episodes of an ``avdc eval`` folder (``episodes/``) or an ``avdc run`` folder
    (``episode_NNNN/result.json``), with media paths relative to ``report_dir``."""
    def relative(path: Path) -> str:
        return Path(os.path.relpath(path, report_dir)).as_posix()

    def plans_in(folder: Path, videos: Path | None) -> list[PlanMedia]:
        """The plans with figures (``--plans``: ``folder/plan_NN/``), a video (``--video``:
        ``videos/plan_NN.webm``) or both."""
        names = {path.stem for path in folder.glob("plan_[0-9]*")}
        if videos is not None:
            names |= {path.stem for path in videos.glob("plan_[0-9]*") if path.suffix in BROWSER_VIDEOS}
        plans = []
        for name in sorted(names):
            figures = {key: relative(folder / name / file) for key, file in PLAN_FIGURES
                       if (folder / name / file).is_file()}
            video = _first_file(videos, [name + suffix for suffix in BROWSER_VIDEOS])
            plans.append(PlanMedia(int(name.removeprefix("plan_")), figures, relative(video) if video else None))
        return plans

    entries = []
    if (run_dir / "episodes").is_dir():
        for path in sorted((run_dir / "episodes").glob("*/*/seed_*.json")):
            record = read_record(path)
            if record is None:
                continue
            episode = path.relative_to(run_dir / "episodes").with_suffix("")
            videos = run_dir / "videos" / episode
            video = _first_file(videos, [f"episode{suffix}" for suffix in BROWSER_VIDEOS])
            entries.append(EpisodeEntry(record, relative(video) if video else None,
                                        plans_in(run_dir / "plans" / episode, videos)))
    else:
        for path in sorted(run_dir.glob("episode_*/result.json")):
            record = read_record(path)
            if record is not None:
                entries.append(EpisodeEntry(record, None, plans_in(path.parent, None)))
    if not entries and not (run_dir / "episodes").is_dir():
        raise InputDataError(f"{str(run_dir)!r} is neither an avdc eval folder (episodes/<task>/<setting>/"
                             "seed_NNN.json) nor an avdc run folder (episode_NNNN/result.json); give the "
                             "--out folder of one of them")
    return entries


def _first_file(folder: Path | None, names: list[str]) -> Path | None:
    return next((folder / name for name in names if folder is not None and (folder / name).is_file()), None)


def render_report(run_dir: Path, out: Path) -> Path:
    """Write the report of ``run_dir`` to ``out`` (an ``.html`` file); returns ``out``."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    if not run_dir.is_dir():
        raise InputDataError(f"RUN_DIR {str(run_dir)!r} is not a folder; give the --out of avdc eval or avdc run")
    if out.suffix.lower() not in (".html", ".htm"):
        raise InputDataError(f"--out {str(out)!r}: a report is an .html file")
    out.parent.mkdir(parents=True, exist_ok=True)
    episodes = _in_run_order(collect_episodes(run_dir.resolve(), out.parent.resolve()), run_dir)
    for entry in {entry.anchor: entry for entry in reversed(episodes)}.values():
        entry.first_of_cell = True
    summary = summarize([entry.record for entry in episodes])
    run = _read_run(run_dir)
    chart = run_dir / "success.png"
    environment = Environment(loader=PackageLoader("avdc_core.evaluation", "."), autoescape=select_autoescape())
    html = environment.get_template("report.html.j2").render(
        title=run.get("source", run_dir.name), run=run, summary=summary, episodes=episodes,
        tasks=list(summary["per_task_setting"]), settings=list(summary["per_setting"]),
        chart=Path(os.path.relpath(chart.resolve(), out.parent.resolve())).as_posix() if chart.is_file() else None,
        spec_yaml=yaml.safe_dump(run["spec"], sort_keys=False) if "spec" in run else None,
        cell_anchor=cell_anchor, percent=percent)
    out.write_text(html)
    return out


def _in_run_order(episodes: list[EpisodeEntry], run_dir: Path) -> list[EpisodeEntry]:
    """Episodes in the evaluation's own order of tasks and settings (its ``summary.json``, as
    asked on the command line), then by seed; alphabetical for what it does not list."""
    try:
        cells = json.loads((run_dir / "summary.json").read_text())["per_task_setting"]
        tasks, settings = list(cells), list(next(iter(cells.values()), {}))
    except (OSError, json.JSONDecodeError, KeyError, TypeError, AttributeError):
        tasks, settings = [], []

    def position(names: list[str], name: str) -> tuple[int, str]:
        return (names.index(name), "") if name in names else (len(names), name)

    return sorted(episodes, key=lambda e: (position(tasks, e.record["task"]), position(settings, e.record["setting"]),
                                           e.record["seed"]))


def _read_run(run_dir: Path) -> dict[str, Any]:
    """``run.json`` (which spec made the folder), or ``{}`` for a folder made before it existed."""
    try:
        return json.loads((run_dir / RUN_FILE).read_text())
    except (OSError, json.JSONDecodeError):
        return {}
