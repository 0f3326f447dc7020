"""Retirement: which models the providers retire soon, and who replaces them.

Policy (pure functions, tested directly) and thin queries on top of the store.

- **Retiring soon**: a model with a `retires_at` date at most `RETIRING_WITHIN_DAYS` (30) days
  ahead — or already past — that is not deprecated yet. Days are whole UTC calendar days.
- **Family** of a model id (`model_family`): the id lower-cased and split into words at
  `- _ . : / @`; every word holding a digit (versions, dates, sizes such as `8b`, `4o`, `002`)
  and every release tag (`latest`, `preview`, `exp`, `experimental`, `beta`, `alpha`, `free`)
  is dropped; the rest joined by `-`. So `claude-3-5-sonnet-20241022` and
  `claude-sonnet-4-5` are both `claude-sonnet`, `gpt-4o-mini` and `gpt-5-mini` both
  `gpt-mini`, `mistral-large-2411` is `mistral-large`, `ministral-8b-2512` is `ministral`.
  Tier words (`mini`, `pro`, `flash`, `haiku`) stay: a successor should be of the same tier.
  An id made only of such words (`o3`, a voice id like `21m00Tcm4TlvDq8ikWAM`) has no family.
- **Newest** of a family: the highest version numbers read from the id, in order
  (`gpt-5.4-mini` beats `gpt-5-mini-2025-08-07`, `gemini-2.5-pro` beats `gemini-1.5-pro-002`),
  then the latest date code (`2025-08-07`, `20250807`, a 4-digit `2411`, a trailing `05-20`:
  `mistral-large-2512` beats `mistral-large-2411`), then the one the catalog saw last; a
  candidate that retires soon itself comes after one that does not.
- **Suggested successor** (`suggest_successor`): the provider's own `replacement_model_id` when
  the catalog holds it enabled (same provider and category), else the newest enabled model of
  the same family, never the model itself.
- **Retired**: an enabled model whose `retires_at` has passed (`now >= retires_at`; a date is
  stored as 00:00 UTC of that day). Resolution no longer hands it out (`registry.rules`, rule
  4) unless the app setting `registry.retire_by_date` is false (`set_retire_by_date`);
  `retired_report` lists such models that are enabled or a default, with what their requests
  get now. Where a date came from (`date_source`): `metadata_sources["retires_at"]`, with a
  link when the source gives an http(s) URL.
- **Accepting** a suggestion (`accept_successor`) sets `successor_model_id` (audited);
  resolution uses it once the model is deprecated, disabled or retired. `name_successor` names
  one for any requested id, including one the catalog does not hold: that id then gets a catalog row
  in status `deprecated`, retired by the admin (so discovery never makes it pending or
  enabled), carrying the successor.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from registry.audit import SYSTEM, Actor, audit_row, model_audit_row, write_audit
from registry.db import get_database
from registry.errors import InvalidInputError, ModelNotFoundError
from registry.rules import RETIRE_BY_DATE_KEY, retire_by_date
from registry.schema import AIModel, AppSetting, utcnow
from registry.store import (
    ModelFilter,
    check_successor,
    get_default_models,
    get_model_by_id,
    get_model_by_provider_id,
    list_models,
    set_successor,
    to_catalog_model,
    unstorable_id_reason,
    upsert_setting,
)
from registry.types import (
    PROVIDERS,
    CatalogModel,
    Category,
    ModelSource,
    ModelStatus,
    display_id,
    parse_category,
    parse_provider,
)
from registry.usage import FallbackSummary, summarize_fallbacks

RETIRING_WITHIN_DAYS = 30
RELEASE_TAGS = frozenset({"latest", "preview", "exp", "experimental", "beta", "alpha", "free"})
# What an id the application asked for, and the catalog did not hold, says about itself.
UNKNOWN_ID_NOTE = (
    "Not in the provider's listing: the application asked for this id; an admin named its "
    "successor on the Overview."
)

_WORD_SEPARATORS = re.compile(r"[-_.:/@\s]+")
_NUMBERS = re.compile(r"\d+")
# Date codes in ids: 2025-08-07, 20250807, a 4-digit code (2411, 0613), a trailing MM-DD.
_DATES = re.compile(
    r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)|(?<!\d)(\d{8})(?!\d)|(?<![\d.])(\d{4})(?![\d.])"
    r"|(?<![\d.])(\d{2})-(\d{2})$"
)


class Replaceable(Protocol):
    """What the policy needs of a model (a `CatalogModel`, or a `RequestedModel`)."""

    @property
    def provider(self) -> str: ...
    @property
    def category(self) -> Category: ...
    @property
    def model_id(self) -> str: ...
    @property
    def replacement_model_id(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class RequestedModel:
    """A model id as the application asked for it, whether or not the catalog holds it."""

    provider: str
    category: Category
    model_id: str
    replacement_model_id: str | None = None


class Dated(Protocol):
    @property
    def retires_at(self) -> datetime | None: ...
    @property
    def status(self) -> ModelStatus: ...


# --- policy (pure) --------------------------------------------------------------------------


def days_until_retirement(model: Dated, today: date) -> int | None:
    """Whole days from `today` (UTC) to the provider's retirement date; negative once past."""
    if model.retires_at is None:
        return None
    return (model.retires_at.date() - today).days


