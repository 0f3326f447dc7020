"""The resolution rules, over one `Snapshot`: pure functions, no I/O, no state.

Rules (DESIGN.md), for one (category, provider, model):

1. the model is `enabled` → itself;
2. otherwise (not in the catalog, `pending`, `disabled`, `deprecated`): a deprecated or disabled
   model's successor if an admin named one and it is enabled → the provider's default
   (app_settings) if enabled → the provider's curated built-in default when the catalog holds it
   enabled or not at all (never pending, disabled or deprecated) → (story configs only) the
   current global config → `NoAvailableModelError`;
3. an explicit override (`model_override`, `config_override`) naming a `pending` or `disabled`
   model raises `ModelNotEnabledError`;
4. an enabled model whose retirement date has passed is treated like a deprecated one, reason
   `retired`: the successor an admin named, else its `replacement_model_id` (the provider's or
   a dataset's) when that is enabled → the provider default → the rest of rule 2; a provider
   default or curated default past its date is never handed out: its successor (found the
   same way) stands in for it, else the next step of the chain answers. "Passed" means
   `now >= retires_at`, the stored UTC instant (a date without a time is stored as 00:00 UTC of
   that day). The snapshot decides this when it is built (`retirement_view`) and its keeper
   decides again at the next retirement instant, so lookups never read a clock. The app setting
   `registry.retire_by_date` (`true` unless set to false) turns rule 4 off.

Caller mistakes (unknown category or provider, a model id that is not a string) raise
`InvalidInputError`; a story's provider is stored data, so one the registry does not support
falls back to the global config (`unsupported_provider`) instead. `registry.client` answers
from these rules with a snapshot kept fresh, memoising, counting and logging the fallbacks;
`registry.provider_status` applies them to a view read for a dashboard card.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from registry.catalog import (
    CURATED,
    DEFAULT_GLOBAL_SETTINGS,
    CuratedModel,
    curated_default,
    default_setting_key,
)
from registry.errors import InvalidInputError, ModelNotEnabledError, NoAvailableModelError
from registry.settings import GlobalConfig, global_config_from
from registry.text import inert
from registry.types import Category, ModelStatus, display_id, parse_provider

if TYPE_CHECKING:
    from registry.snapshot import ModelDates, ModelEntry, ModelKey, Snapshot

_ENABLED = ModelStatus.ENABLED.value
_DISABLED = ModelStatus.DISABLED.value
_DEPRECATED = ModelStatus.DEPRECATED.value
# Rule 4's status, in snapshots only: enabled in the catalog, past its retirement date.
RETIRED = "retired"
# Statuses whose successor resolution follows (an id the application asks for that the catalog
# lacks gets a deprecated row to carry one: registry.retirement).
_REPLACEABLE = (_DEPRECATED, _DISABLED, RETIRED)
RETIRE_BY_DATE_KEY = "registry.retire_by_date"
_OFF = frozenset({"false", "0", "no", "off"})
_MAX_SUCCESSOR_HOPS = 16
_SHOWN_LIMIT = 200  # characters of a model id in messages and log lines


class FallbackReason(StrEnum):
    """Why the requested model was not used. Stable strings: logs, JSON and the database."""

    NOT_FOUND = "not_found"  # not in the catalog (for that provider and category)
    PENDING = "pending"  # discovered, awaiting an admin's approval
    DISABLED = "disabled"  # an admin said no
    DEPRECATED = "deprecated"  # the provider dropped it, or an admin retired it
    RETIRED = "retired"  # enabled, but its retirement date (`retires_at`) has passed
    NOT_CONFIGURED = "not_configured"  # the global config names no valid provider or no model
    PROVIDER_UNAVAILABLE = "provider_unavailable"  # no model named, the provider has none usable
    # A stored story names a provider the registry does not support (for that category).
    UNSUPPORTED_PROVIDER = "unsupported_provider"


class ResolutionRule(StrEnum):
    """Which rule picked the answer."""

    REQUESTED = "requested"  # the model asked for (it is enabled)
    # The successor an admin named for a deprecated/disabled/retired model (for a retired one
    # without it: its replacement_model_id).
    SUCCESSOR = "successor"
    PROVIDER_DEFAULT = "provider_default"  # `ai|tts.{provider}.default_model`
    CURATED_DEFAULT = "curated_default"  # the provider's built-in default (registry.catalog)
    GLOBAL_CONFIG = "global_config"  # story configs only: the application's global config


_CAUSE = {
    FallbackReason.NOT_FOUND: "is not in the catalog",
    FallbackReason.PENDING: "is pending approval",
    FallbackReason.DISABLED: "is disabled",
    FallbackReason.DEPRECATED: "is deprecated",
    FallbackReason.RETIRED: "is retired (past its retirement date)",
}
_VIA = {
    ResolutionRule.REQUESTED: "",
    ResolutionRule.SUCCESSOR: "its successor",
    ResolutionRule.PROVIDER_DEFAULT: "the provider default",
    ResolutionRule.CURATED_DEFAULT: "the built-in default",
    ResolutionRule.GLOBAL_CONFIG: "the global config",
}


@dataclass(frozen=True, slots=True)
class ResolvedModel:
    """The model to use, what was asked for, and why they differ (`fallback`, `reason`)."""

    category: Category
    provider: str
    model_id: str
    requested_provider: str | None
    requested: str | None  # the model id asked for; None when none was named
    fallback: bool  # True when the answer is not what was asked for
    reason: FallbackReason | None  # None unless fallback
    rule: ResolutionRule

    @property
    def display_id(self) -> str:
        return display_id(self.provider, self.model_id)

    @property
    def requested_display(self) -> str | None:
        if self.requested is None:
            return self.requested_provider
        return display_id(self.requested_provider or "?", self.requested)

    def describe(self) -> str:
        """One line for people (and logs): what was asked, what is used, and why. Ids are
        made inert: the requested one comes from the application's data."""
        target = _shown(self.provider, self.model_id)
        via = _VIA[self.rule]
        cat = self.category.value
        if not self.fallback:
            if self.rule is ResolutionRule.REQUESTED:
                return f"{target} (enabled)"
            return f"{target} ({via}: no {cat} model was named)"
        requested = (
            None if self.requested is None else _shown(self.requested_provider, self.requested)
        )
        if self.reason is FallbackReason.NOT_CONFIGURED:
            named = requested or inert(self.requested_provider or "nothing", _SHOWN_LIMIT)
            return (
                f"the global {cat} config names {named}, which is not usable; using {via} {target}"
            )
        if self.reason is FallbackReason.UNSUPPORTED_PROVIDER:
            named = requested or inert(self.requested_provider or "?", _SHOWN_LIMIT)
            return f"{cat} model {named}: the provider is not supported; using {via} {target}"
        if self.reason is FallbackReason.PROVIDER_UNAVAILABLE:
            return f"{self.requested_provider} has no usable {cat} model; using {via} {target}"
        cause = _CAUSE.get(self.reason, "is not usable") if self.reason else "is not usable"
        return f"{cat} model {requested} {cause}; using {via} {target}"

    def to_json(self) -> dict[str, object]:
        """The CLI's shape: provider, model_id, requested, fallback, reason."""
        return {
            "provider": self.provider,
            "model_id": self.model_id,
            "requested": self.requested,
            "fallback": self.fallback,
            "reason": self.reason.value if self.reason is not None else None,
        }


