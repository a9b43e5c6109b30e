"""What every request and response of the server gets, whatever the route: a cap on the
request body (413 over it), security headers, no caching of anything a token unlocked,
and 4xx bodies that say what is wrong without echoing the input back."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# 32 MiB: a batch of 10,000 records with detailed perimeters is a few MB of GeoJSON
DEFAULT_MAX_BODY = 32 * 1024 * 1024
# The web map and the API need nothing but this server: no inline script or style, no
# frames, no third-party host (but the tile server an admin set, for images only).
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; "
                           "img-src 'self' data:{tiles}; connect-src 'self'; font-src 'self'; "
                           "object-src 'none'; base-uri 'none'; form-action 'self'; "
                           "frame-ancestors 'none'")
OTHER_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


def security_headers(tile_origin: str | None = None) -> tuple[tuple[bytes, bytes], ...]:
    """The headers every response gets; ``tile_origin`` (checked by api.basemap) is the
    one other host images may come from."""
    policy = CONTENT_SECURITY_POLICY.format(tiles=f" {tile_origin}" if tile_origin else "")
    return ((b"content-security-policy", policy.encode()), *OTHER_HEADERS)


HEADERS = security_headers()
_PUBLIC_PREFIXES = ("/static/",)  # the vendored scripts and styles may be cached


class Protections:
    """Pure ASGI middleware (streams are not buffered): counts the body as it arrives and
    refuses it at the cap, and adds the headers to every response."""

    def __init__(self, app: ASGIApp, max_body: int = DEFAULT_MAX_BODY,
                 tile_origin: str | None = None):
        self.app, self.max_body = app, max_body
        self.headers = security_headers(tile_origin)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body):
            await _too_large(self.max_body, send, self.headers)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    # FastAPI passes an HTTPException raised while reading the body on as is
                    raise HTTPException(413, too_large_text(self.max_body))
            return message

        cacheable = str(scope.get("path", "")).startswith(_PUBLIC_PREFIXES)

        async def guarded(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                present = {name.lower() for name, _ in headers}
                headers += [(k, v) for k, v in self.headers if k not in present]
                if not cacheable:
                    headers = [(k, v) for k, v in headers if k.lower() != b"cache-control"]
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, counted, guarded)


def too_large_text(limit: int) -> str:
    return (f"request body larger than {limit:,} bytes: split the batch, or start the server "
            "with a larger --max-body")


async def _too_large(limit: int, send: Send, headers: tuple[tuple[bytes, bytes], ...]
                     ) -> None:
    body = ('{"code": "PayloadTooLarge", "description": "' + too_large_text(limit) + '"}'
            ).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()), *headers,
                            (b"cache-control", b"no-store")]})
    await send({"type": "http.response.body", "body": body})


def validation_failed(request: Request, exc: Exception) -> Response:
    """A request FastAPI could not validate: where and why, never the input itself (it
    may be megabytes, or a script). A bad query or path parameter is a 400, as OGC API –
    Features asks; a bad body a 422."""
    assert isinstance(exc, RequestValidationError)
    problems = [{"loc": [str(part) for part in error.get("loc", ())],
                 "msg": str(error.get("msg", "invalid")), "type": str(error.get("type", ""))}
                for error in exc.errors()[:50]]
    in_body = any(p["loc"][:1] == ["body"] for p in problems)
    return Response(json.dumps({"code": "InvalidRequest" if in_body else
                                "InvalidParameterValue", "detail": problems}),
                    status_code=422 if in_body else 400, media_type="application/json")