def is_retiring_soon(model: Dated, today: date) -> bool:
    """Retires within 30 days (or the date has passed) and is not deprecated yet."""
    days = days_until_retirement(model, today)
    return (
        days is not None
        and days <= RETIRING_WITHIN_DAYS
        and model.status is not ModelStatus.DEPRECATED
    )


def retiring_before(today: date) -> datetime:
    """The instant before which a `retires_at` counts as retiring soon on `today` (for SQL):
    the start of the 31st UTC day ahead."""
    return datetime.combine(today + timedelta(days=RETIRING_WITHIN_DAYS + 1), time(), UTC)


def retirement_label(model: Dated, today: date) -> str | None:
    """ "retires in 12 days", "retires today", "retired 3 days ago"; None without a date."""
    days = days_until_retirement(model, today)
    return None if days is None else days_label(days)


def days_label(days: int) -> str:
    """ "retires in 12 days", "retires today", "retired 3 days ago"."""
    if days == 0:
        return "retires today"
    if days > 0:
        return f"retires in {days} day{'s' if days != 1 else ''}"
    return f"retired {-days} day{'s' if days != -1 else ''} ago"


def model_family(model_id: str) -> str | None:
    """The id without versions, dates, sizes and release tags (module docstring); None if
    nothing is left."""
    words = [
        word
        for word in _WORD_SEPARATORS.split(model_id.lower())
        if word and not any(ch.isdigit() for ch in word) and word not in RELEASE_TAGS
    ]
    return "-".join(words) or None


