"""The API definition as OGC API – Features asks for it: an OpenAPI 3.0 document (the
conformance class the landing page claims), with the tokens as security schemes and the
standard parameters (``bbox``, ``datetime``, ``limit``) defined as the standard defines them.

FastAPI writes OpenAPI 3.1; the few 3.1 forms it uses are written back in their 3.0
spelling here, so that 3.0 validators (and clients such as QGIS 3.22's) read it.
"""

from __future__ import annotations

import copy
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from .params import DEFAULT_LIMIT, MAX_LIMIT

OPENAPI_VERSION = "3.0.3"
SECURITY_SCHEMES = {
    "bearerToken": {"type": "http", "scheme": "bearer",
                    "description": "An API token from 'hazardledger users add'"},
    "basicToken": {"type": "http", "scheme": "basic",
                   "description": "The user's name, and the API token as the password (for "
                                  "clients that cannot send a bearer token: QGIS 3.22, "
                                  "GDAL 3.6)"},
}
# OGC API – Features Part 1, /req/core/fc-bbox-definition, fc-time-definition and
# fc-limit-definition
STANDARD_PARAMETERS: dict[str, dict[str, Any]] = {
    "bbox": {"style": "form", "explode": False, "schema": {
        "type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}}},
    "datetime": {"style": "form", "explode": False, "schema": {"type": "string"}},
    "limit": {"style": "form", "explode": False, "schema": {
        "type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}},
}


def document(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI 3.0 document."""
    spec = get_openapi(title=app.title, version=app.version, description=app.description,
                       routes=app.routes)
    spec = _as_30(spec)
    spec["openapi"] = OPENAPI_VERSION
    spec.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
    for path in spec["paths"].values():
        for operation in path.values():
            _operation(operation)
    return spec


def _operation(operation: dict[str, Any]) -> None:
    kept = []
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "header" and parameter["name"].lower() == "authorization":
            # OpenAPI 3.0 ignores an Authorization header parameter: it is a security
            # requirement, met by either scheme
            operation["security"] = [{name: []} for name in SECURITY_SCHEMES]
            continue
        standard = STANDARD_PARAMETERS.get(parameter["name"]) if parameter["in"] == "query" \
            else None
        if standard is not None:
            parameter.update(copy.deepcopy(standard), required=False)
        kept.append(parameter)
    if "parameters" in operation:
        operation["parameters"] = kept


def _as_30(node: Any) -> Any:
    """A 3.1 schema tree in 3.0 terms: ``anyOf`` with ``{"type": "null"}`` becomes
    ``nullable``, ``const`` an ``enum`` of one, ``examples`` one ``example``, numeric
    ``exclusiveMinimum``/``Maximum`` the boolean form."""
    if isinstance(node, list):
        return [_as_30(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _as_30(value) for key, value in node.items()}
    for key in ("anyOf", "oneOf"):
        options = out.get(key)
        if isinstance(options, list) and {"type": "null"} in options:
            rest = [o for o in options if o != {"type": "null"}]
            del out[key]
            if len(rest) == 1 and "$ref" not in rest[0]:
                out = {**rest[0], **out}
            else:  # a $ref takes no siblings in 3.0
                out[key if len(rest) > 1 else "allOf"] = rest
            out["nullable"] = True
    if "const" in out:
        out["enum"] = [out.pop("const")]
    if isinstance(out.get("examples"), list):
        examples = out.pop("examples")
        if examples:
            out["example"] = examples[0]
    for bound, plain in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(out.get(bound), int | float) and not isinstance(out.get(bound), bool):
            out[plain] = out[bound]
            out[bound] = True
    return out
