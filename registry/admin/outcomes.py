"""What a refresh did, honestly, per provider — free of Streamlit so it can be tested directly.

Every provider's refresh ends in one `Outcome`, each with its own mark:
✓ done · ⚠ partial (warnings, or missing models held back by the deprecation guard) ·
✗ failed · ⏸ rate-limited (with the time left) · 🔑 no API key (a setup step, not a failure).
A summary's kind (the `st.*` call that shows it) is never "success" unless every provider is ✓.

Also here: the line of a provider's last refresh (`refresh_line`), which curated list it uses
(`source_note`), and the preview of a dry run (`preview_rows`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Literal

from registry.admin.timefmt import ago, now_utc, until
from registry.discovery import (
    CURATED_NO_KEY_NOTE,
    CURATED_SOURCE_NOTE,
    DiscoveryReport,
    DiscoveryStatus,
    ProviderResult,
)
from registry.text import inert
from registry.types import ModelSource

CURATED_NOTES = (CURATED_SOURCE_NOTE, CURATED_NO_KEY_NOTE)


class Outcome(StrEnum):
    DONE = "done"
    PARTIAL = "partial"
    FAILED = "failed"
    RATE_LIMITED = "rate_limited"
    NO_KEY = "no_key"


MARKS = {
    Outcome.DONE: "✓",
    Outcome.PARTIAL: "⚠",
    Outcome.FAILED: "✗",
    Outcome.RATE_LIMITED: "⏸",
    Outcome.NO_KEY: "🔑",
}
# The st.* call a message is shown with (as `ui_common.say` takes it).
Kind = Literal["success", "info", "warning", "error"]
KINDS: dict[Outcome, Kind] = {
    Outcome.DONE: "success",
    Outcome.PARTIAL: "warning",
    Outcome.FAILED: "error",
    Outcome.RATE_LIMITED: "warning",
    Outcome.NO_KEY: "info",
}


def outcome_of(result: ProviderResult) -> Outcome:
    if result.rate_limited:  # our 5-minute limit, or the provider's 429
        return Outcome.RATE_LIMITED
    if result.errors:
        return Outcome.NO_KEY if result.missing_key else Outcome.FAILED
    if result.held_back or _warnings(result):
        return Outcome.PARTIAL
    return Outcome.DONE


def _warnings(result: ProviderResult) -> list[str]:
    """Warnings worth an admin's attention (the curated-list note is said on its own)."""
    return [w for w in result.warnings if w not in CURATED_NOTES]


def _strip(provider: str, messages: Sequence[str]) -> list[str]:
    prefix = f"{provider}: "  # provider errors name the provider already
    return [m.removeprefix(prefix) for m in messages]


def result_line(result: ProviderResult, now: datetime | None = None) -> str:
    """`✓ openai: 12 listed, 2 new, 0 deprecated` — one provider's outcome, inert (errors quote
    the provider)."""
    outcome = outcome_of(result)
    return inert(f"{MARKS[outcome]} {_result_text(result, outcome, now or now_utc())}")


def _result_text(result: ProviderResult, outcome: Outcome, now: datetime) -> str:
    who = result.provider
    if outcome is Outcome.RATE_LIMITED:
        if not result.errors:  # our own limit: its warning says the time left already
            return f"{who}: rate-limited — " + ("; ".join(result.warnings) or "try again later")
        when = (
            f"next refresh {until(result.next_refresh_at, now)}"
            if result.next_refresh_at
            else "try again later"
        )
        return f"{who}: rate-limited by the provider, {when} — " + "; ".join(
            _strip(who, result.errors)
        )
    if outcome is Outcome.NO_KEY:
        return f"{who}: not refreshed — no API key configured"
    if outcome is Outcome.FAILED:
        return f"{who}: failed — " + "; ".join(_strip(who, result.errors))
    parts = [f"{result.discovered} listed", f"{len(result.new)} new"]
    parts.append(f"{len(result.deprecated)} deprecated")
    if result.returned:
        parts.append(f"{len(result.returned)} listed again")
    if result.held_back:
        parts.append(f"{len(result.held_back)} held back by the guard")
    line = f"{who}: " + ", ".join(parts)
    if result.source is ModelSource.CURATED:
        line += " — " + next((w for w in result.warnings if w in CURATED_NOTES), "curated list")
    extra = _warnings(result)
    if extra:
        line += " — " + "; ".join(extra)
    return line


@dataclass(frozen=True, slots=True)
class ProviderLine:
    provider: str
    outcome: Outcome
    text: str  # with its mark, inert

    @property
    def kind(self) -> Kind:
        return KINDS[self.outcome]


@dataclass(frozen=True, slots=True)
class RefreshSummary:
    kind: Kind
    headline: str
    lines: list[ProviderLine] = field(default_factory=list)
    rate_limited: bool = False
    dry_run: bool = False

    @property
    def missing_keys(self) -> list[str]:
        return [line.provider for line in self.lines if line.outcome is Outcome.NO_KEY]


