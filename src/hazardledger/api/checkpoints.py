"""The web map's slider dates (checkpoints), and what the preparing of their figures tells
those who wait for them (see :mod:`.prepared`)."""

from __future__ import annotations

from typing import Any

import pandas as pd

BACK_DAYS, AHEAD_DAYS = 730, 365  # the web map's slider


class BeingPrepared(Exception):
    """The figures asked for are not ready yet; ``progress`` says how far they are."""

    def __init__(self, progress: dict[str, Any]):
        super().__init__(progress["description"])
        self.progress = progress


class Superseded(Exception):
    """A checkpoint being prepared ahead gives way to a date asked for."""


def checkpoints(today: pd.Timestamp) -> list[pd.Timestamp]:
    """Today and the first of every month on the slider, oldest first."""
    today = today.normalize()
    months = pd.date_range(today - pd.Timedelta(days=BACK_DAYS),
                           today + pd.Timedelta(days=AHEAD_DAYS), freq="MS")
    return sorted({today, *months})
