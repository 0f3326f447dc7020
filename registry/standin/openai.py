"""Stand-in for OpenAI's `GET /v1/models`.

The real endpoint is not paginated: one body carries every model, so `page_size` is accepted
for a uniform installer signature and ignored. A recorded listing stored as the bare `data`
array (as some captures are) is served inside the `{"object": "list", "data": …}` envelope
the API always sends. Requests without a bearer key get OpenAI's 401 body.

For trying a model: `POST /v1/chat/completions` answers a canned one-sentence completion that
names the model asked for (`install_chat`, shared by the OpenAI-compatible stand-ins), and
`POST /v1/audio/speech` a short silent MP3.
"""

from __future__ import annotations

from typing import Any

from registry.standin.audio import mp3_response
from registry.standin.server import StandInRequest, StandInResponse, StandInServer, json_response

MODELS_PATH = "/v1/models"
CHAT_PATH = "/v1/chat/completions"
SPEECH_PATH = "/v1/audio/speech"


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
    install_chat(server, "OpenAI")

    def speech(request: StandInRequest) -> StandInResponse:
        return mp3_response() if has_bearer_key(request) else missing_key_response()

    server.route(SPEECH_PATH, speech, method="POST")


# --- trying a model: a short canned answer ---------------------------------------------------


def canned_answer(vendor: str, request: StandInRequest) -> str:
    body = request.json()
    model = body.get("model") if isinstance(body, dict) else None
    return f"Hello from the {vendor} stand-in, speaking as {model or 'an unnamed model'}."


def chat_completion(vendor: str, request: StandInRequest) -> StandInResponse:
    """An OpenAI-style chat completion (also what Mistral, xAI and OpenRouter answer)."""
    answer = canned_answer(vendor, request)
    body = request.json()
    return json_response(
        {
            "id": "chatcmpl-standin",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": body.get("model", "") if isinstance(body, dict) else "",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": answer},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 12, "completion_tokens": 12, "total_tokens": 24},
        }
    )


def install_chat(server: StandInServer, vendor: str, path: str = CHAT_PATH) -> None:
    """`POST path` answers a bearer-keyed request with a canned chat completion."""

    def chat(request: StandInRequest) -> StandInResponse:
        if not has_bearer_key(request):
            return missing_key_response()
        return chat_completion(vendor, request)

    server.route(path, chat, method="POST")
