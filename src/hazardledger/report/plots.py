"""Plots of residual hazard with their uncertainty bands (matplotlib, no display needed)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from ..hazard.inert import WARNING


def plot_curve(frame: pd.DataFrame, path: Path) -> Path:
    """Expected functioning items per day: median line, mean dashed, 90 % band; the
    warning printed under the plot."""
    fig, ax = plt.subplots(figsize=(9, 5), dpi=110)
    ax.fill_between(frame["date"], frame["expected_q05"], frame["expected_q95"],
                    color="#fdae6b", alpha=0.6, label="90 % interval")
    ax.plot(frame["date"], frame["expected_q50"], color="#d7301f", label="median")
    ax.plot(frame["date"], frame["expected_mean"], color="#7f0000", linestyle="--", label="mean")
    ax.set_ylabel("expected functioning items")
    ax.set_ylim(bottom=0)
    unit = frame["unit"].iloc[0]
    ax.set_title(f"Residual hazard, {unit}: scenario {frame['scenario'].iloc[0]}, "
                 f"{frame['samples'].iloc[0]} samples")
    ax.legend(loc="upper right")
    ax.grid(alpha=0.3)
    fig.text(0.01, 0.01, "\n".join(textwrap.wrap("WARNING: " + WARNING, 130)), fontsize=7,
             va="bottom")
    fig.autofmt_xdate()
    fig.subplots_adjust(bottom=0.22)
    fig.savefig(path)
    plt.close(fig)
    return path
