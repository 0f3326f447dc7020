"""Stand-in for xAI's OpenAI-compatible `GET /v1/models`.

Not paginated (`page_size` is accepted and ignored). A bare `data` array is served inside the
`{"data": …, "object": "list"}` envelope; requests without a bearer key get a 401.
`invalid_key` is xAI's answer to a key it does not know (HTTP 400, not 401), for
`server.fail(MODELS_PATH, invalid_key)`.
`POST /v1/chat/completions` answers a canned one-sentence completion.
"""

from __future__ import annotations

from typing import Any

from registry.standin.openai import install_chat
from registry.standin.server import StandInRequest, StandInResponse, StandInServer, json_response

MODELS_PATH = "/v1/models"


def invalid_key(request: StandInRequest) -> StandInResponse:
    """xAI's answer to an unknown key, shaped as the real one: the key shown as `ab***yz`."""
    key = request.headers.get("authorization", "").removeprefix("Bearer ")
    return json_response(
        {
            "code": "Client specified an invalid argument",
            "error": f"Incorrect API key provided: {key[:2]}***{key[-2:]}. You can obtain an "
            "API key from https://console.x.ai.",
        },
        400,
    )


def install(server: StandInServer, body: Any, *, page_size: int | None = None) -> None:
    listing = {"data": body, "object": "list"} if isinstance(body, list) else body

    def models(request: StandInRequest) -> StandInResponse:
        authorization = request.headers.get("authorization", "")
        if not authorization.startswith("Bearer ") or len(authorization) <= len("Bearer "):
            return json_response(
                {
                    "code": "Unauthenticated",
                    "error": "No API key provided. Add an Authorization header (Bearer).",
                },
                401,
            )
        return json_response(listing)

    server.route(MODELS_PATH, models)
    install_chat(server, "xAI")
