"""Provider text made inert before it reaches a terminal, a log line or the page.

Provider listings are untrusted: an id or a name may carry ANSI escapes (`ESC[2J` clears a
terminal), BEL, CR/LF (forged log lines) or Unicode bidi overrides (one id made to look like
another). `inert` replaces every such character with a visible escape (`\\x1b`, `\\u202e`),
so the text still says what the provider sent, but nothing acts on it.
"""

from __future__ import annotations

import re

# C0 and C1 controls (tab and newline included: everything shown is one line), DEL, the bidi
# embeddings, overrides, isolates and marks, zero-width characters, line/paragraph separators
# and the byte-order mark; and lone surrogates, which no UTF-8 log file, terminal or page can
# encode (an application may pass any string as a model id).
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ud800-\udfff\ufeff]"
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def has_unsafe_characters(text: str) -> bool:
    """True when `inert` would change the text."""
    return _UNSAFE.search(text) is not None


def inert(text: str, limit: int | None = None) -> str:
    """`text` with control and bidi characters escaped; cut to `limit` characters with `…`."""
    safe = _UNSAFE.sub(_escape, text)
    if limit is not None and len(safe) > limit:
        return safe[: max(limit - 1, 0)] + "…"
    return safe
