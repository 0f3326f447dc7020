"""Stand-in for Azure Speech's `GET /cognitiveservices/voices/list`.

The real endpoint answers one JSON array with every voice of the region, so `page_size` is
accepted for a uniform signature and ignored. Requests without `Ocp-Apim-Subscription-Key`
get Azure's 401. `POST /cognitiveservices/v1` (synthesis from SSML) answers a short silent MP3.
"""

from __future__ import annotations

import json
from typing import Any

from registry.standin.audio import mp3_response
from registry.standin.server import (
    StandInRequest,
    StandInResponse,
    StandInServer,
    json_response,
)

VOICES_PATH = "/cognitiveservices/voices/list"
SYNTHESIS_PATH = "/cognitiveservices/v1"


def install(server: StandInServer, body: Any, *, page_size: int | None = None) -> None:
    """Serve a recorded voice array (encoded once: recordings hold hundreds of voices)."""
    del page_size
    encoded = json.dumps(body).encode()

    def handler(request: StandInRequest) -> StandInResponse:
        return _unauthorized(request) or StandInResponse(
            body=encoded, headers={"Content-Type": "application/json"}
        )

    server.route(VOICES_PATH, handler)

    def synthesis(request: StandInRequest) -> StandInResponse:
        return _unauthorized(request) or mp3_response()

    server.route(SYNTHESIS_PATH, synthesis, method="POST")


def _unauthorized(request: StandInRequest) -> StandInResponse | None:
    if not request.headers.get("ocp-apim-subscription-key"):
        return json_response(
            {
                "error": {
                    "code": "401",
                    "message": "Access denied due to invalid subscription key or wrong API "
                    "endpoint. Make sure to provide a valid key for an active subscription "
                    "and use a correct regional API endpoint for your resource.",
                }
            },
            401,
        )
    return None