@dataclass(frozen=True, slots=True)
class ResolvedConfig(ResolvedModel):
    """A resolved model plus the generation parameters (global settings; text only)."""

    temperature: float | None  # the story's when given and valid (0..2), else the global one
    max_tokens: int | None  # from the global settings

    def to_json(self) -> dict[str, object]:
        """`ResolvedModel.to_json()` plus `temperature` and `max_tokens` when present (text)."""
        answer = ResolvedModel.to_json(self)
        if self.temperature is not None:
            answer["temperature"] = self.temperature
        if self.max_tokens is not None:
            answer["max_tokens"] = self.max_tokens
        return answer


# --- the rules --------------------------------------------------------------------------------


class Exhausted(Exception):
    """Internal: the provider's chain ran out; carries the first reason and what was tried."""

    def __init__(self, reason: FallbackReason, tried: list[str]) -> None:
        super().__init__("; ".join(tried))
        self.reason = reason
        self.tried = tried


def _shown(provider: str | None, model: str) -> str:
    """`provider/model` safe for a log line or a message: the application's requested ids and
    the providers' ids are untrusted (a newline would forge a log line)."""
    return inert(display_id(provider or "?", model), _SHOWN_LIMIT)


def _state(status: str | None, retired_at: datetime | None = None) -> str:
    if retired_at is not None:
        return f"past its retirement date {retired_at.date().isoformat()}"
    return "not in the catalog" if status is None else status