def version_and_date(model_id: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The version numbers of an id and its date codes, for "newest": `gpt-5-mini-2025-08-07`
    is ((5,), (20250807,)), `gpt-5.4-mini` ((5, 4), ()), `mistral-large-2411` ((), (2411,))."""
    dates: list[int] = []

    def take(match: re.Match[str]) -> str:
        dates.append(int("".join(part for part in match.groups() if part)))
        return " "

    rest = _DATES.sub(take, model_id.lower())
    return tuple(int(n) for n in _NUMBERS.findall(rest)), tuple(dates)


def _newest_key(
    model: CatalogModel, today: date
) -> tuple[bool, tuple[int, ...], tuple[int, ...], datetime]:
    versions, dates = version_and_date(model.model_id)
    seen = model.discovered_at or model.created_at
    return (not is_retiring_soon(model, today), versions, dates, seen)


def may_succeed(candidate: CatalogModel, model: Replaceable, today: date) -> bool:
    """Whether `candidate` can replace `model`: enabled, same provider and category, not the
    model itself, and not retiring today or retired (it could not serve for long)."""
    days = days_until_retirement(candidate, today)
    return (
        candidate.status is ModelStatus.ENABLED
        and candidate.provider == model.provider
        and candidate.category is model.category
        and candidate.model_id != model.model_id
        and (days is None or days > 0)
    )


def suggest_successor(
    model: Replaceable, catalog: Iterable[CatalogModel], today: date | None = None
) -> str | None:
    """The model id to replace `model` with: the provider's replacement if enabled in
    `catalog`, else the newest enabled model of the same family; None when there is none.
    A model whose retirement date is today or past is never suggested (it cannot serve)."""
    today = today or utcnow().date()
    candidates = [m for m in catalog if may_succeed(m, model, today)]
    replacement = model.replacement_model_id
    if replacement and any(m.model_id == replacement for m in candidates):
        return replacement
    family = model_family(model.model_id)
    if family is None:
        return None
    same_family = [m for m in candidates if model_family(m.model_id) == family]
    if not same_family:
        return None
    return max(same_family, key=lambda m: _newest_key(m, today)).model_id


# --- queries and actions --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RetiringModel:
    model: CatalogModel
    days: int  # until the retirement date; negative once past
    label: str
    suggested_successor: str | None


def enabled_catalog() -> list[CatalogModel]:
    """Every enabled model (archived ones are never enabled): the successor candidates."""
    return list_models(ModelFilter(status=ModelStatus.ENABLED))


def enabled_catalog_of(providers: Iterable[tuple[Category, str]]) -> list[CatalogModel]:
    """The enabled models of just these (category, provider) pairs."""
    return [
        model
        for category, provider in sorted(providers)
        for model in list_models(
            ModelFilter(category=category, provider=provider, status=ModelStatus.ENABLED)
        )
    ]


def retiring_models(today: date | None = None) -> list[RetiringModel]:
    """Enabled models retiring within 30 days (or past their date), soonest first."""
    today = today or utcnow().date()
    # The database narrows first (a day's margin: the SQL horizon counts from now, the rule
    # from today); only the providers of those models are read as successor candidates.
    nearby = list_models(
        ModelFilter(status=ModelStatus.ENABLED, retiring_within_days=RETIRING_WITHIN_DAYS + 1)
    )
    soon = [m for m in nearby if is_retiring_soon(m, today)]
    catalog = enabled_catalog_of({(m.category, m.provider) for m in soon})
    found = [
        RetiringModel(
            model,
            days_until_retirement(model, today) or 0,
            retirement_label(model, today) or "",
            suggest_successor(model, catalog, today),
        )
        for model in soon
    ]
    return sorted(found, key=lambda r: (r.days, r.model.display_id))


def accept_successor(
    model_uuid: uuid.UUID | str, *, actor: Actor = SYSTEM, today: date | None = None
) -> CatalogModel:
    """Make the suggested successor the model's successor (one audited change)."""
    model = get_model_by_id(model_uuid)
    catalog = list_models(
        ModelFilter(category=model.category, provider=model.provider, status=ModelStatus.ENABLED)
    )
    suggestion = suggest_successor(model, catalog, today)
    if suggestion is None:
        raise InvalidInputError(
            f"there is no suggested successor for {model.display_id}: enable a newer "
            f"{model.provider} model, or name one with `models set-successor`"
        )
    return set_successor(model.id, suggestion, actor=actor)


def name_successor(
    category: Category | str,
    provider: str,
    model_id: str,
    successor_model_id: str,
    *,
    actor: Actor = SYSTEM,
) -> CatalogModel:
    """Name `successor_model_id` as the replacement of `provider/model_id`, held by the
    catalog or not (an unknown id gets a deprecated catalog row, module docstring)."""
    cat = parse_category(category)
    prov = parse_provider(provider, cat)
    try:
        existing = get_model_by_provider_id(prov, model_id, cat)
    except ModelNotFoundError:
        existing = None
    if existing is not None:
        return set_successor(existing.id, successor_model_id, actor=actor)
    why = unstorable_id_reason(model_id)
    if why is not None:
        raise InvalidInputError(f"{display_id(prov, model_id)!r} cannot be stored: {why}")
    successor = successor_model_id.strip()
    if not successor or successor == model_id:
        raise InvalidInputError("name an enabled model of the same provider as the successor")
    try:
        return _add_unknown_with_successor(cat, prov, model_id, successor, actor)
    except IntegrityError:  # added meanwhile (another admin, a discovery): name it there
        return name_successor(cat, prov, model_id, successor, actor=actor)


def _add_unknown_with_successor(
    category: Category, provider: str, model_id: str, successor: str, actor: Actor
) -> CatalogModel:
    now = utcnow()
    with get_database().write() as session:
        check_successor(session, provider, category, model_id, successor)
        row = AIModel(
            provider=provider,
            category=category.value,
            model_id=model_id,
            display_name=model_id,
            status=ModelStatus.DEPRECATED.value,
            source=ModelSource.API.value,
            deprecated_at=now,
            deprecated_by_admin=True,
            successor_model_id=successor,
            admin_notes=UNKNOWN_ID_NOTE,
            created_at=now,
            updated_at=now,
            updated_by=actor.user_id,
        )
        session.add(row)
        session.flush()
        write_audit(
            session,
            [
                model_audit_row(actor, "status_change", row, "status", None, row.status, now),
                model_audit_row(
                    actor, "successor", row, "successor_model_id", None, successor, now
                ),
            ],
        )
        return to_catalog_model(row)


def needs_successor(model: CatalogModel, today: date) -> bool:
    """Retiring soon, deprecated or disabled: resolution will want a replacement for it."""
    return is_retiring_soon(model, today) or model.status in (
        ModelStatus.DEPRECATED,
        ModelStatus.DISABLED,
    )


def suggestions_for(
    models: Sequence[CatalogModel], today: date | None = None
) -> dict[uuid.UUID, str | None]:
    """The suggested successor of each model that needs one (`needs_successor`); None for the
    others. Reads the enabled catalog once."""
    today = today or utcnow().date()
    if not any(needs_successor(m, today) for m in models):
        return {m.id: None for m in models}
    catalog = enabled_catalog()
    return {
        m.id: suggest_successor(m, catalog, today) if needs_successor(m, today) else None
        for m in models
    }


# --- the fallback report (Overview) ---------------------------------------------------------

FALLBACK_DAYS = 7


@dataclass(frozen=True, slots=True)
class FallbackItem:
    """One requested model the application did not get, and how an admin can fix it."""

    summary: FallbackSummary
    status: ModelStatus | None  # in the catalog; None when the catalog does not hold it
    successor: str | None  # the successor an admin named already
    suggested: str | None  # what `suggest_successor` proposes
    choices: tuple[str, ...]  # enabled model ids of that provider and category
    fixable: bool  # a successor can be named (deprecated, disabled or unknown id)
    # The named successor is enabled (resolution can hand it out); the Overview flags it if not.
    successor_serves: bool = True


def fallback_report(today: date | None = None, limit: int = 20) -> tuple[list[FallbackItem], int]:
    """The `limit` most frequent fallbacks of the last 7 days, and how many there were in all.

    Reads the counts (this process's unflushed ones first) and the catalog; raises
    `DatabaseError` when the database is unreachable.
    """
    from registry.resolution import get_fallback_counts

    today = today or utcnow().date()
    summaries = summarize_fallbacks(
        get_fallback_counts(today - timedelta(days=FALLBACK_DAYS - 1)), today
    )
    shown = summaries[:limit]
    catalog = enabled_catalog_of(
        {
            (s.category, s.requested_provider)
            for s in shown
            if s.requested_provider in PROVIDERS[s.category]
        }
    )
    items = [_fallback_item(summary, catalog, today) for summary in shown]
    return items, len(summaries)


def _fallback_item(
    summary: FallbackSummary, catalog: Sequence[CatalogModel], today: date
) -> FallbackItem:
    cat, provider = summary.category, summary.requested_provider
    choices = tuple(m.model_id for m in catalog if m.category is cat and m.provider == provider)
    known = summary.requested_model and provider in PROVIDERS[cat]
    held: CatalogModel | None = None
    if known:
        try:
            held = get_model_by_provider_id(provider, summary.requested_model, cat)
        except ModelNotFoundError:
            held = None
    status = held.status if held is not None else None
    successor = held.successor_model_id if held is not None else None
    requested: Replaceable = held or RequestedModel(provider, cat, summary.requested_model)
    fixable = bool(known) and (
        status in (None, ModelStatus.DEPRECATED, ModelStatus.DISABLED)
        or summary.reason == "retired"
    )
    return FallbackItem(
        summary=summary,
        status=status,
        successor=successor,
        successor_serves=successor is None or successor in choices,
        suggested=suggest_successor(requested, catalog, today) if fixable else None,
        choices=choices if fixable else (),
        fixable=fixable,
    )


# --- retired models (rule 4) and where dates came from --------------------------------------

_URL_KEYS = ("retires_at_url", "retires_at_source_url", "retires_at_source")
_URL = re.compile(r"https?://[^\s<>\"'`]{1,2000}")


@dataclass(frozen=True, slots=True)
class DateSource:
    """Where a model's retirement date came from: `listing`, `admin`, or `dataset NAME VERSION
    DATE` (`metadata_sources["retires_at"]`), and the source's http(s) URL when one is known."""

    label: str | None
    url: str | None

    def describe(self) -> str:
        """ "the provider's listing", "an admin", "dataset litellm 1.110.2 2026-11-20"."""
        if self.label == "listing":
            return "the provider's listing"
        if self.label == "admin":
            return "an admin"
        return self.label or "unknown"


def date_source(sources: Mapping[str, str] | None) -> DateSource:
    """The source of a `retires_at`, read defensively: the URL may sit under its own key
    (`retires_at_url`, …) or inside the source text; anything but http(s) is no link."""
    sources = sources or {}
    raw = sources.get("retires_at")
    text = raw.strip() if isinstance(raw, str) else None
    url: str | None = None
    for candidate in [*(sources.get(k) for k in _URL_KEYS), text]:
        match = _URL.search(candidate) if isinstance(candidate, str) else None
        if match is not None:
            url = match.group(0)
            break
    if text and url and url in text:
        text = text.replace(url, "").strip(" ,;()") or None
    return DateSource(text or None, url)


def retire_by_date_enabled() -> bool:
    """The app setting `registry.retire_by_date` (on unless set to false)."""
    with get_database().read() as session:
        value = session.scalar(select(AppSetting.value).where(AppSetting.key == RETIRE_BY_DATE_KEY))
    return retire_by_date({} if value is None else {RETIRE_BY_DATE_KEY: value})


def set_retire_by_date(enabled: bool, *, actor: Actor = SYSTEM) -> None:
    """Turn rule 4 on or off for every process (audited); dates can be wrong."""
    value = "true" if enabled else "false"
    now = utcnow()
    with get_database().write() as session:
        old = session.scalar(select(AppSetting.value).where(AppSetting.key == RETIRE_BY_DATE_KEY))
        if old == value:
            return
        upsert_setting(session, RETIRE_BY_DATE_KEY, value, actor, now)
        write_audit(
            session,
            [audit_row(actor, "setting", field=RETIRE_BY_DATE_KEY, old=old, new=value, at=now)],
        )


@dataclass(frozen=True, slots=True)
class RetiredModel:
    """An enabled model (a default, perhaps) past its retirement date, and what its requests
    get."""

    model: CatalogModel
    is_default: bool
    gets: str | None  # display id its requests get now; None when nothing is usable
    source: DateSource
    choices: tuple[str, ...]  # enabled model ids of its provider not past their date


@dataclass(frozen=True, slots=True)
class RetiredReport:
    rule_on: bool  # `registry.retire_by_date`: off means these are still handed out
    models: list[RetiredModel]  # defaults first, then soonest retired first


def retired_report(now: datetime | None = None) -> RetiredReport:
    """Enabled models (defaults included) whose retirement date has passed, and what resolution
    gives their requests now (the rules applied to what the database holds now)."""
    from registry.provider_status import get_provider_status

    now = now or utcnow()
    defaults = get_default_models()
    rule_on = retire_by_date_enabled()
    # A default is always enabled (registry.store): the enabled models cover the defaults.
    dated = [
        m
        for m in list_models(ModelFilter(status=ModelStatus.ENABLED, retiring_within_days=1))
        if m.retires_at is not None and m.retires_at <= now
    ]
    found: list[RetiredModel] = []
    for cat, provider in sorted({(m.category, m.provider) for m in dated}):
        status = get_provider_status(provider, cat) if rule_on else None
        enabled = list_models(ModelFilter(category=cat, provider=provider, status="enabled"))
        choices = tuple(m.model_id for m in enabled if m.retires_at is None or m.retires_at > now)
        for model in (m for m in dated if (m.category, m.provider) == (cat, provider)):
            if status is None:
                gets: str | None = model.display_id  # the rule is off: still handed out
            else:
                gets = status.retired.get(model.model_id, (now, None))[1]
            found.append(
                RetiredModel(
                    model,
                    defaults.get((cat.value, provider)) == model.model_id,
                    gets,
                    date_source(model.metadata_sources),
                    choices,
                )
            )
    found.sort(key=lambda r: (not r.is_default, r.model.retires_at, r.model.display_id))
    return RetiredReport(rule_on, found)
