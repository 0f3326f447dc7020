"""Stand-in for Anthropic's `GET /v1/models`, paginated the way the API pages it.

Each page is `{"data": […], "has_more": bool, "first_id": str|null, "last_id": str|null}`.
Query parameters as the API takes them: `limit` (default 20, 1–1000), `after_id` (the page
after that id) and `before_id` (the page before it). `page_size`, when given, caps every
page below what the client asked for, so tests can prove an adapter follows every cursor.
Requests with neither an `x-api-key` header nor a bearer key (the installed SDK sends its
key as `Authorization: Bearer`) get Anthropic's 401 body; an unknown cursor or a bad limit
gets its 400 body. `POST /v1/messages` answers a canned one-sentence message.
"""

from __future__ import annotations

from typing import Any

from registry.standin.openai import canned_answer
from registry.standin.server import StandInRequest, StandInResponse, StandInServer, json_response

MODELS_PATH = "/v1/models"
MESSAGES_PATH = "/v1/messages"
DEFAULT_LIMIT = 20
MAX_LIMIT = 1000


def _error(status: int, kind: str, message: str) -> StandInResponse:
    return json_response({"type": "error", "error": {"type": kind, "message": message}}, status)


def page_of(
    entries: list[dict[str, Any]], request: StandInRequest, page_size: int | None
) -> StandInResponse:
    """One page of `entries` for the request's `limit` / `after_id` / `before_id`."""
    raw_limit = request.param("limit")
    try:
        limit = int(raw_limit) if raw_limit is not None else DEFAULT_LIMIT
    except ValueError:
        return _error(400, "invalid_request_error", "limit: Input should be a valid integer")
    if not 1 <= limit <= MAX_LIMIT:
        return _error(400, "invalid_request_error", f"limit: must be between 1 and {MAX_LIMIT}")
    size = min(limit, page_size) if page_size else limit
    ids = [str(entry.get("id")) for entry in entries]
    after_id, before_id = request.param("after_id"), request.param("before_id")
    if after_id is not None and before_id is not None:
        return _error(400, "invalid_request_error", "after_id and before_id cannot both be set")
    if after_id is not None:
        if after_id not in ids:
            return _error(400, "invalid_request_error", f"after_id: unknown model {after_id!r}")
        start = ids.index(after_id) + 1
        chunk = entries[start : start + size]
        has_more = start + size < len(entries)
    elif before_id is not None:
        if before_id not in ids:
            return _error(400, "invalid_request_error", f"before_id: unknown model {before_id!r}")
        end = ids.index(before_id)
        chunk = entries[max(0, end - size) : end]
        has_more = end - size > 0
    else:
        chunk = entries[:size]
        has_more = size < len(entries)
    return json_response(
        {
            "data": chunk,
            "has_more": has_more,
            "first_id": chunk[0].get("id") if chunk else None,
            "last_id": chunk[-1].get("id") if chunk else None,
        }
    )


def install(server: StandInServer, body: Any, *, page_size: int | None = None) -> None:
    entries: list[dict[str, Any]] = list(body["data"] if isinstance(body, dict) else body)

    def models(request: StandInRequest) -> StandInResponse:
        return _unauthorized(request) or page_of(entries, request, page_size)

    server.route(MODELS_PATH, models)

    def messages(request: StandInRequest) -> StandInResponse:
        return _unauthorized(request) or _message(request)

    server.route(MESSAGES_PATH, messages, method="POST")


def _unauthorized(request: StandInRequest) -> StandInResponse | None:
    bearer = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    if not request.headers.get("x-api-key") and not bearer:
        return _error(401, "authentication_error", "x-api-key header is required")
    return None


def _message(request: StandInRequest) -> StandInResponse:
    """A canned Messages API answer."""
    body = request.json()
    model = body.get("model", "") if isinstance(body, dict) else ""
    return json_response(
        {
            "id": "msg_standin",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": canned_answer("Anthropic", request)}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": 12, "output_tokens": 12},
        }
    )
