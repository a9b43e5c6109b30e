"""``create_app``: OGC API – Features (Part 1 Core, GeoJSON) over a ledger, with roles.

Landing page, conformance and the OpenAPI document are public; every collection needs a
viewer's token (``Authorization: Bearer ...``); writes (see :mod:`.writes`) an editor's;
victims' personal fields are shown to admins only."""

# No `from __future__ import annotations`: FastAPI reads the route annotations at run
# time, and the dependency aliases below are local to create_app.


import contextlib
import queue
import time
from collections.abc import AsyncIterator, Callable
from importlib import resources
from typing import Annotated, Any

import pandas as pd
from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles

from .. import __version__
from ..domain.schema import LAYERS
from ..hazard.inert import WARNING
from ..hazard.parameters import DEFAULT_SAMPLES
from ..ledger import Ledger
from ..locale import LANGUAGES, catalog
from ..residual import DEFAULT_SCENARIO
from ..store.base import FeatureQuery, StoreError, User
from ..store.gpkg_open import SERVER_WAIT_MS
from . import params
from .auth import Role, user_for, utc_now
from .basemap import ATTRIBUTION_SETTING, URL_SETTING, TileBasemap, stored_basemap
from .collections import (
    SAMPLES,
    all_collections,
    as_of,
    computed_frame,
    filter_in_memory,
    page_in_memory,
    state_at,
    stood_frame,
)
from .figure_cache import MadePages, cache_root
from .geojson import dumps, features, page_features
from .openapi import document as openapi_document
from .pages import (
    GEOJSON,
    EncodedPage,
    figures_of,
    figures_page,
    figures_state,
    page_document,
)
from .prepared import WAIT_S, BeingPrepared, Preparer
from .protections import DEFAULT_MAX_BODY, Protections, validation_failed
from .throttle import LOG, FailedLogins, TokenUse

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
]


def _json(document: object, status: int = 200, media_type: str = "application/json"
          ) -> Response:
    return Response(dumps(document), status_code=status, media_type=media_type)