# --- rule 4: retirement dates (decided when a snapshot is built) ---------------------------


@dataclass(frozen=True, slots=True)
class RetirementView:
    """What rule 4 makes of a catalog at one instant."""

    models: dict[ModelKey, ModelEntry]  # retired models as (RETIRED, successor or replacement)
    retired: dict[ModelKey, datetime]  # every model retired by date (curated defaults too): when
    next_retirement: datetime | None  # the soonest retirement still ahead: decide again then


def retire_by_date(settings: Mapping[str, str]) -> bool:
    """`registry.retire_by_date`: on unless set to false (`false`, `0`, `no`, `off`)."""
    value = settings.get(RETIRE_BY_DATE_KEY)
    return value is None or value.strip().lower() not in _OFF


def date_instant(value: str | None) -> datetime | None:
    """An ISO retirement date as the instant it takes effect: 00:00 UTC of that day; None when
    absent or not an ISO date (a curated entry must never stop resolution)."""
    try:
        day = date.fromisoformat(value.strip()) if value else None
    except ValueError:
        return None
    return None if day is None else datetime(day.year, day.month, day.day, tzinfo=UTC)


def curated_dates(models: tuple[CuratedModel, ...]) -> dict[str, tuple[datetime, str | None]]:
    """The curated models' retirement instants and successors, by model id."""
    return {
        model.model_id: (when, model.successor)
        for model in models
        if (when := date_instant(model.retires_at)) is not None
    }


def retirement_view(
    models: dict[ModelKey, ModelEntry],
    dated: ModelDates,
    settings: Mapping[str, str],
    now: datetime,
) -> RetirementView:
    """Rule 4 at `now`: each enabled model of `dated` (key → retires_at, replacement) whose
    instant has come becomes RETIRED with its admin's successor, else the replacement; a
    curated default the catalog does not hold is retired by its curated date. `models` is not
    changed (a new dict when anything retired)."""
    if not retire_by_date(settings):
        return RetirementView(models, {}, None)
    retired: dict[ModelKey, datetime] = {}
    entries: dict[ModelKey, ModelEntry] = {}
    upcoming: datetime | None = None
    for key, (when, replacement) in dated.items():
        entry = models.get(key)
        if entry is None or entry[0] != _ENABLED:
            continue  # a decision of the catalog (pending, disabled, deprecated) stands
        if when <= now:
            retired[key] = when
            entries[key] = (RETIRED, entry[1] or replacement)
        elif upcoming is None or when < upcoming:
            upcoming = when
    for (category, provider), curated in CURATED.items():
        key = (category.value, provider, curated.default)
        if key in models:
            continue  # the catalog's own row (and date) decides
        found = curated_dates(curated.models).get(curated.default)
        if found is None:
            continue
        if found[0] <= now:
            retired[key] = found[0]
        elif upcoming is None or found[0] < upcoming:
            upcoming = found[0]
    return RetirementView(models | entries if entries else models, retired, upcoming)


def _successor(snap: Snapshot, cat: str, provider: str, model_id: str) -> str | None:
    """Follow the successors of a deprecated, disabled or retired model to the first enabled
    one."""
    seen = {model_id}
    current = model_id
    for _ in range(_MAX_SUCCESSOR_HOPS):
        entry = snap.models.get((cat, provider, current))
        if entry is None or entry[0] not in _REPLACEABLE or not entry[1] or entry[1] in seen:
            return None
        current = entry[1]
        seen.add(current)
        status = snap.status(cat, provider, current)
        if status == _ENABLED:
            return current
        if status not in _REPLACEABLE:
            return None
    return None


