"""Plots of residual hazard with their uncertainty bands (matplotlib, no display needed)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import IO

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.ticker import FuncFormatter

from ..hazard.inert import WARNING
from ..locale import Translate, translator

ENGLISH = translator("en")


def plot_curve(frame: pd.DataFrame, path: Path | IO[bytes], tr: Translate = ENGLISH
               ) -> Path | IO[bytes]:
    """Expected functioning items per day: median line, mean dashed, 90 % band; the
    warning printed under the plot."""
    fig, ax = plt.subplots(figsize=(9, 5), dpi=110)
    ax.fill_between(frame["date"], frame["expected_q05"], frame["expected_q95"],
                    color="#fdae6b", alpha=0.6, label=tr("90 % interval"))
    ax.plot(frame["date"], frame["expected_q50"], color="#d7301f", label=tr("median"))
    ax.plot(frame["date"], frame["expected_mean"], color="#7f0000", linestyle="--",
            label=tr("mean"))
    ax.set_ylabel(tr("expected functioning items"))
    ax.set_ylim(bottom=0)
    unit = frame["unit"].iloc[0]
    ax.set_title(tr("Residual hazard, {unit}: scenario {scenario}, {samples} samples").format(
        unit=tr(str(unit)), scenario=frame["scenario"].iloc[0],
        samples=frame["samples"].iloc[0]))
    ax.legend(loc="upper right")
    ax.grid(alpha=0.3)
    fig.text(0.01, 0.01, "\n".join(textwrap.wrap(tr("WARNING: ") + tr(WARNING), 130)),
             fontsize=7, va="bottom")
    fig.autofmt_xdate()
    fig.subplots_adjust(bottom=0.22)
    fig.savefig(path, format="png")
    plt.close(fig)
    return path


def plot_fits(panels: list[dict[str, object]], path: Path | IO[bytes],
              tr: Translate = ENGLISH) -> Path | IO[bytes]:
    """One panel per item type: observed share still functional by age (binned, with
    90 % Clopper–Pearson bars), the isotonic estimate, the fitted S(a) and the catalog's."""
    import numpy as np

    from ..evidence.bounds import clopper_pearson
    from ..evidence.isotonic import current_status_npmle
    from ..hazard.survival import survival

    cols = min(3, len(panels)) or 1
    rows = -(-len(panels) // cols) or 1
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.6 * rows), dpi=100,
                             squeeze=False)
    for ax, panel in zip(axes.ravel(), panels, strict=False):
        age = np.asarray(panel["age_h"], dtype=float)
        functional = np.asarray(panel["functional"], dtype=bool)
        edges = np.geomspace(max(age.min(), 0.5), age.max() * 1.01, 12)
        which = np.clip(np.searchsorted(edges, age) - 1, 0, edges.size - 2)
        n = np.bincount(which, minlength=edges.size - 1)
        k = np.bincount(which, weights=functional, minlength=edges.size - 1)
        mid = np.sqrt(edges[:-1] * edges[1:])
        has = n > 0
        low, high = clopper_pearson(k[has], n[has], 0.90)
        share = k[has] / n[has]
        ax.errorbar(mid[has], share, yerr=[share - low, high - share], fmt="o", color="black",
                    capsize=2, label=tr("observed (90 % CP)"))
        npmle = current_status_npmle(age, functional)
        ax.step(npmle["age_h"], npmle["npmle"], where="post", color="#2c7fb8",
                label=tr("isotonic estimate"))
        grid = np.geomspace(edges[0], edges[-1], 300)
        for params, style, label in ((panel["fitted"], "-", tr("fitted")),
                                     (panel["catalog"], "--", tr("catalog"))):
            p = {key: np.asarray(v) for key, v in dict(params).items()}  # type: ignore[call-overload]
            ax.plot(grid, survival(grid, p, life=str(panel["life"])), style, color="#d7301f",
                    label=label)
        ax.set_xscale("log")
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(str(panel["code"]), fontsize=10)
        ax.set_xlabel(tr("age at finding (hours)"))
        ax.set_ylabel(tr("share still functional"))
        ax.legend(fontsize=7)
    for ax in axes.ravel()[len(panels):]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, format="png")
    plt.close(fig)
    return path


def plot_region_curves(curves: dict[str, pd.DataFrame], path: Path | IO[bytes],
                       tr: Translate = ENGLISH) -> Path | IO[bytes]:
    """Small multiples: one panel per region, median with its 90 % band."""
    cols = min(2, len(curves)) or 1
    rows = -(-len(curves) // cols) or 1
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.2 * rows), dpi=100,
                             squeeze=False)
    for ax, (region, frame) in zip(axes.ravel(), curves.items(), strict=False):
        ax.fill_between(frame["date"], frame["expected_q05"], frame["expected_q95"],
                        color="#fdae6b", alpha=0.6, label=tr("90 % interval"))
        ax.plot(frame["date"], frame["expected_q50"], color="#d7301f", label=tr("median"))
        ax.set_title(tr("region {region}").format(region=region), fontsize=10)
        ax.set_ylim(bottom=0)
        ax.set_ylabel(tr("expected functioning items"), fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in axes.ravel()[len(curves):]:
        ax.axis("off")
    fig.autofmt_xdate()
    fig.text(0.01, 0.005, "\n".join(textwrap.wrap(tr("WARNING: ") + tr(WARNING), 150)),
             fontsize=6, va="bottom")
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(path, format="png")
    plt.close(fig)
    return path


def plot_release(monthly: pd.DataFrame, open_area: pd.DataFrame, path: Path | IO[bytes],
                 tr: Translate = ENGLISH) -> Path | IO[bytes]:
    """Square metres cancelled, reduced and cleared per month (stacked bars) and the hazard
    area still open at each month's end (a line, on its own axis)."""
    fig, ax = plt.subplots(figsize=(9, 4.5), dpi=110)
    bottom = None
    for column, label, colour in (("cancelled_m2", tr("cancelled m²"), "#9ecae1"),
                                  ("reduced_m2", tr("reduced m²"), "#4292c6"),
                                  ("cleared_m2", tr("cleared m²"), "#08519c")):
        values = monthly[column] if len(monthly) else pd.Series(dtype=float)
        ax.bar(monthly["month"] if len(monthly) else [], values, bottom=bottom, label=label,
               color=colour)
        bottom = values if bottom is None else bottom + values
    ax.set_ylabel(tr("released m²"))
    ax.tick_params(axis="x", labelrotation=45)
    ax.grid(alpha=0.3, axis="y")
    remaining = ax.twinx()
    remaining.plot(open_area["at"].str.slice(0, 7), open_area["open_m2"], color="#d7301f",
                   marker="o", label=tr("open m²"))
    remaining.set_ylabel(tr("open m²"))
    remaining.set_ylim(bottom=0)
    for axis in (ax, remaining):  # whole square metres, never an offset like "1e7"
        axis.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    handles = ax.get_legend_handles_labels()[0] + remaining.get_legend_handles_labels()[0]
    ax.legend(handles, [str(h.get_label()) for h in handles], loc="upper left", fontsize=8)
    ax.set_title(tr("Land released by month and hazard area still open"))
    fig.tight_layout()
    fig.savefig(path, format="png")
    plt.close(fig)
    return path