def create_app(location: str, max_body: int = DEFAULT_MAX_BODY,
               clock: Callable[[], float] = time.monotonic, *, prepare_ahead: bool = False,
               prepare_wait_s: float = WAIT_S) -> FastAPI:
    """The server for the ledger at ``location`` (a .gpkg path or a postgresql:// URL);
    request bodies above ``max_body`` bytes are refused (413). ``clock`` (seconds) times
    failed authentications and tokens' last use. The computed collections are prepared in
    the background (:mod:`.prepared`): at the web map's checkpoints from the first request
    on with ``prepare_ahead``; a request waits ``prepare_wait_s`` at most for its date."""
    # Open ledgers are pooled: opening one per request (connect, schema check) costs more
    # than serving a page. A ledger is used by one request at a time.
    idle: queue.SimpleQueue[Ledger] = queue.SimpleQueue()
    pages = MadePages()
    preparer = Preparer(location, SAMPLES, ahead=prepare_ahead, wait_s=prepare_wait_s,
                        cache=cache_root())

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        preparer.close()
        # closed at shutdown, so that the GeoPackage can leave WAL mode (end_serving)
        while True:
            try:
                idle.get_nowait().close()
            except queue.Empty:
                break

    # No /docs or /redoc: FastAPI's pages load Swagger UI and ReDoc from a public CDN (a
    # third-party script beside the tokens, and broken offline). The OpenAPI document
    # itself is served at /openapi.json.
    app = FastAPI(title="Hazard Ledger", version=__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None,
                  description="OGC API – Features over a mine action ledger. The model never "
                              "releases land.")
    # Read once: a changed basemap takes effect when the server restarts, with its policy.
    first = Ledger(location, wait_ms=SERVER_WAIT_MS)
    tiles = _tile_basemap(first)
    idle.put(first)
    app.add_middleware(Protections, max_body=max_body,
                       tile_origin=tiles.origin if tiles else None)
    app.add_exception_handler(RequestValidationError, validation_failed)
    app.state.location = location
    app.state.preparer = preparer
    collections = all_collections()

    # async: run on the event loop, not as a hop to the thread pool (the work is a queue
    # operation, and for viewer one indexed lookup)
    async def ledger() -> AsyncIterator[Ledger]:
        try:
            led = idle.get_nowait()
        except queue.Empty:
            led = Ledger(location, wait_ms=SERVER_WAIT_MS)
        try:
            yield led
        except BaseException:
            led.close()
            raise
        idle.put(led)

    LedgerDep = Annotated[Ledger, Depends(ledger)]

    failures = FailedLogins()
    uses = TokenUse()

    async def viewer(request: Request, led: LedgerDep,
                     authorization: Annotated[str | None, Header()] = None) -> User:
        address = request.client.host if request.client else "unknown"
        wait = failures.wait_s(address, clock())
        if wait:
            raise HTTPException(429, "too many failed authentications from this address; "
                                     f"try again in {wait} s", headers={"Retry-After": str(wait)})
        user = user_for(led.store, authorization)
        if user is not None and uses.due(user.name, clock()):
            await run_in_threadpool(_record_use, led, user.name)
        if user is None:
            if authorization:  # clients first ask without credentials, and that is no failure
                failures.failed(address, clock())
            raise HTTPException(401, "a valid API token is needed: Authorization: Bearer "
                                     "<token>, or HTTP Basic with your user name and the "
                                     "token as password (hazardledger users add NAME "
                                     "--role ROLE)",
                                headers={"WWW-Authenticate": 'Bearer, Basic realm="Hazard '
                                                             'Ledger", charset="UTF-8"'})
        return user

    app.state.viewer = viewer
    app.state.ledger = ledger
    ViewerDep = Annotated[User, Depends(viewer)]
    StateAtQuery = Annotated[str | None, Query(
        alias="state_at", description="RFC 3339 moment: the features as the audit trail says "
        "they stood then, whatever was corrected or deleted since (stored collections)")]

    @app.exception_handler(params.BadParameter)
    def bad_parameter(request: Request, exc: params.BadParameter) -> Response:
        return _json({"code": "InvalidParameterValue", "description": str(exc)}, 400)

    @app.exception_handler(StoreError)
    def store_error(request: Request, exc: StoreError) -> Response:
        return _json({"code": "StoreUnavailable", "description": str(exc)}, 503)

    @app.exception_handler(BeingPrepared)
    def being_prepared(request: Request, exc: BeingPrepared) -> Response:
        response = _json(exc.progress, 503)
        response.headers["Retry-After"] = str(exc.progress["retry_after_s"])
        return response

    def base(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    static = resources.files("hazardledger.api") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    outlines = resources.files("hazardledger.report") / "data" / "naturalearth_lowres.geojson"

    @app.get("/basemap.geojson", summary="Country outlines for the web map (Natural Earth)")
    def basemap() -> FileResponse:
        return FileResponse(str(outlines), media_type=GEOJSON)

    @app.get("/map-settings.json", summary="The web map's basemap: tiles an admin set, or "
                                           "none (the packaged outlines)")
    def map_settings() -> Response:
        return _json({"tiles": None if tiles is None else {
            "url": tiles.url, "attribution": tiles.attribution}})

    @app.get("/map-text.json", summary="The web map's words in a language (its gettext "
                                        "catalog; English needs none)")
    def map_text(lang: Annotated[str, Query(pattern="^[a-z]{2}$")] = "en") -> Response:
        if lang not in LANGUAGES:
            raise HTTPException(404, f"no catalog for lang={lang} (languages: "
                                     f"{', '.join(LANGUAGES)})")
        return _json(catalog(lang))

    @app.get("/", summary="Landing page (JSON), or the web map for a browser")
    def landing(request: Request, f: Annotated[str | None, Query()] = None) -> Response:
        wants_html = f == "html" or (f is None and "text/html" in request.headers.get(
            "accept", ""))
        if wants_html:
            return FileResponse(str(static / "map.html"), media_type="text/html")
        root = base(request)
        return _json({
            "title": "Hazard Ledger", "description": "Mine action records, residual hazard, "
            "exposure and priorities. The model never releases land.",
            "links": [
                {"href": f"{root}/", "rel": "self", "type": "application/json"},
                {"href": f"{root}/openapi.json", "rel": "service-desc",
                 "type": "application/vnd.oai.openapi+json;version=3.0"},
                {"href": f"{root}/conformance", "rel": "conformance",
                 "type": "application/json"},
                {"href": f"{root}/collections", "rel": "data", "type": "application/json"}]})

    @app.get("/conformance", summary="Conformance classes")
    def conformance() -> Response:
        return _json({"conformsTo": CONFORMANCE})

    def describe(request: Request, cid: str, led: Ledger) -> dict[str, Any]:
        c = collections[cid]
        root = f"{base(request)}/collections/{cid}"
        out: dict[str, Any] = {
            "id": cid, "title": c.title, "description": c.description, "itemType": "feature",
            "crs": ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"], "extent": {},
            "links": [{"href": root, "rel": "self", "type": "application/json"},
                      {"href": f"{root}/items", "rel": "items", "type": GEOJSON}]}
        # the data's own extent, so that "zoom to layer" goes to it (computed collections
        # cover the hazard areas); none for a table without geometry or an empty layer
        bounds = led.store.layer_bounds("hazard_areas" if c.computed else cid)
        if bounds is not None:
            out["extent"]["spatial"] = {"bbox": [list(bounds)],
                                        "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}
        if c.time_field:
            out["extent"]["temporal"] = {"interval": [[None, None]],
                                         "trs": "http://www.opengis.net/def/uom/ISO-8601/0/"
                                                "Gregorian"}
        return out

    @app.get("/collections", summary="The collections")
    def list_collections(request: Request, led: LedgerDep, user: ViewerDep) -> Response:
        return _json({"collections": [describe(request, c, led) for c in collections],
                      "links": [{"href": f"{base(request)}/collections", "rel": "self",
                                 "type": "application/json"}]})

    def known(cid: str) -> None:
        if cid not in collections:
            raise HTTPException(404, f"no collection '{cid}' (collections: "
                                     f"{', '.join(collections)})")

    @app.get("/collections/{cid}", summary="One collection")
    def collection(request: Request, cid: str, led: LedgerDep, user: ViewerDep) -> Response:
        known(cid)
        return _json(describe(request, cid, led))

    def withheld(cid: str, user: User) -> tuple[str, ...]:
        if cid in LAYERS and Role.named(user.role) < Role.ADMIN:
            return LAYERS[cid].personal_fields
        return ()

    @app.get("/collections/{cid}/items", summary="Features of a collection, paged")
    def items(request: Request, cid: str, led: LedgerDep, user: ViewerDep,
              bbox: Annotated[str | None, Query(description="minx,miny,maxx,maxy (lon/lat)")
                              ] = None,
              datetime_: Annotated[str | None, Query(alias="datetime",
                                                     description="instant or start/end")
                                   ] = None,
              limit: Annotated[int, Query(description="1..10000")] = params.DEFAULT_LIMIT,
              offset: Annotated[int, Query()] = 0,
              as_of_: Annotated[str | None, Query(alias="as_of", description="YYYY-MM-DD "
                                                  "(computed collections)")] = None,
              scenario: Annotated[str, Query()] = DEFAULT_SCENARIO,
              state_at_: StateAtQuery = None) -> Response:
        known(cid)
        box, size, start = params.bbox(bbox), params.limit(limit), params.offset(offset)
        moment = state_at(state_at_)
        if collections[cid].computed:
            if datetime_ is not None:
                raise params.BadParameter(f"datetime: {cid} is computed for one date: use "
                                          "as_of")
            if moment is not None:
                raise params.BadParameter(f"state_at: {cid} is computed from the ledger as "
                                          "it is now (hazardledger hazard --state-at computes "
                                          "it from a past state)")
            params.only(request.query_params.multi_items(), params.COMPUTED, cid)
            whole, figures = computed_frame(preparer, led, cid, as_of(as_of_), scenario)
            # a page of prepared figures is made once: the slider asks for the same pages
            of, hidden = figures.pop("of"), withheld(cid, user)
            slot = (cid, as_of(as_of_), scenario, box, size, start, hidden)
            def make() -> EncodedPage:
                frame, matched = page_in_memory(whole, box, size, start)
                return EncodedPage(dumps(features(frame, withheld=hidden)), len(frame),
                                   matched, of)

            page, made = pages.made_or_last((figures.pop("key"), *slot), slot, make)
            if not made:  # the page of figures before, while this one is made
                figures = figures_of(page, led.store.change_token())
            return figures_page(request, page, start, size, figures)
        else:
            window = params.datetime_window(datetime_, cid)
            equals = params.equals(request.query_params.multi_items(), cid)
            if box is not None and not LAYERS[cid].spatial:
                # a feature without geometry lies in no box (OGC API – Features, bbox)
                return _json(page_document(request, [], 0, start, size), media_type=GEOJSON)
            if moment is not None:  # the ledger as its audit trail says it stood then
                frame, matched = page_in_memory(filter_in_memory(
                    stood_frame(led, cid, moment), cid, window, equals), box, size, start)
                found = features(frame, withheld=withheld(cid, user))
                return _json(page_document(request, found, matched, start, size),
                             media_type=GEOJSON)
            page = led.store.query_page(cid, FeatureQuery(
                box, collections[cid].time_field, window.start, window.end, size, start,
                equals))
            found = page_features(page, withheld(cid, user))
            return _json(page_document(request, found, page.matched, start, size),
                         media_type=GEOJSON)

    @app.get("/collections/{cid}/items/{fid}", summary="One feature")
    def item(request: Request, cid: str, fid: str, led: LedgerDep, user: ViewerDep,
             as_of_: Annotated[str | None, Query(alias="as_of")] = None,
             scenario: Annotated[str, Query()] = DEFAULT_SCENARIO,
             state_at_: StateAtQuery = None) -> Response:
        known(cid)
        moment = state_at(state_at_)
        figures = None
        if collections[cid].computed:
            frame, figures = computed_frame(preparer, led, cid, as_of(as_of_), scenario)
            frame = frame[frame["id"] == fid]
        elif moment is not None:
            frame = stood_frame(led, cid, moment)
            frame = frame[frame["id"] == fid]
        else:
            frame = led.store.read_layer(cid, [fid])
        if frame.empty:
            raise HTTPException(404, f"no feature '{fid}' in {cid}")
        feature = features(frame, withheld=withheld(cid, user))[0]
        feature["links"] = [{"href": str(request.url), "rel": "self", "type": GEOJSON},
                            {"href": f"{base(request)}/collections/{cid}", "rel": "collection",
                             "type": "application/json"}]
        if figures is None:
            return _json(feature, media_type=GEOJSON)
        figures.pop("key"), figures.pop("of")
        feature["figures"] = figures
        return _figures_json(feature, figures)

    @app.get("/prepared", summary="The web map's checkpoints: the dates whose residual "
             "hazard and priorities are prepared, and the one being computed")
    def prepared(led: LedgerDep, user: ViewerDep,
                 scenario: Annotated[str, Query()] = DEFAULT_SCENARIO) -> Response:
        try:
            return _json(preparer.status(scenario, led.store.change_token()))
        except ValueError as exc:
            raise params.BadParameter(f"scenario: {exc}") from None

    @app.get("/areas/{area_id}/curve", summary="Daily residual hazard of one hazard area")
    def area_curve(area_id: str, led: LedgerDep, user: ViewerDep,
                   scenario: Annotated[str, Query()] = DEFAULT_SCENARIO) -> Response:
        return _json(area_curve_document(led, area_id, scenario))

    from .release import add_release_routes
    from .review import add_review_routes
    from .writes import add_write_routes

    add_write_routes(app, collections)
    add_review_routes(app)
    add_release_routes(app)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = openapi_document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _figures_json(document: dict[str, Any], figures: dict[str, Any]) -> Response:
    """A computed collection's GeoJSON, saying in a header too which state of the ledger
    its figures are of (a client that reads only features still gets told)."""
    response = _json(document, media_type=GEOJSON)
    response.headers["X-Figures-State"] = figures_state(figures)
    return response


def _tile_basemap(led: Ledger) -> TileBasemap | None:
    try:
        return stored_basemap(led.store.get_meta(URL_SETTING),
                              led.store.get_meta(ATTRIBUTION_SETTING))
    except ValueError as exc:  # edited by another program: no external request at all
        LOG.warning("the ledger's basemap setting is ignored: %s", exc)
        return None


def _record_use(led: Ledger, name: str) -> None:
    try:
        led.store.record_token_use(name, utc_now())
    except StoreError as exc:  # a busy ledger: the time is a convenience, the request is not
        LOG.info("last use of %s not recorded: %s", name, exc)


def area_curve_document(led: Ledger, area_id: str, scenario: str) -> dict[str, Any]:
    """Two years back (or from the area's first laying) to a year ahead, 200 samples."""
    records = led.store.query("records", FeatureQuery(equals=(("area_id", area_id),),
                                                      limit=params.MAX_LIMIT))[0]
    if records.empty:
        raise HTTPException(404, f"no records in hazard area '{area_id}'")
    today = pd.Timestamp.now(tz="UTC").normalize()
    start = max(today - pd.Timedelta(days=730),
                pd.to_datetime(records["laid_from"], utc=True).min().ceil("D"))
    frame = led.curve(start, today + pd.Timedelta(days=365), area=area_id, scenario=scenario,
                      samples=DEFAULT_SAMPLES)
    out: dict[str, Any] = {"area_id": area_id, "scenario": scenario,
                           "date": frame["date"].dt.strftime("%Y-%m-%d").tolist()}
    for column in ("expected_q05", "expected_q50", "expected_q95", "expected_mean"):
        out[column] = frame[column].round(4).tolist()
    out["warning"] = WARNING
    return out
