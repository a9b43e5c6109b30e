"""The parts of the treaty reports a ledger can fill, as tables of the ledger's own records at
the end of a reporting period, and the parts it cannot, as blanks for the State.

Everything here is what the records say, by their own dates: a hazard area counts from its
date of information until it is closed (its last activity finished) or released in full; a
record's items from their laying; findings and activities in the year by their dates.
Nothing is modelled, and nothing is invented: a figure the ledger does not hold is left as a
blank marked for the State to complete.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from ..catalog import priors as prior_math
from ..catalog.loader import Catalog
from ..domain.vocab import ActivityKind, ItemCategory
from ..evidence.table import ANNEX_CHECKS, annex_checks, findings_of, observed_share
from ..exposure.distance import area_m2
from ..hazard.apii import OVERALL_CEILING, SD_CEILING, apii_check
from ..locale import Translate, glossary, translator
from ..release.accounting import Period, open_at

# the catalog's own figures for a type: what its maker or the treaty claims
CATALOG_SCENARIO = "claimed"


@dataclass(frozen=True, eq=False)
class Part:
    """One part of a form: ``frame`` the ledger's figures (empty: nothing recorded), or
    None where the ledger holds nothing of the kind and the State completes it."""

    key: str
    title: str
    explanation: str
    frame: pd.DataFrame | None
    stock: bool = False  # a standing state, compared with the previous period's end
    unchanged: bool = False


def choices(vocabulary: str, lang: str) -> dict[str, str]:
    """A vocabulary's values in ``lang``, from the glossary (IMAS English, DSTU 8820): the
    label's name, without the explanation the field forms give after a colon."""
    return {value: str(words[lang]).split(":")[0]
            for value, words in glossary()["choices"][vocabulary].items()}


def _ap_mine(catalog: Catalog, codes: pd.Series) -> np.ndarray:
    """Whether each item type is an anti-personnel mine (the Ottawa Convention's scope);
    a code the catalog lacks is not claimed to be one."""
    known = set(catalog.codes())
    ap = {c: c in known and catalog.get(c).category == ItemCategory.AP_MINE
          for c in codes.unique()}  # once per type, not per record
    return codes.map(ap).fillna(False).to_numpy(bool)


def _items(records: pd.DataFrame) -> pd.DataFrame:
    """Per record, its lowest and highest number of items as recorded (the count, else its
    range, else its density over its perimeter, as the hazard model takes them), whether
    that number is estimated from a density, and whether there is none at all."""
    def number(name: str) -> pd.Series:
        return pd.to_numeric(records[name], errors="coerce").astype(float)

    count = number("count")
    geometry = records.geometry.to_numpy() if len(records) else np.zeros(0, object)
    density = number("density_per_m2") * (area_m2(geometry) if len(geometry) else 0.0)
    from_density = count.isna() & number("count_min").isna() & density.notna()
    low = count.fillna(number("count_min")).fillna(density.round())
    high = count.fillna(number("count_max")).fillna(density.round())
    return pd.DataFrame({"low": low, "high": high, "estimated": from_density,
                         "blank": low.isna() | high.isna()}, index=records.index)


def _quantity(records: pd.DataFrame, tr: Translate) -> pd.Series:
    """A record's number of items as recorded: the count, else its range, else "≈" its
    density over its perimeter, else a blank."""
    return _range(_items(records), tr)


def _range(items: pd.DataFrame, tr: Translate) -> pd.Series:
    """Numbers of items as people read them: "N", a range "low–high", "≈N" where estimated
    from a density, and a mark where a record gives none."""
    if not len(items):
        return pd.Series([], index=items.index, dtype=object)
    low = items["low"].fillna(0).map("{:,.0f}".format)
    high = items["high"].fillna(0).map("{:,.0f}".format)
    text = low.where(low == high, low + "–" + high)
    text = text.where(~items["estimated"], "≈" + text)
    text = text.where(~items["blank"], text + " + " + tr("records without a number"))
    return text.where(~(items["blank"] & (items["low"].fillna(0) == 0)), tr("not recorded"))


def _centre(geometry: np.ndarray) -> pd.Series:
    """Each polygon's representative point as "lat, lon" (WGS 84, five decimals: 1 m)."""
    if not len(geometry):
        return pd.Series([], dtype=object)
    point = shapely.point_on_surface(geometry)
    lat, lon = shapely.get_y(point), shapely.get_x(point)
    return pd.Series([f"{a:.5f}, {b:.5f}" for a, b in zip(lat, lon, strict=True)], dtype=object)


