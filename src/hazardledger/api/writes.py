"""OGC API – Features Part 4 writes: create (POST), replace (PUT), update (PATCH) and
delete (DELETE) features, validated by the same code as an import, one audit entry per
feature with the token's user as the actor. A delete keeps the feature in the audit trail."""

# No `from __future__ import annotations`: FastAPI reads the route annotations at run
# time, and the dependency aliases below are local to create_app.


from collections.abc import Callable
from typing import Annotated, Any

import geopandas as gpd
import orjson
import pandas as pd
import shapely
from fastapi import Body, Depends, FastAPI, HTTPException, Request
from fastapi.responses import Response

from ..domain.problems import InputRejected
from ..domain.schema import LAYERS
from ..ledger import Ledger
from ..store.base import User
from .auth import Role
from .collections import Collection

FEATURE_BODY = Body(media_type="application/geo+json", openapi_examples={"feature": {
    "summary": "A record", "value": {
        "type": "Feature", "geometry": {"type": "Point", "coordinates": [36.01, 49.01]},
        "properties": {"id": "R-1", "item_type": "pfm-1", "laid_from": "2024-03-01T06:00:00Z",
                       "source": "minefield_record", "info_reliability": "high",
                       "count": 10}}}})


def at_least(viewer: Callable[..., User], role: Role, doing: str) -> Callable[..., User]:
    """A dependency: the request's user if their role is ``role`` or above, else a 403
    saying what ``doing`` needs (here, where FastAPI reads the annotation at run time)."""
    def dependency(user: Annotated[User, Depends(viewer)]) -> User:
        if Role.named(user.role) < role:
            raise HTTPException(403, f"{user.name} is a {user.role}: {doing} needs the "
                                     f"{role.name.lower()} or admin role")
        return user
    return dependency


def _frame(layer: str, documents: list[Any]) -> pd.DataFrame:
    """GeoJSON features as the import's input frame; a 400 for anything else."""
    rows, shapes = [], []
    for n, doc in enumerate(documents, start=1):
        if not isinstance(doc, dict) or doc.get("type") != "Feature":
            raise HTTPException(400, f"feature {n}: expected a GeoJSON Feature object")
        props = doc.get("properties") or {}
        if not isinstance(props, dict):
            raise HTTPException(400, f"feature {n}: properties must be an object")
        if doc.get("id") is not None and "id" not in props:
            props = {**props, "id": str(doc["id"])}
        rows.append(props)
        shapes.append(doc.get("geometry"))
    frame = pd.DataFrame(rows)
    if not LAYERS[layer].spatial:
        if any(s is not None for s in shapes):
            raise HTTPException(400, f"{layer} has no geometry: send \"geometry\": null")
        return frame
    try:
        geoms = shapely.from_geojson([orjson.dumps(s) if s is not None else "null"
                                      for s in shapes], on_invalid="raise")
    except shapely.errors.GEOSException as exc:
        raise HTTPException(400, f"geometry: not valid GeoJSON geometry ({exc})") from None
    return gpd.GeoDataFrame(frame, geometry=list(geoms), crs="EPSG:4326")


def _write(led: Ledger, layer: str, frame: pd.DataFrame, user: User, update: bool) -> int:
    try:
        report = led.import_frame(layer, frame, source=f"api:{user.name}", update=update,
                                  actor=user.name)
    except InputRejected as exc:
        raise HTTPException(400, exc.lines()) from None
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    return report.features


