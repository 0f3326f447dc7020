"""Human time: "3 minutes ago", "in 2 min", for the dashboard's refresh lines and tables."""

from __future__ import annotations

from datetime import UTC, datetime


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def now_utc() -> datetime:
    return datetime.now(UTC)


def _plural(n: int, unit: str) -> str:
    return f"{n} {unit}" if n == 1 else f"{n} {unit}s"


def ago(when: datetime | None, now: datetime | None = None, *, never: str = "never") -> str:
    """`just now`, `1 minute ago`, `3 hours ago`, `yesterday`, `5 days ago`, then the date."""
    if when is None:
        return never
    now = _aware(now or now_utc())
    seconds = (now - _aware(when)).total_seconds()
    if seconds < 0:  # a clock a little ahead of ours: not "in the future"
        seconds = 0
    if seconds < 45:
        return "just now"
    minutes = round(seconds / 60)
    if minutes < 60:
        return _plural(max(1, minutes), "minute") + " ago"
    hours = round(seconds / 3600)
    if hours < 24:
        return _plural(hours, "hour") + " ago"
    days = int(seconds // 86400)
    if days == 1:
        return "yesterday"
    if days < 30:
        return f"{days} days ago"
    return _aware(when).strftime("%Y-%m-%d")


def until(when: datetime | None, now: datetime | None = None) -> str:
    """`in 3 min`, `in 1 h 5 min`, or `now` when the moment has passed."""
    if when is None:
        return "now"
    now = _aware(now or now_utc())
    seconds = (_aware(when) - now).total_seconds()
    if seconds <= 0:
        return "now"
    minutes = max(1, -(-int(seconds) // 60))  # round up: "in 1 min" until it is due
    if minutes < 60:
        return f"in {minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"in {hours} h {rest} min" if rest else f"in {hours} h"


def timestamp(when: datetime | None) -> str:
    """A fixed UTC timestamp for tables and CSV: `2025-01-31 14:05 UTC`."""
    if when is None:
        return ""
    return _aware(when).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