def _extent(geometry: np.ndarray) -> pd.Series:
    """Each perimeter's estimated dimensions (Technical Annex 1): its bounding box in
    metres, east-west × north-south, on the local scale of the latitude."""
    if not len(geometry):
        return pd.Series([], dtype=object)
    box = shapely.bounds(geometry)
    metres_per_degree = 111_320.0
    width = (box[:, 2] - box[:, 0]) * metres_per_degree * np.cos(np.radians(
        (box[:, 1] + box[:, 3]) / 2))
    height = (box[:, 3] - box[:, 1]) * metres_per_degree
    return pd.Series([f"{w:,.0f} × {h:,.0f} m" for w, h in zip(width, height, strict=True)],
                     dtype=object)


def _laid(records: pd.DataFrame) -> pd.Series:
    start = records["laid_from"].dt.strftime("%Y-%m-%d")
    end = records["laid_to"].fillna(records["laid_from"]).dt.strftime("%Y-%m-%d")
    return start.where(start == end, start + " – " + end)


def open_areas(layers: dict[str, pd.DataFrame], end: pd.Timestamp) -> pd.DataFrame:
    """The hazard areas still open at ``end`` by the records' dates, with their open m²."""
    areas = layers["hazard_areas"].reset_index(drop=True)
    remaining = open_at(areas, layers["activities"])(end)
    return areas.assign(open_m2=remaining)[remaining > 0].reset_index(drop=True)


def mined_areas(layers: dict[str, pd.DataFrame], catalog: Catalog, end: pd.Timestamp,
                lang: str) -> pd.DataFrame:
    """Ottawa Form C: each area open at ``end`` that holds a record of anti-personnel mines
    laid by then, with their types, quantities, dates laid and how many were found."""
    tr = translator(lang)
    areas = open_areas(layers, end)
    records = layers["records"]
    laid = records[(records["laid_from"] <= end).fillna(False).to_numpy(bool)
                   & records["area_id"].isin(areas["id"]).to_numpy(bool)]
    laid = laid[_ap_mine(catalog, laid["item_type"])]
    findings = layers["findings"]
    found = findings[(findings["found_at"] <= end).fillna(False).to_numpy(bool)]
    found_per_record = found.groupby("record_id").size()
    held = areas[areas["id"].isin(laid["area_id"])]
    rows = _items(laid).assign(
        id=laid["area_id"], type=laid["item_type"],
        found=laid["id"].map(found_per_record).fillna(0).astype(int),
        first=laid["laid_from"], last=laid["laid_to"].fillna(laid["laid_from"]))
    per_type = rows.groupby(["id", "type"], sort=True).agg(
        low=("low", "sum"), high=("high", "sum"), estimated=("estimated", "any"),
        blank=("blank", "any")).reset_index()
    per_type["text"] = per_type["type"] + ": " + _range(per_type, tr)
    by_area = per_type.groupby("id").agg(types=("text", "; ".join)).join(
        rows.groupby("id").agg(found=("found", "sum"), first=("first", "min"),
                               last=("last", "max")))
    held = held.sort_values("id").reset_index(drop=True)
    mine = by_area.reindex(held["id"].to_numpy())
    span = pd.DataFrame({"laid_from": pd.to_datetime(mine["first"], utc=True),
                         "laid_to": pd.to_datetime(mine["last"], utc=True)})
    return pd.DataFrame({
        tr("hazard area"): held["id"].to_numpy(), tr("name"): held["name"].to_numpy(),
        tr("region"): held["region"].fillna("–").to_numpy(),
        tr("classification"): held["classification"].astype(str).to_numpy(),
        tr("location (lat, lon)"): _centre(held.geometry.to_numpy()).to_numpy(),
        tr("open m²"): held["open_m2"].round().astype(int).to_numpy(),
        tr("types and quantities laid"): mine["types"].to_numpy(),
        tr("laid"): _laid(span).to_numpy(),
        tr("found by the period's end"): mine["found"].astype(int).to_numpy()})


