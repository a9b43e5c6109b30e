"""pytest plugin for ogctests: sends the API token on every request to the server under test.

ogctests 0.1.15 builds its httpx clients without headers, and has no option for them: every
request it makes (``httpx.Client`` and ``httpx.get`` alike) ends in ``Client.send``, where
the token is added, and only for the server's own address, so that it goes nowhere else.
"""

from __future__ import annotations

import os
from typing import Any

import httpx


def pytest_configure(config: Any) -> None:
    send = httpx.Client.send
    base = os.environ["INSTANCE_URL"].rstrip("/") + "/"
    token = os.environ["HAZARDLEDGER_OGC_TOKEN"]

    def send_with_token(self: httpx.Client, request: httpx.Request, *args: Any,
                        **kwargs: Any) -> httpx.Response:
        if str(request.url).startswith(base) or str(request.url) == base[:-1]:
            request.headers["Authorization"] = f"Bearer {token}"
        return send(self, request, *args, **kwargs)

    httpx.Client.send = send_with_token  # type: ignore[method-assign]