def provider_choice(
    snap: Snapshot, cat: Category, provider: str, tried: list[str]
) -> tuple[str, ResolutionRule] | None:
    """The provider's default if enabled, else its curated default unless blocked."""
    default = snap.settings.get(default_setting_key(cat, provider))
    if default:
        status = snap.status(cat.value, provider, default)
        if status == _ENABLED:
            return default, ResolutionRule.PROVIDER_DEFAULT
        retired_at = snap.retired.get((cat.value, provider, default))
        tried.append(
            f"the {provider} default {_shown(provider, default)} is {_state(status, retired_at)}"
        )
        if status == RETIRED:  # rule 4: a retired default is replaced as a retired model is
            successor = _successor(snap, cat.value, provider, default)
            if successor is not None:
                return successor, ResolutionRule.PROVIDER_DEFAULT
    else:
        tried.append(f"no {cat.value} default is set for {provider}")
    curated = curated_default(cat, provider)
    if curated is not None:
        # Only when the catalog holds it enabled, or not at all (rule 2), and it has not
        # retired (rule 4).
        key = (cat.value, provider, curated)
        status = snap.status(*key)
        retired_at = snap.retired.get(key)
        if (status is None and retired_at is None) or status == _ENABLED:
            return curated, ResolutionRule.CURATED_DEFAULT
        tried.append(
            f"the built-in default {_shown(provider, curated)} is {_state(status, retired_at)}"
        )
        if status == RETIRED:
            successor = _successor(snap, cat.value, provider, curated)
            if successor is not None:
                return successor, ResolutionRule.CURATED_DEFAULT
    return None


def resolve_in(
    snap: Snapshot, cat: Category, provider: str, model: str | None, *, explicit: bool
) -> ResolvedModel:
    if model is None:
        tried: list[str] = []
        choice = provider_choice(snap, cat, provider, tried)
        if choice is None:
            raise Exhausted(FallbackReason.PROVIDER_UNAVAILABLE, tried)
        return ResolvedModel(cat, provider, choice[0], provider, None, False, None, choice[1])
    entry = snap.models.get((cat.value, provider, model))
    if entry is not None and entry[0] == _ENABLED:
        return ResolvedModel(
            cat, provider, model, provider, model, False, None, ResolutionRule.REQUESTED
        )
    reason = FallbackReason(entry[0]) if entry is not None else FallbackReason.NOT_FOUND
    if explicit and reason in (FallbackReason.PENDING, FallbackReason.DISABLED):
        advice = "approve it first" if reason is FallbackReason.PENDING else "an admin disabled it"
        raise ModelNotEnabledError(
            f"{_shown(provider, model)} is {reason.value} in the {cat.value} catalog and "
            f"cannot be used as an override ({advice}; or pick an enabled model)"
        )
    tried = [f"{_shown(provider, model)} {_CAUSE[reason]}"]
    if reason in (FallbackReason.DEPRECATED, FallbackReason.DISABLED, FallbackReason.RETIRED):
        successor = _successor(snap, cat.value, provider, model)
        if successor is not None:
            return ResolvedModel(
                cat, provider, successor, provider, model, True, reason, ResolutionRule.SUCCESSOR
            )
    choice = provider_choice(snap, cat, provider, tried)
    if choice is None:
        raise Exhausted(reason, tried)
    return ResolvedModel(cat, provider, choice[0], provider, model, True, reason, choice[1])


def no_model(cat: Category, provider: str, exhausted: Exhausted) -> NoAvailableModelError:
    return NoAvailableModelError(
        f"no usable {cat.value} model for {provider}: {'; '.join(exhausted.tried)}. Enable a "
        f"{provider} model and make it the default (`python -m registry set-default`)"
    )


def _prefix(cat: Category) -> str:
    return "ai" if cat is Category.TEXT else "tts"


def _global_provider(snap: Snapshot, cat: Category) -> str | None:
    raw = snap.settings.get(f"{_prefix(cat)}.provider")
    try:
        return parse_provider(raw, cat) if raw else None
    except InvalidInputError:
        return None


def global_in(snap: Snapshot, cat: Category) -> ResolvedModel:
    """The application's global config, checked against the catalog."""
    prefix = _prefix(cat)
    raw_provider = snap.settings.get(f"{prefix}.provider")
    raw_model = (snap.settings.get(f"{prefix}.model") or "").strip() or None
    provider = _global_provider(snap, cat)
    try:
        if provider is None:
            # Unreadable config (not a caller mistake): the built-in global default serves.
            builtin = DEFAULT_GLOBAL_SETTINGS[f"{prefix}.provider"]
            inner = resolve_in(
                snap, cat, builtin, DEFAULT_GLOBAL_SETTINGS[f"{prefix}.model"], explicit=False
            )
            rule = (
                ResolutionRule.CURATED_DEFAULT
                if inner.rule is ResolutionRule.REQUESTED
                else inner.rule
            )
            return ResolvedModel(
                cat,
                inner.provider,
                inner.model_id,
                raw_provider,
                raw_model,
                True,
                FallbackReason.NOT_CONFIGURED,
                rule,
            )
        inner = resolve_in(snap, cat, provider, raw_model, explicit=False)
    except Exhausted as exhausted:
        raise NoAvailableModelError(
            f"the global {cat.value} config is not usable: {'; '.join(exhausted.tried)}. Choose "
            f"an enabled model on the settings page"
        ) from None
    if raw_model is None:
        return ResolvedModel(
            cat,
            inner.provider,
            inner.model_id,
            provider,
            None,
            True,
            FallbackReason.NOT_CONFIGURED,
            inner.rule,
        )
    return inner


