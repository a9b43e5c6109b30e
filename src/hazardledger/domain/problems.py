"""Problems found in input, reported as ``FILE:feature N: field: reason``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with one feature (1-based ``feature``) or, with
    ``feature=None``, with the input as a whole."""

    feature: int | None
    field: str
    reason: str

    def format(self, source: str) -> str:
        where = source if self.feature is None else f"{source}:feature {self.feature}"
        return f"{where}: {self.field}: {self.reason}"


class InputRejected(Exception):
    """Input that must not be written; carries every problem found."""

    def __init__(self, source: str, problems: Iterable[Problem]):
        self.source = source
        self.problems = sort_problems(problems)
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        return [p.format(self.source) for p in self.problems]


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    """File-level problems first, then by feature; stable within a feature so the
    order follows the layer's field order."""
    return sorted(problems, key=lambda p: -1 if p.feature is None else p.feature)
