"""Tiny canned audio for the stand-ins' sample and synthesis endpoints.

Each is a valid file a browser plays (silence): a few MPEG-1 Layer III frames, and 16-bit mono
PCM as Gemini TTS sends it (the client wraps it in WAV).
"""

from __future__ import annotations

from registry.standin.server import StandInResponse

# 128 kbit/s, 44.1 kHz, no padding: 417-byte frames; all-zero side info and data decode as silence.
_MP3_FRAME = b"\xff\xfb\x90\x64" + b"\x00" * 413
SILENT_MP3 = _MP3_FRAME * 8  # ~0.2 s
SILENT_PCM = b"\x00\x00" * 4_800  # 0.2 s at 24 kHz


def mp3_response(body: bytes = SILENT_MP3) -> StandInResponse:
    return StandInResponse(body=body, headers={"Content-Type": "audio/mpeg"})
