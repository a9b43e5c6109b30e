"""The review queue between the field and the ledger, as IMSMA's workbench has it: field
submissions are imported into the queue, the information management team approves or
rejects each, and only approval writes features, through the same validation and audit
as any import. Nothing reaches a layer unreviewed.

    >>> from hazardledger.review import import_submissions, approve
    >>> queued = import_submissions(ledger, "hazardledger_findings.csv", actor="im")
    >>> approve(ledger, [queued.queued[0]], actor="im-lead")
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
import shapely

from .domain.problems import InputRejected, Problem
from .domain.schema import LAYERS
from .domain.text import printable, unsafe_characters
from .domain.validation import validate
from .intake.forms import ACCURACY_THRESHOLD_M
from .intake.submissions import layer_of, read_submissions
from .ledger import Ledger, validation_time
from .locale import say
from .store.base import WriteSummary
from .store.queue import PENDING, NotPending, Submission

REVIEWED_IMPORT = "import (reviewed submission)"
MAX_REASON = 500  # a reason is a sentence or two, as a remark is


@dataclass
class Queued:
    """What an import of submissions did: the instance ids queued, those the queue already
    held (never imported twice), and those whose GPS was worse than the threshold."""

    layer: str
    source: str
    queued: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    flagged: list[str] = field(default_factory=list)


def import_submissions(ledger: Ledger, path: str | Path, layer: str | None = None, *,
                       actor: str, accuracy_threshold_m: float = ACCURACY_THRESHOLD_M
                       ) -> Queued:
    """Read an ODK Central or KoboToolbox export of a field form into the review queue
    (audited); refuse the whole file, writing nothing, if any row cannot be read."""
    path = Path(path)
    layer = layer or layer_of(path)
    if layer is None:
        raise ValueError(say("{file}: say which form's submissions these are with --layer "
                             "(the file's name does not hold the form id "
                             "hazardledger_<layer>)", file=path.name))
    frame, problems = read_submissions(path, layer)
    ids = frame["instance_id"]
    repeated = ids.duplicated(keep="first") & ids.notna()
    problems += [Problem(int(i) + 1, "instanceID", say(
        "instance id {id} appears twice in the file", id=_shown(ids.iloc[i])))
                 for i in np.flatnonzero(repeated.to_numpy())]
    if problems:
        raise InputRejected(path.name, sorted(problems))
    already = ledger.store.known_submissions(list(ids))
    fresh = frame[~ids.isin(already)].reset_index(drop=True)
    received = pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    submissions = [_submission({str(k): v for k, v in row.items()}, layer, path.name,
                               received) for row in fresh.to_dict("records")]
    ledger.store.queue_submissions(submissions, actor=actor)
    accuracy = fresh["accuracy_m"].to_numpy(float)
    order = {i: k for k, i in enumerate(ids)}
    return Queued(layer, path.name, list(fresh["instance_id"]),
                  sorted(already, key=order.__getitem__),
                  list(fresh["instance_id"][accuracy > accuracy_threshold_m]))


def _submission(row: dict[str, object], layer: str, source: str, received: str
                ) -> Submission:
    values = {k: _plain(v) for k, v in row.items() if k in LAYERS[layer].field_names}
    geometry = row.get("geometry")
    # every digit the phone gave: WKT at full precision
    values["geometry"] = None if geometry is None else shapely.to_wkt(
        geometry, rounding_precision=-1)
    accuracy = float(str(row.get("accuracy_m")))  # NaN where the export gave none
    return Submission(str(row["instance_id"]), layer, source, received,
                      _plain(row.get("submitted_at")), _plain(row.get("submitter")),
                      None if np.isnan(accuracy) else accuracy,
                      orjson.dumps(values, option=orjson.OPT_SORT_KEYS).decode(), PENDING)


def _shown(instance_id: object) -> str:
    """An instance id in a message: quoted, control characters escaped, cut at 60."""
    return f"'{printable(instance_id, 60)}'"


def _plain(value: object) -> str | None:
    """A cell as text (None when blank)."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    text = str(value).strip()
    return text or None


