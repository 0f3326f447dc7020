"""Stand-in for Mistral's `GET /v1/models`.

Not paginated (`page_size` is accepted and ignored): the body, duplicates included, is served
as recorded. Requests without a bearer key get Mistral's 401 body. `POST /v1/chat/completions`
answers a canned one-sentence completion.
"""

from __future__ import annotations

from typing import Any

from registry.standin.openai import install_chat
from registry.standin.server import StandInRequest, StandInResponse, StandInServer, json_response

MODELS_PATH = "/v1/models"


def install(server: StandInServer, body: Any, *, page_size: int | None = None) -> None:
    listing = {"object": "list", "data": body} if isinstance(body, list) else body

    def models(request: StandInRequest) -> StandInResponse:
        authorization = request.headers.get("authorization", "")
        if not authorization.startswith("Bearer ") or len(authorization) <= len("Bearer "):
            return json_response({"message": "Unauthorized", "request_id": "stand-in"}, 401)
        return json_response(listing)

    server.route(MODELS_PATH, models)
    install_chat(server, "Mistral")
