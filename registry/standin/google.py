"""Stand-ins for Google: the Gemini API model listing and Cloud Text-to-Speech voices.

Gemini (`GET /v1beta/models`) pages the way the real API does: `pageSize` (default 50, at
most 1000) and an opaque `pageToken` that the previous page returned as `nextPageToken`. The
tokens look like the real ones (base64 of a protobuf field holding the last model name of the
page). Cloud TTS (`GET /v1/voices`) answers every voice in one body, as the real API does.
Both answer 403 like Google when the `x-goog-api-key` header is missing; `invalid_key` is
Google's answer to a key it does not know (HTTP 400, reason `API_KEY_INVALID`), for
`server.fail(path, invalid_key)`.

For trying a model: `POST /v1beta/models/{model}:generateContent` answers a canned sentence,
or silent 24 kHz PCM when `responseModalities` asks for AUDIO (as Gemini TTS does); Cloud TTS
`POST /v1/text:synthesize` answers a short silent MP3 as `audioContent`.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from registry.standin.audio import SILENT_MP3, SILENT_PCM
from registry.standin.server import (
    StandInRequest,
    StandInResponse,
    StandInServer,
    json_response,
)

GEMINI_MODELS_PATH = "/v1beta/models"
CLOUD_TTS_VOICES_PATH = "/v1/voices"
CLOUD_TTS_SYNTHESIS_PATH = "/v1/text:synthesize"
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000


def _google_error(status: int, code: str, message: str) -> StandInResponse:
    return json_response({"error": {"code": status, "message": message, "status": code}}, status)


def _missing_key(request: StandInRequest) -> StandInResponse | None:
    if request.headers.get("x-goog-api-key"):
        return None
    return _google_error(
        403,
        "PERMISSION_DENIED",
        "Method doesn't allow unregistered callers (callers without established identity). "
        "Please use API Key or other form of API consumer identity to call this API.",
    )


def invalid_key(request: StandInRequest) -> StandInResponse:
    """Google's answer to an unknown key, shaped as the real one (Gemini API and Cloud TTS)."""
    service = (
        "texttospeech.googleapis.com"
        if request.path.startswith(CLOUD_TTS_VOICES_PATH)
        else "generativelanguage.googleapis.com"
    )
    message = "API key not valid. Please pass a valid API key."
    return json_response(
        {
            "error": {
                "code": 400,
                "message": message,
                "status": "INVALID_ARGUMENT",
                "details": [
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "API_KEY_INVALID",
                        "domain": "googleapis.com",
                        "metadata": {"service": service},
                    },
                    {
                        "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
                        "locale": "en-US",
                        "message": message,
                    },
                ],
            }
        },
        400,
    )


def _page_token(last_name: str) -> str:
    # Field 1 (wire type 2) holding the name, the layout of the tokens the real API returns.
    raw = last_name.encode()
    return base64.b64encode(b"\n" + _varint(len(raw)) + raw).decode()


def _varint(number: int) -> bytes:
    out = bytearray()
    while True:
        byte = number & 0x7F
        number >>= 7
        if number:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def install(server: StandInServer, body: Any, *, page_size: int | None = None) -> None:
    """Serve a recorded `{"models": [...]}` listing at `/v1beta/models`.

    A recorded `nextPageToken` is dropped: it belonged to the recorder's session. `page_size`
    caps every page (to prove clients follow tokens); without it the client's `pageSize`
    decides, as on the real API.
    """
    models: list[Any] = list(body.get("models") or []) if isinstance(body, dict) else list(body)
    issued: dict[str, int] = {}  # token → offset of the page it opens

    def handler(request: StandInRequest) -> StandInResponse:
        denied = _missing_key(request)
        if denied is not None:
            return denied
        requested = request.param("pageSize")
        try:
            size = int(requested) if requested else DEFAULT_PAGE_SIZE
        except ValueError:
            return _google_error(400, "INVALID_ARGUMENT", "Invalid value at 'page_size'")
        if size <= 0:
            size = DEFAULT_PAGE_SIZE
        size = min(size, MAX_PAGE_SIZE, page_size or MAX_PAGE_SIZE)
        token = request.param("pageToken")
        start = 0
        if token:
            if token not in issued:
                return _google_error(400, "INVALID_ARGUMENT", "Invalid page token.")
            start = issued[token]
        page = models[start : start + size]
        answer: dict[str, Any] = {}
        if page:
            answer["models"] = page  # Google omits empty repeated fields entirely
        end = start + len(page)
        if end < len(models):
            last = page[-1].get("name", str(end)) if isinstance(page[-1], dict) else str(end)
            next_token = _page_token(str(last))
            issued[next_token] = end
            answer["nextPageToken"] = next_token
        return json_response(answer)

    server.route(GEMINI_MODELS_PATH, handler)
    server.route_prefix(f"{GEMINI_MODELS_PATH}/", _generate_content, method="POST")


def install_cloud_tts(server: StandInServer, body: Any, *, page_size: int | None = None) -> None:
    """Serve a recorded `{"voices": [...]}` body at Cloud TTS `/v1/voices`.

    The real API does not paginate, so `page_size` is accepted for a uniform signature and
    ignored. The body is encoded once: recordings hold thousands of voices.
    """
    del page_size
    encoded = json.dumps(body).encode()

    def handler(request: StandInRequest) -> StandInResponse:
        denied = _missing_key(request)
        if denied is not None:
            return denied
        return StandInResponse(body=encoded, headers={"Content-Type": "application/json"})

    server.route(CLOUD_TTS_VOICES_PATH, handler)

    def synthesize(request: StandInRequest) -> StandInResponse:
        denied = _missing_key(request)
        if denied is not None:
            return denied
        return json_response({"audioContent": base64.b64encode(SILENT_MP3).decode()})

    server.route(CLOUD_TTS_SYNTHESIS_PATH, synthesize, method="POST")


def _generate_content(request: StandInRequest) -> StandInResponse:
    """`POST /v1beta/models/{model}:generateContent`: canned text, or PCM when audio is asked."""
    denied = _missing_key(request)
    if denied is not None:
        return denied
    model, _, method = request.path.removeprefix(f"{GEMINI_MODELS_PATH}/").partition(":")
    if method != "generateContent":
        return _google_error(404, "NOT_FOUND", f"Method {method!r} is not found.")
    body = request.json()
    config = body.get("generationConfig") if isinstance(body, dict) else None
    modalities = config.get("responseModalities") if isinstance(config, dict) else None
    if modalities and "AUDIO" in modalities:
        pcm = base64.b64encode(SILENT_PCM).decode()
        part: dict[str, Any] = {
            "inlineData": {"mimeType": "audio/L16;codec=pcm;rate=24000", "data": pcm}
        }
    else:
        part = {"text": f"Hello from the Google stand-in, speaking as {model}."}
    return json_response(
        {
            "candidates": [
                {"content": {"role": "model", "parts": [part]}, "finishReason": "STOP", "index": 0}
            ],
            "modelVersion": model,
        }
    )
