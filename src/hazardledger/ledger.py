"""The Python API: a ledger opened by path or URL, with import, export, reading,
the audit trail and the catalog. The CLI and the HTTP API are thin layers over this.

    >>> from hazardledger import Ledger
    >>> ledger = Ledger("ledger.gpkg")
    >>> areas = ledger.read("hazard_areas")      # a GeoDataFrame
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd

from .catalog.loader import Catalog
from .domain.dates import DateFormat, date_format
from .domain.forms import outlines_or_points
from .domain.geometry_checks import Extent
from .domain.problems import InputRejected
from .domain.schema import LayerSchema, layer
from .domain.validation import LedgerFacts, lookups_needed, validate
from .hazard.parameters import DEFAULT_SAMPLES, DEFAULT_SEED
from .io.read import read_features
from .io.write import export_frame, personal_for_export
from .locale import say
from .store.base import Store, StoreError, WriteSummary
from .store.locate import is_database_url, open_store
from .store.reconcile import AuditCheck, Reconciled

if TYPE_CHECKING:
    from .history import LedgerAt
    from .residual import Work

DEFAULT_DB = "ledger.gpkg"
Progress = Callable[[str], None]


def default_location() -> str:
    """``HAZARDLEDGER_DB`` or ``./ledger.gpkg``."""
    return os.environ.get("HAZARDLEDGER_DB") or DEFAULT_DB


def default_actor() -> str:
    """Who is writing: ``HAZARDLEDGER_ACTOR`` or the login name."""
    return os.environ.get("HAZARDLEDGER_ACTOR") or getpass.getuser()


def utc_timestamp(value: str | pd.Timestamp) -> pd.Timestamp:
    """A time in UTC; a time without a zone is taken as UTC."""
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def validation_time() -> pd.Timestamp:
    """The reference time for "in the future" checks: ``HAZARDLEDGER_NOW`` (ISO 8601, for
    reproducible validation of a batch as of a date) or the current time."""
    text = os.environ.get("HAZARDLEDGER_NOW")
    if not text:
        return pd.Timestamp.now(tz="UTC")
    try:
        return utc_timestamp(text)
    except ValueError:
        raise ValueError(say("HAZARDLEDGER_NOW: not an ISO 8601 time: {text}",
                             text=repr(text))) from None


@dataclass
class ImportReport:
    layer: str
    source: str
    features: int
    dry_run: bool
    repaired: list[int] = field(default_factory=list)
    written: WriteSummary | None = None
    flattened: list[int] = field(default_factory=list)  # features whose Z or M was dropped


class Ledger:
    """One ledger: a GeoPackage file (embedded default) or a PostGIS database."""

    def __init__(self, location: str | os.PathLike[str] | None = None, *,
                 wait_ms: int | None = None):
        self.location = str(location) if location is not None else default_location()
        self._wait_ms = wait_ms
        self._store: Store | None = None
        self.access_note: str | None = None
        self.notes: list[str] = []  # what the operator should know (shown by the CLI)
        self._catalog: tuple[tuple[tuple[str, str], ...], Catalog] | None = None

    # -- the store, opened on first use; created only by a write ---------------------------

    @property
    def exists(self) -> bool:
        if self._store is not None:
            return True
        if is_database_url(self.location):
            from .store.postgis import holds_ledger

            return holds_ledger(self.location)
        return Path(self.location).exists()

    @property
    def shown(self) -> str:
        """The location as printed: a database URL without its password."""
        if is_database_url(self.location):
            from .store.postgis import redact

            return redact(self.location)
        return self.location

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = open_store(self.location, wait_ms=self._wait_ms)
        return self._store

    def init(self) -> Store:
        """Create the ledger if it does not exist yet (only this creates one: a mistyped
        --db must not quietly become a new, empty ledger), and give a database's roles
        their rights on it; :attr:`access_note` says when that could not be done."""
        if self._store is None:
            self._store = open_store(self.location, create=True, wait_ms=self._wait_ms)
        self.access_note = self._store.set_up_access()
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- catalog -------------------------------------------------------------------------

    @property
    def catalog(self) -> Catalog:
        """The shipped catalog plus item types added to this ledger.

        Rebuilt when the ledger's added item types change, also when another process
        added them: a server keeps its ledgers open for hours."""
        definitions = tuple(self.store.item_type_definitions()) if self.exists else ()
        if self._catalog is None or self._catalog[0] != definitions:
            catalog = Catalog.packaged()
            for text in dict.fromkeys(text for _, text in definitions):
                catalog = catalog.with_text(text, origin=self.shown)
            self._catalog = (definitions, catalog)
        return self._catalog[1]

    def add_item_types(self, path: str | Path, *, actor: str | None = None) -> list[str]:
        """Validate a TOML file of item types against the catalog and store it in the ledger."""
        path = Path(path)
        text = path.read_text(encoding="utf-8")
        catalog = self.catalog
        added = catalog.with_file(path)  # raises CatalogError on any problem
        codes = [c for c in added.codes() if c not in catalog.codes()]
        # Each code keeps the whole file's text, which also holds the sources it cites.
        self.store.add_item_types([(c, text) for c in codes],
                                               actor=actor or default_actor())
        return codes

    # -- reading -------------------------------------------------------------------------

    def read(self, layer_name: str) -> gpd.GeoDataFrame | pd.DataFrame:
        """A layer as a (Geo)DataFrame, typed, geometry in WGS 84."""
        return self.store.read_layer(layer(layer_name).name)

    def extent(self) -> Extent | None:
        """The programme's extent (lon/lat bounds), used to spot swapped coordinates."""
        if not self.exists:
            return None
        text = self.store.get_meta("extent")
        if not text:
            return None
        x0, y0, x1, y1 = (float(v) for v in text.split(","))
        return (x0, y0, x1, y1)

    def set_extent(self, extent: Extent, *, actor: str | None = None) -> None:
        self.store.set_meta("extent", ",".join(f"{v:g}" for v in extent),
                                         actor=actor or default_actor())

    def set_date_format(self, fmt: DateFormat, *, actor: str | None = None) -> None:
        """How this programme's files write dates that are not ISO 8601 (audited)."""
        self.store.set_meta("date_format", fmt.value, actor=actor or default_actor())

    # -- import --------------------------------------------------------------------------

    def facts_for(self, schema: LayerSchema, frame: pd.DataFrame,
                  now: pd.Timestamp | None = None) -> LedgerFacts:
        """What validation must know about this ledger for this batch."""
        now = now if now is not None else validation_time()
        catalog = self.catalog
        types = {code: catalog.get(code).persistence for code in catalog.codes()}
        if not self.exists:
            return LedgerFacts(now=now, item_types=types)
        wanted = lookups_needed(schema, frame)
        existing = {name: self.store.existing_ids(name, ids) for name, ids in wanted.items()}
        laid = self.store.laid_from(wanted.get("records", set())) if "record_id" in frame else {}
        return LedgerFacts(now=now, item_types=types, existing=existing, record_laid_from=laid,
                           extent=self.extent(),
                           date_format=date_format(self.store.get_meta("date_format")))

    def import_frame(self, layer_name: str, frame: pd.DataFrame, *, source: str,
                     dry_run: bool = False, update: bool = False, repair: bool = False,
                     actor: str | None = None, now: pd.Timestamp | None = None,
                     progress: Progress | None = None, outside_extent: bool = False,
                     dates: DateFormat | None = None) -> ImportReport:
        """Validate a whole batch and write it in one transaction, or raise
        :class:`InputRejected` listing every problem and write nothing. ``progress`` is told
        each stage (for progress bars); ``outside_extent`` takes features outside the extent;
        ``dates`` says how the batch writes dates (else the ledger's setting, else ISO)."""
        schema = layer(layer_name)
        tell = progress or (lambda stage: None)
        tell(say("validating {n} features", n=f"{len(frame):,}"))
        facts = self.facts_for(schema, frame, now)
        facts = replace(facts, extent=None if outside_extent else facts.extent,
                        date_format=dates or facts.date_format)
        result = validate(schema, frame, facts, update=update, repair=repair)
        if result.problems:
            raise InputRejected(source, result.problems)
        report = ImportReport(schema.name, source, len(result.frame), dry_run, result.repaired,
                              flattened=result.flattened)
        if not dry_run:
            tell(say("writing {n} features", n=f"{len(result.frame):,}"))
            action = "import (geometry repaired)" if result.repaired else "import"
            report.written = self.store.write(
                schema.name, result.frame, actor=actor or default_actor(), action=action,
                update=update)
        return report

    def import_file(self, layer_name: str, path: str | Path, *,
                    mapping: Mapping[str, str] | None = None, crs: str | None = None,
                    source_layer: str | None = None, dry_run: bool = False, update: bool = False,
                    repair: bool = False, actor: str | None = None,
                    progress: Progress | None = None, outside_extent: bool = False,
                    dates: DateFormat | None = None) -> ImportReport:
        """Read a file (GeoJSON, GeoPackage, CSV, XLSX, Shapefile, KML), validate, write."""
        schema = layer(layer_name)
        path = Path(path)
        if progress:
            progress(say("reading {file}", file=path.name))
        frame = read_features(path, source_layer=source_layer, crs=crs, mapping=mapping)
        if not schema.spatial:
            frame = pd.DataFrame(frame.drop(columns=frame.geometry.name))
        return self.import_frame(schema.name, frame, source=path.name, dry_run=dry_run,
                                 update=update, repair=repair, actor=actor, progress=progress,
                                 outside_extent=outside_extent, dates=dates)

    def load_geonames_places(self, countries: Sequence[str] = (), min_population: int = 500, *,
                             actor: str | None = None,
                             progress: Progress | None = None) -> ImportReport:
        """Load the GeoNames populated places shipped offline into ``places`` (validated and
        audited like any import; places already loaded are refreshed, not duplicated).
        Limited to ``countries`` if given, and to the ledger's extent when it has one."""
        from .exposure.places import GEONAMES_SOURCE, geonames_places

        frame = geonames_places(countries, min_population, self.extent())
        return self.import_frame("places", frame, source=GEONAMES_SOURCE, update=True,
                                 actor=actor, progress=progress)

    def store_result(self, name: str, frame: gpd.GeoDataFrame, *, actor: str | None = None,
                     run: dict[str, object]) -> bool:
        """Replace a computed layer of the ledger; on a read-only ledger nothing is stored
        and :attr:`notes` says so (the figures are still shown and exported)."""
        if self.store.read_only:
            self.notes.append(say("{ledger} is read-only: its {layer} layer was not updated",
                                  ledger=self.shown, layer=name))
            return False
        self.store.replace_result(name, frame, actor=actor or default_actor(), run=run)
        return True

    # -- residual hazard ------------------------------------------------------------------

    def residual_hazard(self, as_of: str | pd.Timestamp, *, by: str = "area",
                        scenario: str = "pessimistic", samples: int = DEFAULT_SAMPLES,
                        seed: int = DEFAULT_SEED,
                        threshold: float = 0.01, store: bool = False,
                        actor: str | None = None, engine: str = "numpy") -> pd.DataFrame:
        """Residual hazard per area (a GeoDataFrame), region or nation at ``as_of``, with
        5/50/95 % quantiles and "likely inert by" beside the land-release warning.
        ``store=True`` (area level) also replaces the ledger's residual_hazard layer."""
        from .residual import Run, residual_hazard

        run = Run(utc_timestamp(as_of), scenario, samples, seed, threshold, engine)
        compute = residual_hazard
        if engine == "dask" and by == "area":  # a stream group per task: bounded memory
            from .residual_groups import residual_by_groups as compute  # type: ignore[assignment]
        frame = compute(self.read("records"), self.read("hazard_areas"), self.catalog,
                        run, by, self.read("incidents"), self.work())
        if store and by == "area":
            self.store_result("residual_hazard", frame, actor=actor, run=run.describe())
        return frame

    def work(self) -> Work:
        """The findings and land release activities whose removals the model subtracts."""
        from .residual import Work

        return Work(self.read("findings"), self.read("activities"))

    def curve(self, start: str | pd.Timestamp, end: str | pd.Timestamp, *,
              area: str | None = None, region: str | None = None,
              scenario: str = "pessimistic", samples: int = DEFAULT_SAMPLES,
              seed: int = DEFAULT_SEED,
              engine: str = "numpy") -> pd.DataFrame:
        """Daily expected functioning items and P(any) with quantiles, for one area, one
        region or (by default) the whole ledger."""
        from .residual import Run, curve

        run = Run(utc_timestamp(start), scenario, samples, seed, engine=engine)
        return curve(self.read("records"), self.read("hazard_areas"), self.catalog, run,
                     run.as_of, utc_timestamp(end), area=area, region=region,
                     work=self.work())

    # -- exposure and priorities -----------------------------------------------------------

    def places(self) -> gpd.GeoDataFrame:
        """The places layer as distances are measured from it (a settlement's outline where
        it has one, else its point), or a ValueError saying how to fill it when empty."""
        places = gpd.GeoDataFrame(self.read("places"))
        if places.empty:
            raise ValueError(say("the ledger holds no places: run 'hazardledger places load' "
                                 "(GeoNames, shipped offline) or import your own settlements "
                                 "with 'hazardledger import FILE --layer places'"))
        return places.set_geometry(outlines_or_points(places.geometry.to_numpy(),
                                                      places["outline"]), crs="EPSG:4326")

    def exposure(self, bands_km: Sequence[float] = (1.0, 5.0, 10.0), *, store: bool = False,
                 actor: str | None = None) -> gpd.GeoDataFrame:
        """People near each hazard area (nearest place, population per distance band,
        distance-weighted index); ``store=True`` replaces the ledger's exposure layer."""
        from .exposure.exposure import DECAY_KM, area_exposure

        areas = gpd.GeoDataFrame(self.read("hazard_areas"))
        frame = area_exposure(areas, self.places(), bands_km)
        frame.insert(1, "region", areas["region"].to_numpy())
        frame["bands_km"] = ",".join(f"{b:g}" for b in sorted(bands_km))
        frame["decay_km"] = DECAY_KM
        frame["computed_at"] = pd.Timestamp.now(tz="UTC")
        geo = gpd.GeoDataFrame(frame, geometry=areas.geometry.to_numpy(), crs="EPSG:4326")
        if store:
            self.store_result("exposure", geo, actor=actor,
                              run={"bands_km": geo["bands_km"].iloc[0] if len(geo) else "",
                                   "decay_km": DECAY_KM})
        return geo

    def priorities(self, as_of: str | pd.Timestamp, *, scenario: str = "pessimistic",
                   samples: int = DEFAULT_SAMPLES, seed: int = DEFAULT_SEED,
                   config_path: Path | None = None,
                   store: bool = False, actor: str | None = None,
                   hazard: pd.DataFrame | None = None
                   ) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
        """Open hazard areas ranked for survey and clearance, and communities ranked for
        risk education, every factor shown. ``store=True`` replaces the ledger's
        priorities and exposure layers. Never changes an area's status. ``hazard``: the
        area-level residual hazard for the same date and scenario, if already computed."""
        from .priority.ranking import rank_areas, rank_communities
        from .priority.weights import load_config

        config = load_config(config_path)
        if hazard is None:
            hazard = self.residual_hazard(as_of, scenario=scenario, samples=samples, seed=seed)
        exposure = self.exposure(store=store, actor=actor)
        areas = gpd.GeoDataFrame(self.read("hazard_areas"))
        ranked = rank_areas(areas, hazard, exposure, self.read("activities"),
                            self.read("incidents"), self.read("records"), config)
        ranked["as_of"], ranked["scenario"] = utc_timestamp(as_of), scenario
        ranked["computed_at"] = pd.Timestamp.now(tz="UTC")
        communities = rank_communities(self.places(), areas, hazard, config)
        if store:
            self.store_result("priorities", ranked, actor=actor,
                              run={"as_of": str(utc_timestamp(as_of)), "scenario": scenario,
                                   "samples": samples, "weights": config.describe(),
                                   "config": config.source})
        return ranked, communities

    # -- export, audit -------------------------------------------------------------------

    def export(self, layer_name: str, path: str | Path, *, include_personal: bool = False) -> Path:
        """Write a layer to a file; victims' personal fields are redacted unless asked for."""
        schema = layer(layer_name)
        frame = personal_for_export(self.read(schema.name), schema.personal_fields,
                                    schema.name, include_personal)
        return export_frame(frame, path, schema.name)

    def at(self, moment: str | pd.Timestamp) -> LedgerAt:
        """The ledger as its audit trail says it stood at ``moment`` (read-only)."""
        from .history import LedgerAt

        return LedgerAt(self, utc_timestamp(moment))

    def audit_log(self, feature_id: str | None = None) -> pd.DataFrame:
        return self.store.audit_log(feature_id)

    def check_audit(self) -> AuditCheck:
        """The hash chain, the data against its audited state (changes made by any program),
        the recording of direct edits, and the domain rules on features edited directly."""
        from .direct_edits import check

        return check(self)

    def verify_audit(self) -> list[str]:
        """Every problem :meth:`check_audit` finds, one line each; [] when all is well."""
        return self.check_audit().lines()

    def pending_edits(self) -> list[Any]:
        """Edits other programs made to a GeoPackage that triggers recorded, not yet
        accepted or reverted."""
        return self.store.pending_edits()

    def accept_edits(self, *, reason: str, actor: str | None = None) -> Reconciled:
        """Validate and chain into the audit trail every edit other programs made."""
        from .direct_edits import accept

        return accept(self, actor=actor or default_actor(), reason=reason)

    def seal_personal(self, *, actor: str | None = None) -> tuple[int, int]:
        """Seal with the current key every personal value held in clear or under an older
        key: in the layers (an audited correction) and, for a ledger of the first release,
        in the audit trail (sealed in place, the chain hashed again and the old head kept
        in a last entry). How many features and entries were sealed."""
        from .store.sealing import reseal_layers, seal_trail

        who = actor or default_actor()
        keyring = self.store.keyring
        # the trail first: the head it records as replaced is the one its keeper last saw
        entries = seal_trail(self.store, keyring, actor=who) if keyring else 0
        features = reseal_layers(self.store, actor=who)
        return features, entries

    def revert_edits(self, *, actor: str | None = None) -> Reconciled:
        """Restore the audited state of everything other programs changed."""
        from .direct_edits import revert

        return revert(self, actor=actor or default_actor())


__all__ = ["ImportReport", "InputRejected", "Ledger", "StoreError", "default_location"]
