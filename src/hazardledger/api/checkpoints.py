"""The web map's slider dates, and what those who wait for their figures are told.

The server prepares the residual hazard and the priorities (:mod:`.prepared`) at
**checkpoints**: today, and the first day of every month from two years back to one year
ahead. A checkpoint's figures are exactly those ``Ledger.residual_hazard`` gives for that
date, with the same samples and seed: the map moves from checkpoint to checkpoint and never
interpolates between them.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..domain.item_types import SCENARIOS
from .figure_cache import Job

BACK_DAYS, AHEAD_DAYS = 730, 365  # the web map's slider
RETRY_AFTER_S = 2


def earlier_state(writes_since: int | None, being_updated: bool) -> dict[str, Any]:
    """What is said of figures of an earlier state of the ledger than the present one."""
    return {"state": "earlier", "writes_since": writes_since, "being_updated": being_updated,
            "description": "figures of the ledger before its latest writes, while those of "
                           "its present state are prepared"}


class BeingPrepared(Exception):
    """The figures asked for are not ready yet; ``progress`` says how far they are."""

    def __init__(self, progress: dict[str, Any]):
        super().__init__(progress["description"])
        self.progress = progress


class Superseded(Exception):
    """A checkpoint being prepared ahead gives way to a date asked for or a later state."""


def check_scenario(scenario: str) -> None:
    """ValueError unless ``scenario`` is one of the catalog's scenarios."""
    if scenario not in SCENARIOS:
        raise ValueError(f"not a scenario (scenarios: {', '.join(SCENARIOS)})")


def checkpoints(today: pd.Timestamp) -> list[pd.Timestamp]:
    """Today and the first of every month on the slider, oldest first."""
    today = today.normalize()
    months = pd.date_range(today - pd.Timedelta(days=BACK_DAYS),
                           today + pd.Timedelta(days=AHEAD_DAYS), freq="MS")
    return sorted({today, *months})


def progress(job: Job, current: dict[str, Any] | None, waiting: list[Job], busy: int = 0
             ) -> dict[str, Any]:
    """What a request waiting for ``job`` is told: the date being prepared (``current``),
    how many wait before its own (``waiting``, in order), or with ``busy`` that so many
    dates asked for are being prepared already and it should ask again."""
    what = job.shown() if job.day is not None else "exposure"
    ahead = next((i for i, other in enumerate(waiting) if other == job), len(waiting))
    if busy:
        text = (f"{busy} dates off the map's checkpoints are being prepared; ask again for "
                f"{what} once they are ready")
    elif current is not None and current["date"] == job.shown():
        share = current["blocks_done"] / max(current["blocks"], 1)
        text = (f"the figures for {what} (scenario {job.scenario}) are being prepared: "
                f"pass {current['pass']}, {share:.0%} done")
    else:
        text = (f"the figures for {what} (scenario {job.scenario}) are being prepared: "
                f"{ahead} date(s) before it")
    return {"code": "BeingPrepared", "description": text, "date": what,
            "scenario": job.scenario, "waiting_before": ahead, "preparing": current,
            "retry_after_s": RETRY_AFTER_S}
