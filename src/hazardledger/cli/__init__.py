"""The ``hazardledger`` command: one module per command group, each registering its commands
on the application in :mod:`.common`, which they all import and which imports none of them.

Exit codes: 0 success, 2 bad input or usage (one line per problem on stderr),
1 internal fault.
"""

from __future__ import annotations

import sys

from . import (  # noqa: F401  (each registers its commands on ``app``)
    audit,
    catalog,
    data,
    evidence,
    exposure,
    hazard,
    intake,
    keys,
    priority,
    release,
    report,
    review,
    serve,
    treaty,
)
from .common import app

__all__ = ["app", "main"]


def main() -> None:
    """Entry point: usage errors exit 2 (click's convention), faults 1."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
