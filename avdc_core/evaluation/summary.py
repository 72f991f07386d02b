"""The summary of an evaluation: success per task x setting, per task, per setting, overall;
replans and timings; the paper-style Markdown table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..artifacts import write_json
from .figures import bar_chart
from .jobs import EpisodeJob
from .run_folder import read_record


def summarize(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Success rates per task x setting, per task, per setting and overall; replans, timings."""
    def rate(items: list[dict[str, Any]]) -> float:
        return float(np.mean([bool(r["success"]) for r in items])) if items else float("nan")

    tasks = list(dict.fromkeys(r["task"] for r in records))
    settings = list(dict.fromkeys(r["setting"] for r in records))
    cells = {task: {setting: rate([r for r in records if r["task"] == task and r["setting"] == setting])
                    for setting in settings} for task in tasks}
    plans = sum(len(r.get("plan_residuals_px", [])) for r in records)
    stages: dict[str, float] = {}
    for record in records:
        for stage, seconds in record.get("plan_stage_seconds", {}).items():
            stages[stage] = stages.get(stage, 0.0) + seconds
    ends: dict[str, int] = {}
    for record in records:
        ends[record.get("end", "?")] = ends.get(record.get("end", "?"), 0) + 1
    return {
        "episodes": len(records),
        "overall_success": rate(records),
        "per_task": {task: rate([r for r in records if r["task"] == task]) for task in tasks},
        "per_setting": {s: rate([r for r in records if r["setting"] == s]) for s in settings},
        "per_task_setting": cells,
        "mean_replans": float(np.mean([r.get("replans", 0) for r in records])) if records else 0.0,
        "mean_steps": float(np.mean([r.get("steps", 0) for r in records])) if records else 0.0,
        "mean_plan_seconds": float(np.mean([r.get("plan_seconds", 0.0) for r in records])) if records else 0.0,
        "plans": plans,
        "mean_stage_seconds_per_plan": {stage: total / plans for stage, total in stages.items()} if plans else {},
        "mean_episode_seconds": float(np.mean([r.get("seconds", 0.0) for r in records])) if records else 0.0,
        "ends": ends,
        "errors": [{"task": r["task"], "setting": r["setting"], "seed": r["seed"], "error": r["error"]}
                   for r in records if r.get("end") == "error"],
    }


def markdown_table(summary: dict[str, Any]) -> str:
    """Tasks as columns (plus Overall), settings as rows plus an ``all`` row; success in %."""
    cells = summary["per_task_setting"]
    tasks = list(cells)
    settings = list(summary["per_setting"])
    header = "| setting | " + " | ".join(tasks) + " | Overall |"
    lines = [header, "|" + "---|" * (len(tasks) + 2)]
    for setting in settings:
        values = [cells[t].get(setting, float("nan")) for t in tasks]
        lines.append(f"| {setting} | " + " | ".join(percent(v) for v in values)
                     + f" | {percent(summary['per_setting'][setting])} |")
    lines.append("| all | " + " | ".join(percent(summary["per_task"][t]) for t in tasks)
                 + f" | **{percent(summary['overall_success'])}** |")
    return "\n".join(lines) + "\n"


def percent(value: float) -> str:
    """A success rate as a table shows it: ``62.5``, or ``-`` for no episodes (NaN)."""
    return "-" if value != value else f"{100 * value:.1f}"


def write_summary(jobs: list[EpisodeJob], out: Path) -> dict[str, Any]:
    """Summarise the finished episodes of ``jobs`` into ``summary.json``, ``results.md`` and
    ``success.png`` under ``out``; returns the summary."""
    records = [record for record in (read_record(out / job.relative_path) for job in jobs)
               if record is not None]
    summary = summarize(records)
    summary["requested_episodes"] = len(jobs)
    write_json(out / "summary.json", summary)
    (out / "results.md").write_text(markdown_table(summary) if records else "no episodes\n")
    if records:
        bar_chart(summary, out / "success.png")
    return summary
