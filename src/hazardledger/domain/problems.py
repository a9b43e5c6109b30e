"""Problems found in input, reported as ``FILE:feature N: field: reason``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..locale import say
from .text import printable


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with one feature (1-based ``feature``) or, with
    ``feature=None``, with the input as a whole."""

    feature: int | None
    field: str
    reason: str

    def format(self, source: str) -> str:
        where = source if self.feature is None else say("{source}:feature {n}", source=source,
                                                        n=self.feature)
        return f"{where}: {self.field}: {self.reason}"


class InputRejected(Exception):
    """Input that must not be written; carries every problem found."""

    def __init__(self, source: str, problems: Iterable[Problem],
                 names: Sequence[str] | None = None):
        self.source = source
        self.problems = sort_problems(problems)
        self.names = names
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        """One line per problem; with ``names``, features are named by them (their ids)
        instead of by their number in the input."""
        if self.names is None:
            return [p.format(self.source) for p in self.problems]
        return [f"{self.source} {printable(self.names[p.feature - 1], 60)}: {p.field}: {p.reason}"
                if p.feature is not None else p.format(self.source) for p in self.problems]


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    """File-level problems first, then by feature; stable within a feature so the
    order follows the layer's field order."""
    return sorted(problems, key=lambda p: -1 if p.feature is None else p.feature)
