"""Figures of an evaluation summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..plan_figures import pyplot


def bar_chart(summary: dict[str, Any], path: Path) -> None:
    """Success per task, one bar per setting, plus the overall mean as a line."""
    plt = pyplot()
    cells = summary["per_task_setting"]
    tasks, settings = list(cells), list(summary["per_setting"])
    width = 0.8 / max(len(settings), 1)
    figure, axis = plt.subplots(figsize=(max(6.0, 0.9 * len(tasks) + 2), 4))
    for index, setting in enumerate(settings):
        values = [100 * cells[t].get(setting, np.nan) for t in tasks]
        axis.bar(np.arange(len(tasks)) + (index - (len(settings) - 1) / 2) * width, values, width,
                 label=setting)
    axis.axhline(100 * summary["overall_success"], color="k", linestyle="--",
                 label=f"overall {100 * summary['overall_success']:.1f}%")
    axis.set_xticks(np.arange(len(tasks)), tasks, rotation=35, ha="right")
    axis.set_ylabel("success (%)")
    axis.set_ylim(0, 105)
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
