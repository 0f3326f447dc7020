"""Stand-in for ElevenLabs' paginated voice search, `GET /v2/voices`.

Recordings are v1 bodies (`{"voices": [...]}`); the stand-in serves them the v2 way:
`page_size` (default 10, at most 100, else 422 like the real API), an opaque
`next_page_token`, `has_more` and `total_count`. `page_size` given to `install` caps every page
further, to prove clients follow the tokens. Requests without `xi-api-key` get a 401.
Only `/v2/voices` is registered: `/v1/voices` is also Cloud TTS's path, and the adapter never
calls ElevenLabs' v1 listing. `POST /v1/text-to-speech/{voice_id}` answers a short silent
MP3, and `GET /previews/…` serves the previews of the demo listing (without a key, as the real
storage host does).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from registry.standin.audio import mp3_response
from registry.standin.server import (
    StandInRequest,
    StandInResponse,
    StandInServer,
    json_response,
)

VOICES_PATH = "/v2/voices"
SPEECH_PREFIX = "/v1/text-to-speech/"
PREVIEWS_PREFIX = "/previews/"
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 100


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"voices:{offset}".encode()).decode().rstrip("=")


def _offset(token: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    prefix, _, number = text.partition(":")
    return int(number) if prefix == "voices" and number.isdigit() else None


def _unprocessable(field: str, message: str) -> StandInResponse:
    detail = [{"loc": ["query", field], "msg": message, "type": "value_error"}]
    return json_response({"detail": detail}, 422)


def install(server: StandInServer, body: Any, *, page_size: int | None = None) -> None:
    """Serve the voices of a recorded v1 (or v2) body through the v2 search.

    A `preview_url` that is a bare path (`/previews/….mp3`, as the demo listing has them) is
    served by this stand-in, as ElevenLabs serves previews from its own storage host.
    """
    voices: list[Any] = list(body.get("voices") or []) if isinstance(body, dict) else list(body)
    voices = [_preview_here(server, voice) for voice in voices]

    def handler(request: StandInRequest) -> StandInResponse:
        denied = _unauthorized(request)
        if denied is not None:
            return denied
        requested = request.param("page_size")
        try:
            size = int(requested) if requested else DEFAULT_PAGE_SIZE
        except ValueError:
            return _unprocessable("page_size", "Input should be a valid integer")
        if not 1 <= size <= MAX_PAGE_SIZE:
            return _unprocessable("page_size", f"page_size must be between 1 and {MAX_PAGE_SIZE}")
        size = min(size, page_size or MAX_PAGE_SIZE)
        start = 0
        token = request.param("next_page_token")
        if token:
            offset = _offset(token)
            if offset is None:
                return json_response(
                    {"detail": {"status": "invalid_page_token", "message": "Invalid page token"}},
                    400,
                )
            start = offset
        end = start + size
        has_more = end < len(voices)
        return json_response(
            {
                "voices": voices[start:end],
                "has_more": has_more,
                "total_count": len(voices),
                "next_page_token": _token(end) if has_more else None,
            }
        )

    server.route(VOICES_PATH, handler)

    def speech(request: StandInRequest) -> StandInResponse:
        return _unauthorized(request) or mp3_response()

    server.route_prefix(SPEECH_PREFIX, speech, method="POST")
    # Previews are public files: no key is needed (and none should be sent).
    server.route_prefix(PREVIEWS_PREFIX, lambda _request: mp3_response())


def _unauthorized(request: StandInRequest) -> StandInResponse | None:
    if request.headers.get("xi-api-key"):
        return None
    return json_response(
        {
            "detail": {
                "status": "needs_authorization",
                "message": "Neither authorization header nor xi-api-key received.",
            }
        },
        401,
    )


def _preview_here(server: StandInServer, voice: Any) -> Any:
    preview = voice.get("preview_url") if isinstance(voice, dict) else None
    if isinstance(preview, str) and preview.startswith(PREVIEWS_PREFIX):
        return {**voice, "preview_url": f"{server.origin}{preview}"}
    return voice
