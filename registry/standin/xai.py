"""Stand-in for xAI's OpenAI-compatible `GET /v1/models`.

Not paginated (`page_size` is accepted and ignored). A bare `data` array is served inside the
`{"data": …, "object": "list"}` envelope; requests without a bearer key get a 401.
`POST /v1/chat/completions` answers a canned one-sentence completion.
"""

from __future__ import annotations

from typing import Any

from registry.standin.openai import install_chat
from registry.standin.server import StandInRequest, StandInResponse, StandInServer, json_response

MODELS_PATH = "/v1/models"


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