def recorded_mined_areas(layers: dict[str, pd.DataFrame], catalog: Catalog,
                         end: pd.Timestamp, lang: str) -> pd.DataFrame:
    """Amended Protocol II, Technical Annex 1: each record of items laid by ``end`` in an
    area still open then (or in none), located by its perimeter (where it lies, its
    extent and area), its point or line as recorded and its remarks (where reference
    points are written), with its type, number, dates, and self-destruct and
    self-deactivation periods as recorded and as the catalog gives them."""
    tr = translator(lang)
    areas = open_areas(layers, end)
    records = layers["records"]
    keep = ((records["laid_from"] <= end).fillna(False).to_numpy(bool)
            & (records["area_id"].isin(areas["id"]) | records["area_id"].isna()).to_numpy(bool))
    laid = records[keep].sort_values("id").reset_index(drop=True)
    geometry = laid.geometry.to_numpy() if len(laid) else np.zeros(0, object)
    setting, life = _catalog_periods(catalog, laid["item_type"], tr)
    recorded = pd.to_numeric(laid["sd_setting_h"], errors="coerce")
    return pd.DataFrame({
        tr("record"): laid["id"].to_numpy(),
        tr("hazard area"): laid["area_id"].fillna("–").to_numpy(),
        tr("location as recorded (point or line)"): _rounded_wkt(laid["location"], tr),
        tr("remarks (reference points)"): laid["remarks"].fillna("–").to_numpy(),
        tr("location (lat, lon)"): _centre(geometry).to_numpy(),
        tr("perimeter: extent"): _extent(geometry).to_numpy(),
        tr("area m²"): np.round(area_m2(geometry)).astype(int) if len(geometry) else [],
        tr("type"): laid["item_type"].to_numpy(),
        tr("number"): _quantity(laid, tr).to_numpy(),
        tr("laid"): _laid(laid).to_numpy(),
        tr("self-destruct period, recorded (h)"): recorded.map(
            lambda h: "–" if np.isnan(h) else f"{h:g}").to_numpy(),
        tr("self-destruct period, catalog (h)"): setting,
        tr("self-deactivation life, catalog"): life,
        tr("anti-handling devices"): tr("not held in the ledger")})


def _rounded_wkt(location: pd.Series, tr: Translate) -> np.ndarray:
    """A recorded point or line as WKT to five decimals of a degree (about 1 m)."""
    shapes = shapely.from_wkt(location.to_numpy(dtype=object), on_invalid="ignore")
    text = shapely.to_wkt(shapes, rounding_precision=5, trim=True)
    return np.where(pd.isna(text), tr("the perimeter only"), text).astype(object)


