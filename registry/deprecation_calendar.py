"""The deprecation calendar: when the models the application uses retire, as a list and as an
iCalendar feed (`model-registry calendar`, the Overview's download).

- **Entries**: enabled models and every provider's default (app_settings) with a `retires_at`
  at most `days` (default 365) whole UTC days ahead, or already past; soonest first (then by
  `provider/model_id`), each with its successor and where the date came from.
- **Successor**: the one an admin named (`successor_from` `admin`), else the provider's or a
  dataset's `replacement_model_id` (`replacement`), else the suggestion of
  `registry.retirement.suggest_successor` (`suggested`); None when there is none.
- **Feed** (`calendar_ics`): one all-day VEVENT per retirement on its date, the successor and
  the source in the description, the source URL as the event's URL. UIDs are stable (derived
  from category, provider, model id and date), so a calendar that subscribes to the feed
  updates the event instead of adding a second one; a moved date is a new event.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from registry.catalog import default_setting_key
from registry.errors import InvalidInputError
from registry.retirement import date_source, days_label, suggest_successor
from registry.schema import utcnow
from registry.store import ModelFilter, get_default_models, list_models
from registry.types import CatalogModel, Category, ModelStatus, display_id, parse_category

DEFAULT_DAYS = 365
MAX_DAYS = 36_500  # a century: anything larger is a typo
PRODID = "-//model-registry//deprecation calendar//EN"
_UID_DOMAIN = "model-registry.invalid"  # RFC 6761: a name that is never anyone's host


@dataclass(frozen=True, slots=True)
class CalendarEntry:
    """One model's retirement."""

    category: Category
    provider: str
    model_id: str
    display_name: str
    status: ModelStatus
    is_default: bool
    retires_on: date  # the UTC date of `retires_at`
    days: int  # until then (negative once past)
    successor: str | None
    successor_from: str | None  # "admin" | "replacement" | "suggested"
    source: str | None  # `metadata_sources["retires_at"]`: listing, admin, dataset …
    source_url: str | None

    @property
    def display_id(self) -> str:
        return display_id(self.provider, self.model_id)

    @property
    def uid(self) -> str:
        key = "\x00".join(
            (self.category.value, self.provider, self.model_id, self.retires_on.isoformat())
        )
        return f"{hashlib.sha256(key.encode()).hexdigest()[:32]}@{_UID_DOMAIN}"

    def to_json(self) -> dict[str, object]:
        return {
            "provider": self.provider,
            "category": self.category.value,
            "model_id": self.model_id,
            "display_name": self.display_name,
            "status": self.status.value,
            "is_default": self.is_default,
            "retires_at": self.retires_on.isoformat(),
            "days": self.days,
            "successor": self.successor,
            "successor_from": self.successor_from,
            "source": self.source,
            "source_url": self.source_url,
        }


def parse_days(value: object) -> int:
    """`--days`: a whole number of days from 0 to 36,500."""
    try:
        days = int(str(value).strip())
    except ValueError:
        raise InvalidInputError(f"days must be a whole number, got {value!r}") from None
    if not 0 <= days <= MAX_DAYS:
        raise InvalidInputError(f"days must be between 0 and {MAX_DAYS:,}, got {days}")
    return days


def retirement_calendar(
    category: Category | str | None = None, days: int = DEFAULT_DAYS, today: date | None = None
) -> list[CalendarEntry]:
    """Enabled and default models retiring within `days` days of `today` (UTC) or already
    past, soonest first. Reads the catalog once."""
    cat = parse_category(category) if category is not None else None
    days = parse_days(days)
    today = today or utcnow().date()
    horizon = today + timedelta(days=days)
    defaults = get_default_models()
    catalog = list_models(ModelFilter(category=cat))
    enabled = [m for m in catalog if m.status is ModelStatus.ENABLED]
    entries = []
    for model in catalog:
        is_default = defaults.get((model.category.value, model.provider)) == model.model_id
        if model.retires_at is None or model.retires_at.date() > horizon:
            continue
        if model.status is not ModelStatus.ENABLED and not is_default:
            continue
        entries.append(_entry(model, is_default, enabled, today))
    entries.sort(key=lambda e: (e.retires_on, e.display_id, e.category.value))
    return entries


def _entry(
    model: CatalogModel, is_default: bool, enabled: list[CatalogModel], today: date
) -> CalendarEntry:
    assert model.retires_at is not None
    successor, origin = model.successor_model_id, "admin"
    if not successor:
        successor, origin = model.replacement_model_id, "replacement"
    if not successor:
        successor, origin = suggest_successor(model, enabled, today), "suggested"
    source = date_source(model.metadata_sources)
    on = model.retires_at.date()
    return CalendarEntry(
        category=model.category,
        provider=model.provider,
        model_id=model.model_id,
        display_name=model.display_name,
        status=model.status,
        is_default=is_default,
        retires_on=on,
        days=(on - today).days,
        successor=successor,
        successor_from=origin if successor else None,
        source=source.label,
        source_url=source.url,
    )


def describe_entry(entry: CalendarEntry) -> str:
    """One line: `2026-12-01  google/gemini-2.5-flash (text, default)  retired 5 days ago;
    successor gemini-3-flash (suggested); source dataset litellm 1.110.2 2026-11-20 <url>`."""
    when = entry.retires_on.isoformat()
    relative = days_label(entry.days)
    role = f"{entry.category.value}, default" if entry.is_default else entry.category.value
    successor = (
        f"successor {entry.successor} ({entry.successor_from})"
        if entry.successor
        else "no successor"
    )
    source = " ".join(part for part in (entry.source, entry.source_url) if part) or "unknown"
    return f"{when}  {entry.display_id} ({role})  {relative}; {successor}; source {source}"


def calendar_ics(entries: list[CalendarEntry], generated: datetime | None = None) -> bytes:
    """The entries as an iCalendar feed (RFC 5545): one all-day VEVENT each."""
    import icalendar  # only here: the rest of the registry has no use for it

    stamp = generated or utcnow()
    feed = icalendar.Calendar()
    feed.add("prodid", PRODID)
    feed.add("version", "2.0")
    feed.add("calscale", "GREGORIAN")
    feed.add("x-wr-calname", "Model retirements")
    for entry in entries:
        event = icalendar.Event()
        event.add("uid", entry.uid)
        event.add("dtstamp", stamp)
        event.add("dtstart", entry.retires_on)
        event.add("dtend", entry.retires_on + timedelta(days=1))
        event.add("summary", f"{entry.display_id} retires")
        event.add("description", _description(entry))
        event.add("transp", "TRANSPARENT")  # a date to know, not time taken
        if entry.source_url:
            event.add("url", entry.source_url)
        feed.add_component(event)
    ical: bytes = feed.to_ical()
    return ical


def _description(entry: CalendarEntry) -> str:
    role = "default model" if entry.is_default else "enabled model"
    lines = [
        f"{entry.display_id} ({entry.category.value} {role}) retires on "
        f"{entry.retires_on.isoformat()}.",
        (
            f"Successor: {display_id(entry.provider, entry.successor)} ({entry.successor_from})."
            if entry.successor
            else "Successor: none yet; name one with `model-registry models set-successor`."
        ),
        "Source: " + (" ".join(p for p in (entry.source, entry.source_url) if p) or "unknown"),
    ]
    if entry.is_default:
        lines.append(
            f"Choose a new default ({default_setting_key(entry.category, entry.provider)})."
        )
    return "\n".join(lines)