def add_write_routes(app: FastAPI, collections: dict[str, Collection]) -> None:
    """POST/PUT/PATCH/DELETE on the ledger's layers (editors and admins)."""
    viewer: Callable[..., User] = app.state.viewer
    ledger: Callable[..., Any] = app.state.ledger
    LedgerDep = Annotated[Ledger, Depends(ledger)]

    EditorDep = Annotated[User, Depends(at_least(viewer, Role.EDITOR, "writing"))]

    def writable(cid: str) -> None:
        if cid not in collections:
            raise HTTPException(404, f"no collection '{cid}'")
        if collections[cid].computed:
            raise HTTPException(405, f"{cid} is computed from the ledger and cannot be written")

    def existing(led: Ledger, cid: str, fid: str) -> pd.DataFrame:
        frame = led.store.read_layer(cid, [fid])
        if frame.empty:
            raise HTTPException(404, f"no feature '{fid}' in {cid}")
        return frame

    @app.post("/collections/{cid}/items", status_code=201,
              summary="Create features (a Feature or a FeatureCollection)")
    def create(request: Request, cid: str, led: LedgerDep, user: EditorDep,
               body: Annotated[dict[str, Any], FEATURE_BODY]) -> Response:
        writable(cid)
        documents = body.get("features") if body.get("type") == "FeatureCollection" else [body]
        if not isinstance(documents, list) or not documents:
            raise HTTPException(400, "expected a Feature or a non-empty FeatureCollection")
        frame = _frame(cid, documents)
        if "id" not in frame or frame["id"].isna().any():
            raise HTTPException(400, "every feature needs an id (in properties or as the "
                                     "Feature's id)")
        written = _write(led, cid, frame, user, update=False)
        first = str(frame["id"].iloc[0])
        return Response(orjson.dumps({"created": written, "ids": frame["id"].astype(
            str).tolist()}), status_code=201, media_type="application/json",
            headers={"Location": f"{str(request.base_url).rstrip('/')}/collections/{cid}/"
                                 f"items/{first}"})

    @app.put("/collections/{cid}/items/{fid}", status_code=204, summary="Replace a feature")
    def replace(cid: str, fid: str, led: LedgerDep, user: EditorDep,
                body: Annotated[dict[str, Any], FEATURE_BODY]) -> Response:
        writable(cid)
        current = existing(led, cid, fid)
        frame = _frame(cid, [body])
        if "id" in frame and str(frame["id"].iloc[0]) != fid:
            raise HTTPException(400, "id: the body's id differs from the URL's; an id cannot "
                                     "be changed")
        frame["id"] = fid
        if Role.named(user.role) < Role.ADMIN:
            # fields this user cannot read are kept as stored: a replace by someone who
            # never saw them must not erase them
            for name in LAYERS[cid].personal_fields:
                if name not in frame or frame[name].isna().all():
                    frame[name] = current[name].to_numpy()
        _write(led, cid, frame, user, update=True)
        return Response(status_code=204)

    @app.patch("/collections/{cid}/items/{fid}", status_code=204,
               summary="Update some properties (and optionally the geometry) of a feature")
    def update(cid: str, fid: str, led: LedgerDep, user: EditorDep,
               body: Annotated[dict[str, Any], FEATURE_BODY]) -> Response:
        writable(cid)
        current = existing(led, cid, fid)
        changes = body.get("properties") or {}
        if not isinstance(changes, dict) or changes.get("id", fid) != fid:
            raise HTTPException(400, "properties must be an object, and an id cannot change")
        merged = current.copy()
        for name, value in changes.items():
            merged[name] = [value]
        if LAYERS[cid].spatial and body.get("geometry") is not None:
            shape = gpd.GeoDataFrame(_frame(cid, [{"type": "Feature", "geometry":
                                                   body["geometry"]}]))
            merged = gpd.GeoDataFrame(merged).set_geometry(list(shape.geometry), crs=4326)
        _write(led, cid, merged, user, update=True)
        return Response(status_code=204)

    @app.delete("/collections/{cid}/items/{fid}", status_code=204,
                summary="Delete a feature (the audit trail keeps it)")
    def delete(cid: str, fid: str, led: LedgerDep, user: EditorDep) -> Response:
        writable(cid)
        existing(led, cid, fid)
        led.store.delete(cid, [fid], actor=user.name)
        return Response(status_code=204)