def features(submissions: Sequence[Submission]) -> gpd.GeoDataFrame | pd.DataFrame:
    """The submissions' answers as a frame of one layer, ready to validate."""
    layer = submissions[0].layer
    rows = [orjson.loads(s.payload) for s in submissions]
    frame = pd.DataFrame(rows, dtype=object)
    if not LAYERS[layer].spatial:
        return frame.drop(columns=["geometry"], errors="ignore")
    wkt = frame.pop("geometry").to_numpy() if "geometry" in frame else np.full(len(rows), None)
    geometry = shapely.from_wkt(pd.Series(wkt, dtype=object).where(pd.notna(wkt), None)
                                .to_numpy())
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geometry), crs="EPSG:4326")


def problems_of(ledger: Ledger, submissions: Sequence[Submission], *, update: bool = False
                ) -> dict[str, list[Problem]]:
    """Per instance id, what approval would refuse now (validated as one batch per layer,
    against the ledger as it stands)."""
    found: dict[str, list[Problem]] = {s.instance_id: [] for s in submissions}
    for layer in sorted({s.layer for s in submissions}):
        batch = [s for s in submissions if s.layer == layer]
        frame = features(batch)
        schema = LAYERS[layer]
        result = validate(schema, frame, ledger.facts_for(schema, frame, validation_time()),
                          update=update)
        for problem in result.problems:
            if problem.feature is None:
                for s in batch:
                    found[s.instance_id].append(problem)
            else:
                found[batch[problem.feature - 1].instance_id].append(
                    Problem(1, problem.field, problem.reason))
    return found


def _pending(ledger: Ledger, instance_ids: Sequence[str]) -> list[Submission]:
    """The submissions asked for, each pending; a clear error for any that is not."""
    wanted = list(dict.fromkeys(instance_ids))
    if not wanted:
        raise ValueError(say("name the submissions to review (their instance ids)"))
    held = {i: ledger.store.submission(i) for i in wanted}
    missing = [i for i, s in held.items() if s is None]
    if missing:
        raise NotPending(say("no submission {ids} in the queue (hazardledger review list)",
                             ids=", ".join(_shown(i) for i in missing)))
    done = [say("{id} ({status} by {reviewer})", id=_shown(i), status=s.status,
                reviewer=s.reviewed_by) for i, s in held.items()
            if s is not None and s.status != PENDING]
    if done:
        raise NotPending(say("already reviewed: {ids}", ids=", ".join(done)))
    return [s for s in held.values() if s is not None]


def approve(ledger: Ledger, instance_ids: Sequence[str], *, actor: str, update: bool = False
            ) -> WriteSummary:
    """Validate the submissions as one batch and, if nothing is wrong, write their features
    and mark them approved by ``actor`` in one transaction (audited); else
    :class:`InputRejected` naming each submission's problems, and nothing written."""
    pending = _pending(ledger, instance_ids)
    layers = {s.layer for s in pending}
    if len(layers) > 1:
        raise ValueError(say("approve the submissions of one form at a time (these are of "
                             "{forms})", forms=", ".join(sorted(layers))))
    layer = layers.pop()
    frame = features(pending)
    schema = LAYERS[layer]
    result = validate(schema, frame, ledger.facts_for(schema, frame, validation_time()),
                      update=update)
    if result.problems:
        names = [s.instance_id for s in pending]
        raise InputRejected("review", result.problems, names=names)
    return ledger.store.approve_submissions([s.instance_id for s in pending], layer,
                                            result.frame, actor=actor, update=update,
                                            action=REVIEWED_IMPORT)


def reject(ledger: Ledger, instance_ids: Sequence[str], *, actor: str, reason: str) -> None:
    """Mark the submissions rejected by ``actor`` with ``reason`` (audited); they stay in
    the queue, and nothing is written to a layer."""
    reason = (reason or "").strip()
    if not reason:
        raise ValueError(say("--reason: say why the submission is rejected"))
    if unsafe_characters(reason):
        raise ValueError("--reason: " + say("contains control or invisible characters ({which})",
                                            which=", ".join(unsafe_characters(reason)[:3])))
    if len(reason) > MAX_REASON:
        raise ValueError("--reason: " + say("longer than {limit} characters ({length})",
                                            limit=f"{MAX_REASON:,}", length=f"{len(reason):,}"))
    pending = _pending(ledger, instance_ids)
    ledger.store.reject_submissions([s.instance_id for s in pending], reason, actor=actor)
