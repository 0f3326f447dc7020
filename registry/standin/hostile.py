"""The answers of a misbehaving provider, for `StandInServer.fail(path, …)`.

Each builds one `StandInResponse`; the listing-shaped ones take `envelope`, the member of the
top-level object that holds the entries (`data`, `models`, `voices`; None for a bare array,
as Azure sends). Entries carry every provider's id field, so any adapter would accept them.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator

from registry.standin.server import StandInResponse

FILLER = "Incorrect API key provided. "


def _entry(number: int) -> bytes:
    name = f"hostile-{number}"
    return json.dumps(
        {"id": name, "name": f"models/{name}", "voice_id": name, "ShortName": name}
    ).encode()


def _head(envelope: str | None) -> bytes:
    return b"[" if envelope is None else b'{"%s": [' % envelope.encode()


def _tail(envelope: str | None) -> bytes:
    return b"]" if envelope is None else b"]}"


def _listing(envelope: str | None, entries: Iterator[bytes], per_chunk: int) -> Iterator[bytes]:
    yield _head(envelope)
    first = True
    while True:
        batch = list(itertools.islice(entries, per_chunk))
        if not batch:
            break
        yield (b"" if first else b",") + b",".join(batch)
        first = False
    yield _tail(envelope)


def key_echo_json(key: str, filler: int = 150) -> StandInResponse:
    """A 401 whose JSON message echoes the key across a 200-character excerpt, twice: as sent,
    and upper-cased without its last character."""
    message = (FILLER * 10)[:filler] + key + " / " + key[:-1].upper()
    return StandInResponse(401, {"error": {"message": message, "type": "invalid_api_key"}})


def key_echo_text(key: str, filler: int = 150) -> StandInResponse:
    """A plain-text 401: filler, then the key, straddling a 200-character excerpt."""
    return StandInResponse(
        401, ((FILLER * 10)[:filler] + key).encode(), {"Content-Type": "text/plain"}
    )


def never_ending(envelope: str | None) -> StandInResponse:
    """A 200 that starts a listing and then never sends another byte."""
    return StandInResponse(
        200, chunks=[_head(envelope)], then_stall=True, headers={"Content-Type": "application/json"}
    )


def trickling_headers(envelope: str | None, seconds_per_byte: float = 0.2) -> StandInResponse:
    """A 200 whose status line and headers arrive one byte at a time."""
    return StandInResponse(
        200,
        chunks=[_head(envelope), _tail(envelope)],
        header_delay=seconds_per_byte,
        headers={"Content-Type": "application/json", "X-Padding": "p" * 200},
    )


def trickling(envelope: str | None, seconds_per_byte: float = 0.2) -> StandInResponse:
    """A 200 whose endless listing arrives one byte at a time."""
    endless = _listing(envelope, map(_entry, itertools.count()), 1)
    one_byte_each = (bytes([b]) for chunk in endless for b in chunk)
    return StandInResponse(
        200,
        chunks=one_byte_each,
        chunk_delay=seconds_per_byte,
        headers={"Content-Type": "application/json"},
    )


def oversized(envelope: str | None, megabytes: int = 40) -> StandInResponse:
    """A 200 listing of one entry whose description alone is `megabytes` MB, streamed fast."""

    def body() -> Iterator[bytes]:
        yield _head(envelope) + b'{"id": "huge", "description": "'
        block = b"x" * (1024 * 1024)
        for _ in range(megabytes):
            yield block
        yield b'"}' + _tail(envelope)

    return StandInResponse(200, chunks=body(), headers={"Content-Type": "application/json"})


def too_many_entries(envelope: str | None, count: int = 30_000) -> StandInResponse:
    """A 200 listing of `count` small entries (well under the byte limit)."""
    entries = map(_entry, range(count))
    return StandInResponse(
        200,
        chunks=_listing(envelope, entries, 1000),
        headers={"Content-Type": "application/json"},
    )


def redirect(target_origin: str, path: str, status: int = 302) -> StandInResponse:
    """A redirect of the listing to the same path on another origin."""
    return StandInResponse(status, b"", {"Location": f"{target_origin}{path}"})
