"""Stand-in for OpenRouter's `GET /api/v1/models`.

The real API answers every model in one body with `links: {"next": null}`. With `page_size`
the stand-in splits the body and points `links.next` at the following page (a relative URL
with an opaque `cursor`, other query parameters kept), which is how the adapter is proven to
follow `links.next` should OpenRouter start paginating. `POST /api/v1/chat/completions`
answers a canned one-sentence completion.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any
from urllib.parse import urlencode

from registry.standin.openai import install_chat
from registry.standin.server import (
    StandInRequest,
    StandInResponse,
    StandInServer,
    json_response,
)

MODELS_PATH = "/api/v1/models"
CHAT_PATH = "/api/v1/chat/completions"


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _offset(cursor: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    prefix, _, number = text.partition(":")
    return int(number) if prefix == "offset" and number.isdigit() else None


def install(server: StandInServer, body: Any, *, page_size: int | None = None) -> None:
    """Serve a recorded `{"data": [...], "links": {"next": null}, ...}` listing."""
    install_chat(server, "OpenRouter", CHAT_PATH)
    if page_size is None:
        encoded = json.dumps(body).encode()  # recordings are ~1 MB: encode once

        def whole(_request: StandInRequest) -> StandInResponse:
            return StandInResponse(body=encoded, headers={"Content-Type": "application/json"})

        server.route(MODELS_PATH, whole)
        return

    data: list[Any] = list(body.get("data") or [])
    envelope = {k: v for k, v in body.items() if k not in ("data", "links")}

    def paged(request: StandInRequest) -> StandInResponse:
        cursor = request.param("cursor")
        start = 0
        if cursor is not None:
            offset = _offset(cursor)
            if offset is None:
                return json_response({"error": {"code": 400, "message": "Invalid cursor"}}, 400)
            start = offset
        end = start + page_size
        next_link = None
        if end < len(data):
            params = {k: v[0] for k, v in request.query.items() if k != "cursor" and v}
            params["cursor"] = _cursor(end)
            next_link = f"{MODELS_PATH}?{urlencode(params)}"
        return json_response({**envelope, "data": data[start:end], "links": {"next": next_link}})

    server.route(MODELS_PATH, paged)