def summarize_report(report: DiscoveryReport, now: datetime | None = None) -> RefreshSummary:
    """What a refresh did: a headline counting each outcome, and a line per provider."""
    now = now or now_utc()
    results = report.results
    counts = {o: sum(1 for r in results if outcome_of(r) is o) for o in Outcome}
    new = sum(len(r.new) for r in results)
    deprecated = sum(len(r.deprecated) for r in results)
    verb = "Would refresh" if report.dry_run else "Refreshed"
    done = counts[Outcome.DONE] + counts[Outcome.PARTIAL]
    headline = f"{verb} {done} of {len(results)} provider(s): {new} new, {deprecated} deprecated"
    tail = []
    if counts[Outcome.PARTIAL]:
        tail.append(f"{counts[Outcome.PARTIAL]} with warnings")
    if counts[Outcome.FAILED]:
        tail.append(f"{counts[Outcome.FAILED]} failed")
    if counts[Outcome.RATE_LIMITED]:
        tail.append(f"{counts[Outcome.RATE_LIMITED]} rate-limited")
    if counts[Outcome.NO_KEY]:
        tail.append(f"{counts[Outcome.NO_KEY]} without an API key")
    if tail:
        headline += " · " + ", ".join(tail)
    if new and not report.dry_run:
        headline += ". New models wait in Pending for approval"
    kind: Kind
    if counts[Outcome.FAILED]:
        kind = "error"
    elif counts[Outcome.PARTIAL] or counts[Outcome.RATE_LIMITED]:
        kind = "warning"
    elif counts[Outcome.NO_KEY]:
        kind = "info"
    else:
        kind = "success"
    return RefreshSummary(
        kind=kind,
        headline=headline,
        lines=[ProviderLine(r.provider, outcome_of(r), result_line(r, now)) for r in results],
        rate_limited=bool(counts[Outcome.RATE_LIMITED]),
        dry_run=report.dry_run,
    )


# --- the preview of a dry run ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PreviewGroup:
    """One provider's planned changes of one kind: `New (3): a, b, c`."""

    title: str
    model_ids: list[str]
    kind: str  # the st.* call: "warning" for guard hold-backs, else "text"


def preview_groups(result: ProviderResult) -> list[PreviewGroup]:
    """What applying this provider's listing would change, per kind (empty kinds left out)."""
    groups = [
        PreviewGroup("New (pending approval)", list(result.new), "text"),
        PreviewGroup("Returning (listed again, back to pending)", list(result.returned), "text"),
        PreviewGroup("Deprecated (no longer listed)", list(result.deprecated), "text"),
        PreviewGroup(
            "Held back by the guard (missing, but kept)", list(result.held_back), "warning"
        ),
    ]
    return [g for g in groups if g.model_ids]


def stake_note(
    result: ProviderResult,
    *,
    default: str | None,
    global_model: str | None,
    enabled: frozenset[str],
    limit: int = 5,
) -> str | None:
    """Which models the application relies on are among those a refresh would deprecate or
    hold back: the provider's default, the global model (Settings), other enabled ones."""
    at_risk = set(result.deprecated) | set(result.held_back)
    provider, cat = result.provider, result.category.value
    parts = []
    if default in at_risk:
        parts.append(f"{provider}/{default} is the {cat} default of {provider}")
    if global_model in at_risk:
        parts.append(f"{provider}/{global_model} is the global {cat} model (Settings)")
    others = sorted((at_risk & enabled) - {default, global_model})
    if others:
        shown = ", ".join(inert(f"{provider}/{m}", 120) for m in others[:limit])
        more = f" and {len(others) - limit} more" if len(others) > limit else ""
        parts.append(f"{len(others)} enabled: {shown}{more}")
    return f"In use among them — {'; '.join(parts)}." if parts else None


def preview_changed(result: ProviderResult) -> str:
    """`9 known models listed again: their metadata is refreshed`."""
    return f"{result.refreshed} known model(s) listed again: their metadata is refreshed"


# --- the last refresh of a provider ------------------------------------------------------------


def is_rate_limited(status: DiscoveryStatus, now: datetime | None = None) -> bool:
    """True while the 5-minute interval after a refresh runs (a force refresh is offered)."""
    now = now or now_utc()
    return status.next_allowed_at is not None and status.next_allowed_at > now


def refresh_line(status: DiscoveryStatus, now: datetime | None = None) -> str:
    """`Refreshed 3 minutes ago — next refresh in 2 min`, or what is known about the last try."""
    now = now or now_utc()
    if status.in_progress:
        return "A refresh is running now"
    if status.last_success_at is None and status.last_attempt_at is None:
        return "Never refreshed"
    if status.outcome == "error" or status.last_success_at is None:
        line = f"Last refresh failed {ago(status.last_attempt_at, now)}"
        if status.last_success_at is not None:
            line += f" (last success {ago(status.last_success_at, now)})"
        return line
    line = f"Refreshed {ago(status.last_success_at, now)}"
    if is_rate_limited(status, now):
        line += f" — next refresh {until(status.next_allowed_at, now)}"
    return line


def source_note(status: DiscoveryStatus) -> str | None:
    """Why the provider's models come from the curated list (as its last refresh recorded)."""
    if status.source != ModelSource.CURATED.value:
        return None
    return next((e for e in status.errors if e in CURATED_NOTES), CURATED_SOURCE_NOTE)
