"""Hazard Ledger: mine action records, residual hazard and priorities.

The model never releases land: land is released only by survey and clearance.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .ledger import Ledger


def __getattr__(name: str) -> Any:
    # Imported on first use so that `hazardledger --help` stays quick.
    if name == "Ledger":
        from .ledger import Ledger

        return Ledger
    raise AttributeError(name)


__all__ = ["Ledger", "__version__"]