def clean_model(value: object, what: str = "model") -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInputError(f"{what} must be a model id string, got {type(value).__name__}")
    return value.strip() or None


def override_request(
    snap: Snapshot, cat: Category, model_override: object, config_override: object
) -> tuple[str, str | None]:
    """(provider, model) named by the overrides; the global provider fills a missing one."""
    provider: str | None = None
    model = clean_model(model_override, "model_override")
    if config_override is not None:
        if isinstance(config_override, GlobalConfig):
            if config_override.category is not cat:
                raise InvalidInputError(
                    f"config_override is a {config_override.category.value} config; "
                    f"a {cat.value} one is needed"
                )
            raw_provider, raw_model = config_override.provider, config_override.model
        elif isinstance(config_override, Mapping):
            raw_provider, raw_model = config_override.get("provider"), config_override.get("model")
        else:
            raise InvalidInputError(
                "config_override must be a GlobalConfig or a mapping with 'provider' and 'model'"
            )
        if raw_provider is not None:
            provider = parse_provider(str(raw_provider), cat)
        if model is None:
            model = clean_model(raw_model, "config_override model")
    if provider is None:
        provider = (
            _global_provider(snap, cat) or DEFAULT_GLOBAL_SETTINGS[f"{_prefix(cat)}.provider"]
        )
    return provider, model


def _global_parameters(snap: Snapshot) -> tuple[float, int]:
    config = global_config_from(snap.settings, Category.TEXT)
    temperature = config.temperature
    if temperature is None:
        temperature = float(DEFAULT_GLOBAL_SETTINGS["ai.temperature"])
    max_tokens = config.max_tokens
    if max_tokens is None:
        max_tokens = int(DEFAULT_GLOBAL_SETTINGS["ai.max_tokens"])
    return temperature, max_tokens


def config_from(model: ResolvedModel, snap: Snapshot, temperature: float | None) -> ResolvedConfig:
    global_temperature, max_tokens = _global_parameters(snap)
    text = model.category is Category.TEXT
    return ResolvedConfig(
        model.category,
        model.provider,
        model.model_id,
        model.requested_provider,
        model.requested,
        model.fallback,
        model.reason,
        model.rule,
        (temperature if temperature is not None else global_temperature) if text else None,
        max_tokens if text else None,
    )


def story_in(
    snap: Snapshot, cat: Category, story_provider: object, story_model: object
) -> ResolvedModel:
    model = clean_model(story_model, "story model")
    if story_provider is None or (isinstance(story_provider, str) and not story_provider.strip()):
        if model is not None:
            raise InvalidInputError(
                f"the story names model {model!r} without its provider; give both or neither"
            )
        return global_in(snap, cat)
    try:
        provider = parse_provider(str(story_provider), cat)
    except InvalidInputError:
        # Stored data, not a caller's mistake: a story saved when the provider was still
        # supported (or written by another tool) must still be generated.
        return _story_fallback(
            snap, cat, str(story_provider).strip(), model, FallbackReason.UNSUPPORTED_PROVIDER
        )
    try:
        return resolve_in(snap, cat, provider, model, explicit=False)
    except Exhausted as exhausted:
        try:
            return _story_fallback(snap, cat, provider, model, exhausted.reason)
        except NoAvailableModelError as error:
            raise NoAvailableModelError(
                f"{no_model(cat, provider, exhausted)}; and {error}"
            ) from None


def _story_fallback(
    snap: Snapshot, cat: Category, provider: str, model: str | None, reason: FallbackReason
) -> ResolvedModel:
    """The global config, answering for a story whose own provider has nothing usable."""
    fallback = global_in(snap, cat)
    return ResolvedModel(
        cat,
        fallback.provider,
        fallback.model_id,
        provider,
        model,
        True,
        reason,
        ResolutionRule.GLOBAL_CONFIG,
    )
