"""Stand-in for OpenAI's `GET /v1/models`.

The real endpoint is not paginated: one body carries every model, so `page_size` is accepted
for a uniform installer signature and ignored. A recorded listing stored as the bare `data`
array (as some captures are) is served inside the `{"object": "list", "data": …}` envelope
the API always sends. Requests without a bearer key get OpenAI's 401 body.
"""

from __future__ import annotations

from typing import Any

from registry.standin.server import StandInRequest, StandInResponse, StandInServer, json_response

MODELS_PATH = "/v1/models"


def envelope(body: Any) -> Any:
    """The listing as the API sends it; a bare `data` array gets its envelope back."""
    if isinstance(body, list):
        return {"object": "list", "data": body}
    return body


def missing_key_response() -> StandInResponse:
    return json_response(
        {
            "error": {
                "message": "You didn't provide an API key. You need to provide your API key in "
                "an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                "type": "invalid_request_error",
                "param": None,
                "code": None,
            }
        },
        401,
    )


def has_bearer_key(request: StandInRequest) -> bool:
    value = request.headers.get("authorization", "")
    return value.startswith("Bearer ") and len(value) > len("Bearer ")


def install(server: StandInServer, body: Any, *, page_size: int | None = None) -> None:
    listing = envelope(body)

    def models(request: StandInRequest) -> StandInResponse:
        if not has_bearer_key(request):
            return missing_key_response()
        return json_response(listing)

    server.route(MODELS_PATH, models)
