"""Terminal views of the catalog for ``hazardledger catalog list|show``."""

from __future__ import annotations

import numpy as np
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ..domain.item_types import SCENARIOS, Prior
from ..locale import N_, say
from . import priors as prior_math
from .loader import Catalog


def _describe(prior: Prior) -> str:
    args = ", ".join(
        f"{k}={'[' + ', '.join(f'{x:g}' for x in v) + ']' if isinstance(v, tuple) else f'{v:g}'}"
        for k, v in prior.args)
    return f"{prior.dist}({args})"


def catalog_table(catalog: Catalog) -> Table:
    """One row per item type: what it is and where it comes from."""
    table = Table(*(say(h) for h in (N_("code"), N_("name"), N_("category"),
                                      N_("persistence"), N_("origin"))),
                  title=say("Item types (show one with: hazardledger catalog show CODE)"))
    for t in catalog.types.values():
        table.add_row(t.code, t.name, t.category.value, t.persistence.value, t.origin)
    return table


def item_type_detail(catalog: Catalog, code: str) -> RenderableType:
    """Every parameter per scenario: distribution, mean, 90 % interval and source."""
    t = catalog.get(code)
    parts: list[RenderableType] = [
        Text(f"{t.code}: {t.name}", style="bold"),
        Text(f"{t.category.value}, {t.persistence.value}. {t.description}"),
        Text(say("Power-source life: {life}", life=t.life_distribution)),
    ]
    cited: dict[str, str] = {}
    for scenario in SCENARIOS:
        table = Table(*(say(h) for h in (N_("parameter"), N_("prior"), N_("mean"),
                                          N_("90 % interval"), N_("source"), N_("note"))),
                      title=say("scenario: {scenario}", scenario=scenario))
        for name, prior in t.priors[scenario].items():
            lo, hi = prior_math.quantile(prior, np.array([0.05, 0.95]))
            source = catalog.sources[prior.source]
            label = prior.source + (say(" (UNVERIFIED)") if source.unverified else "")
            table.add_row(name, _describe(prior), f"{prior_math.mean(prior):.6g}",
                          f"{lo:.6g} – {hi:.6g}", label, prior.note)
            cited[prior.source] = source.citation
        parts.append(table)
    parts.append(Text(say("Sources"), style="bold"))
    parts += [Text(f"[{sid}] {citation}") for sid, citation in cited.items()]
    return Group(*parts)