def _catalog_periods(catalog: Catalog, codes: pd.Series, tr: Translate
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Per record, its type's self-destruct setting and median self-deactivation life as
    the catalog's claimed scenario gives them, with their sources."""
    shown: dict[str, tuple[str, str]] = {}
    known = set(catalog.codes())
    for code in codes.unique():
        if code not in known:
            shown[code] = (tr("not in the catalog"), tr("not in the catalog"))
            continue
        item, priors = catalog.get(code), catalog.priors(code, CATALOG_SCENARIO)
        setting = life = tr("none")
        if item.has_self_destruct:
            prior = priors["sd_setting_h"]
            setting = f"{prior_math.mean(prior):g} ({prior.source})"
        if item.has_self_deactivation:
            beta, eta = priors["life_beta"], priors["life_eta_h"]
            median = prior_math.mean(eta) * np.log(2) ** (1 / prior_math.mean(beta))
            life = tr("median {days} days ({source})").format(
                days=f"{median / 24:.3g}", source=eta.source)
        shown[code] = (setting, life)
    return (codes.map({c: v[0] for c, v in shown.items()}).to_numpy(dtype=object),
            codes.map({c: v[1] for c, v in shown.items()}).to_numpy(dtype=object))


def annex_verdicts(layers: dict[str, pd.DataFrame], catalog: Catalog, end: pd.Timestamp,
                   lang: str) -> pd.DataFrame:
    """Technical Annex 3(a) per type recorded by ``end``: the catalog check's verdict per
    scenario (``catalog check``), and what the findings by then say at 30 and 120 days
    (the share counted, its 90 % interval, and whether it is above the ceiling)."""
    tr = translator(lang)
    records = layers["records"]
    codes = sorted(set(records.loc[(records["laid_from"] <= end).fillna(False).to_numpy(
        bool), "item_type"]) & set(catalog.codes()))
    if not codes:
        return pd.DataFrame(columns=[tr("type"), tr("scenario"), tr("catalog check"),
                                     tr("findings: not self-destroyed at 30 days"),
                                     tr("findings: still functioning at 120 days")])
    check = apii_check(catalog)
    check = check[check["code"].isin(codes)]
    findings = layers["findings"]
    findings = findings[(findings["found_at"] <= end).fillna(False).to_numpy(bool)]
    evidence = {code: _findings_say(findings, records, code, catalog, tr) for code in codes}
    return pd.DataFrame({
        tr("type"): check["code"].to_numpy(), tr("scenario"): check["scenario"].to_numpy(),
        tr("catalog check"): _catalog_says(check, catalog, tr),
        tr("findings: not self-destroyed at 30 days"): [
            evidence[c][0] for c in check["code"]],
        tr("findings: still functioning at 120 days"): [
            evidence[c][1] for c in check["code"]]})


def _catalog_says(check: pd.DataFrame, catalog: Catalog, tr: Translate) -> list[str]:
    """The catalog check's verdict in the language asked for: meets, or fails and why
    (the upper ends of its 90 % intervals against the ceilings)."""
    said = []
    for code, meets, sd_upper, overall_upper in zip(
            check["code"], check["meets_ta_3a"], check["sd_fail_30d_q95"],
            check["functioning_120d_q95"], strict=True):
        if meets:
            said.append(tr("meets"))
            continue
        reasons = []
        if not catalog.get(code).has_self_destruct:
            reasons.append(tr("no self-destruct"))
        elif sd_upper > SD_CEILING:
            reasons.append(tr("up to {share} not self-destroyed at 30 days (ceiling 10 %)")
                           .format(share=f"{sd_upper:.3g}"))
        if overall_upper > OVERALL_CEILING:
            reasons.append(tr("up to {share} still functioning at 120 days (ceiling 0.001)")
                           .format(share=f"{overall_upper:.3g}"))
        said.append(tr("fails: {reasons}").format(reasons="; ".join(reasons)))
    return said


def _findings_say(findings: pd.DataFrame, records: pd.DataFrame, code: str,
                  catalog: Catalog, tr: Translate) -> tuple[str, str]:
    """What a type's findings say at the ages Annex 3(a) speaks of, like with like (as
    ``fit`` compares them): nothing about self-destruct for a type without one, and
    nothing at all for a persistent type, which no ceiling binds."""
    data = findings_of(findings, records, code)
    applies = annex_checks(catalog.get(code).persistence)
    said = []
    for label, (age, counted, ceiling) in ANNEX_CHECKS.items():
        if label not in applies:
            said.append(tr("no self-destruct") if applies else tr("persistent: no ceiling"))
            continue
        n, share, low, high = observed_share(data, age, counted)
        if not n:
            said.append(tr("no findings near that age"))
            continue
        verdict = (tr("above the ceiling") if low > ceiling else
                   tr("within the ceiling") if high <= ceiling else
                   tr("cannot tell from the findings"))
        said.append(tr("{k} of {n} ({share}; 90 % interval {low}–{high}): {verdict}").format(
            k=round(share * n), n=n, share=f"{share:.3g}", low=f"{low:.3g}",
            high=f"{high:.3g}", verdict=verdict))
    return said[0], said[1]


def clearance_programmes(layers: dict[str, pd.DataFrame], catalog: Catalog, period: Period,
                         lang: str) -> pd.DataFrame:
    """Ottawa Form F and Article 13(4)(b): technical survey and clearance under way in the
    period, by organisation, kind and method: activities, areas, m² reduced and cleared
    by those finished in it, still under way at its end, and items they found in it."""
    tr = translator(lang)
    activities = layers["activities"]
    work = activities[activities["kind"].isin([ActivityKind.TS, ActivityKind.CLEARANCE])]
    during = ((work["started"] <= period.end)
              & ~(work["finished"] < period.start)).fillna(False).to_numpy(bool)
    work = work[during]
    finished = period.holds(work["finished"])
    findings = layers["findings"]
    found = findings[period.holds(findings["found_at"])].groupby("activity_id").size()
    frame = pd.DataFrame({
        "organisation": work["organisation"].to_numpy(),
        "kind": work["kind"].astype(str).map(choices("activity_kind", lang)).to_numpy(),
        "method": work["method"].astype(object).map(choices("release_method", lang)).fillna(
            tr("not recorded")).to_numpy(),
        "area": work["area_id"].to_numpy(),
        "reduced": np.where(finished, work["reduced_m2"].fillna(0.0).to_numpy(float), 0.0),
        "cleared": np.where(finished, work["cleared_m2"].fillna(0.0).to_numpy(float), 0.0),
        "under_way": (work["finished"].isna() | (work["finished"] > period.end)).to_numpy(
            bool),
        "found": work["id"].map(found).fillna(0).to_numpy(int)})
    out = frame.groupby(["organisation", "kind", "method"], sort=True).agg(
        activities=("area", "size"), areas=("area", "nunique"), reduced=("reduced", "sum"),
        cleared=("cleared", "sum"), under_way=("under_way", "sum"), found=("found", "sum"))
    out = out.reset_index()
    return _with_total(pd.DataFrame({
        tr("organisation"): out["organisation"], tr("kind"): out["kind"],
        tr("method"): out["method"], tr("activities"): out["activities"].astype(int),
        tr("hazard areas"): out["areas"].astype(int),
        tr("reduced m²"): out["reduced"].round().astype(int),
        tr("cleared m²"): out["cleared"].round().astype(int),
        tr("under way at the period's end"): out["under_way"].astype(int),
        tr("items found (linked to the activity)"): out["found"].astype(int)}), 3, tr)


def destroyed_by_type(layers: dict[str, pd.DataFrame], catalog: Catalog, period: Period,
                      lang: str) -> pd.DataFrame:
    """Ottawa Form G: anti-personnel mines found in the period, by type and the state they
    were found in. The ledger records finding (and so removal), not destruction: the
    number destroyed is the State's to confirm."""
    tr = translator(lang)
    findings = layers["findings"]
    inside = findings[period.holds(findings["found_at"])]
    inside = inside[_ap_mine(catalog, inside["item_type"])]
    table = pd.crosstab(inside["item_type"], inside["state"].astype(str))
    words = choices("finding_state", lang)
    table = table.reindex(columns=list(words), fill_value=0).sort_index()
    return _with_total(pd.DataFrame({
        tr("type"): table.index.to_numpy(),
        tr("found and removed"): table.sum(axis=1).to_numpy(int),
        **{tr("found: {state}").format(state=words[s]): table[s].to_numpy(int)
           for s in words},
        tr("destroyed"): tr("for the State to confirm")}), 1, tr)


AUDIENCE = ("girls", "boys", "women", "men", "not_disaggregated")


def risk_education(layers: dict[str, pd.DataFrame], catalog: Catalog, period: Period,
                   lang: str) -> pd.DataFrame:
    """Ottawa Form I (its risk education part): the sessions held in the period, by region
    (the session's, else its hazard area's) and organisation, and whom they reached by sex
    and age, as the GICHD Minimum Data Requirements ask."""
    tr = translator(lang)
    sessions = layers["risk_education"]
    held = sessions[period.holds(sessions["held_on"])]
    areas = layers["hazard_areas"].set_index("id")["region"]
    region = held["region"].fillna(held["area_id"].map(areas)).fillna(tr("(no region)"))
    frame = held[list(AUDIENCE)].fillna(0).astype(int).assign(
        region=region.to_numpy(), organisation=held["organisation"].to_numpy())
    out = frame.groupby(["region", "organisation"], sort=True).agg(
        sessions=("girls", "size"), **{name: (name, "sum") for name in AUDIENCE})
    out = out.reset_index()
    return _with_total(pd.DataFrame({
        tr("region"): out["region"], tr("organisation"): out["organisation"],
        tr("sessions"): out["sessions"].astype(int),
        tr("girls (under 18)"): out["girls"].astype(int),
        tr("boys (under 18)"): out["boys"].astype(int),
        tr("women"): out["women"].astype(int), tr("men"): out["men"].astype(int),
        tr("sex or age not recorded"): out["not_disaggregated"].astype(int),
        tr("people reached"): out[list(AUDIENCE)].sum(axis=1).astype(int)}), 2, tr)


def _with_total(frame: pd.DataFrame, keys: int, tr: Translate) -> pd.DataFrame:
    """The table with a last row of totals, as the forms report them: each count summed,
    the first ``keys`` columns (what the rows are by) reading "total" and blank, any other
    text as in the rows."""
    if not len(frame):
        return frame
    total = {name: (int(frame[name].sum()) if pd.api.types.is_integer_dtype(frame[name])
                    else frame[name].iloc[0]) for name in frame.columns[keys:]}
    labels = {name: tr("total") if i == 0 else "" for i, name in
              enumerate(frame.columns[:keys])}
    return pd.concat([frame, pd.DataFrame([{**labels, **total}])], ignore_index=True)
