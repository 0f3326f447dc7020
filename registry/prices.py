"""Metadata a provider listing leaves out, filled from offline datasets.

Two datasets, each stating some fields: `genai-prices` the prices (README "Where prices come
from") and the bundled lifecycle data the retirement date and successor (`registry.lifecycle`,
README "Where retirement dates come from"). The rules this module keeps:

- Admin > listing > dataset, per field: only a field the listing left null is filled, and each
  filled field is named in the model's `metadata_sources` as `"dataset NAME VERSION DATE"` (the
  lifecycle data adds its source page). The store keeps an admin's value over both
  (`store._merged_metadata`); in the catalog, a value an admin or a listing set is never
  touched, while one a dataset set follows that dataset's newer data.
- Bundled data only. The package's updater (`genai_prices.UpdatePrices`) fetches prices over
  the network; it is never started here, and the package's process-wide snapshot (which
  another library in the same process may have replaced with fetched data) is never read:
  the data comes from `genai_prices.data`, the file the installed version ships.
- genai-prices is imported lazily, on the first refresh that needs it: importing `registry` and
  resolving never import it, and without the `discovery` extra its fields stay as listed.

Two entry points: `fill_missing_metadata` for a listing on its way to the store, and
`fill_catalog_metadata` for catalog rows no listing refreshes (providers served from the
curated list, and every row at `migrate`, see `registry.catalog_sync`).
"""

from __future__ import annotations

import dataclasses
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from registry import lifecycle
from registry.schema import AIModel
from registry.text import inert
from registry.types import Category, DiscoveredModel, clean_price

if TYPE_CHECKING:
    from genai_prices.types import ModelInfo, ModelPrice, Provider

logger = logging.getLogger(__name__)

DATASET = "genai-prices"
# Our provider ids → the dataset's. ElevenLabs and Azure Speech list voices, whose price
# depends on the model a request picks (and the dataset's "azure" is Azure OpenAI), so no
# dataset entry can price a voice: those listings pass through as they are.
DATASET_PROVIDERS: dict[str, str] = {
    "openai": "openai",
    "google": "google",
    "anthropic": "anthropic",
    "mistral": "mistral",
    "xai": "x-ai",
    "openrouter": "openrouter",
}
# A TTS listing holds speech models and voices; the adapters tell the models by this token
# (`tts-1`, `gpt-4o-mini-tts`, `gemini-2.5-flash-preview-tts`). Voices (2,000 at Google) are
# not looked up: no dataset entry prices a voice, and each miss walks every entry's rules.
_SPEECH_MODEL = re.compile(r"(?:^|[-_./])tts(?:$|[-_./])")
# The dataset's price comments say when a price was last looked at ("verified on 2026-10-14",
# "Checked 2026-10-15"); the newest such date is the data's date.
_CHECKED_ON = re.compile(
    r"(?i)\b(?:verified|checked|observed|as of|updated)\D{0,24}(\d{4}-\d{2}-\d{2})"
)

_PriceFields = dict[str, float]
# What a dataset says of one model: its fields' values and their `metadata_sources` value.
Stated = tuple[dict[str, Any], str]


class MetadataDataset(Protocol):
    """A dataset that states some metadata fields of the models it knows."""

    @property
    def name(self) -> str: ...

    def fields(self, category: Category) -> tuple[str, ...]: ...

    def stated(self, provider: str, category: Category, model_id: str) -> Stated | None:
        """None when the dataset does not know the model: nothing it set before is cleared.
        A known model's field left out of the values is one the dataset no longer states."""
        ...


class PriceDataset:
    """The dataset's bundled providers, looked up by our provider id, category and model id."""

    def __init__(self, providers: Sequence[Provider], version: str) -> None:
        self._providers = list(providers)
        self._by_id = {p.id: p for p in self._providers}
        # Indexed once: a lookup then costs the same for a 24,000-entry listing's every entry
        # (README "Where prices come from"), instead of walking the provider's rules each time.
        self._index = {p.id: _RuleIndex(p.models) for p in self._providers}
        from genai_prices import types

        # The dataset's own rewrite of a compact date, where this version has it.
        self._normalize_dated: Callable[[str], str] = getattr(
            types, "_normalize_compact_dated_ref", str
        )
        self.version = version
        self.date = _data_date(self._providers)
        self.source = " ".join(filter(None, ("dataset", DATASET, version, self.date)))

    @property
    def name(self) -> str:
        return DATASET

    def fields(self, category: Category) -> tuple[str, ...]:
        return _FIELDS[category]

    def stated(self, provider: str, category: Category, model_id: str) -> Stated | None:
        # Prices are replaced by newer data, never cleared: a miss may be a lookup fault.
        found = self.prices(provider, category, model_id)
        return (dict(found), self.source) if found else None

    def prices(self, provider: str, category: Category, model_id: str) -> _PriceFields:
        """Our normalized price fields the dataset states for this model (empty if none)."""
        try:
            return self._lookup(provider, category, model_id)
        except Exception as exc:  # a fault in the dataset must never fail a refresh
            name = inert(model_id, 80)
            logger.warning("%s: no price for %s (%s)", DATASET, name, type(exc).__name__)
            return {}

    def _lookup(self, provider: str, category: Category, model_id: str) -> _PriceFields:
        if category is Category.TTS and not is_speech_model(model_id):
            return {}  # a voice: priced by the model a request picks, never on its own
        model = self.model_info(provider, model_id)
        if model is None:
            return {}
        return _normalized(model.get_prices(datetime.now(UTC)), category)

    def model_info(self, provider: str, model_id: str) -> ModelInfo | None:
        """The dataset's entry for our provider's model (its name, context window, prices)."""
        source = self._by_id.get(DATASET_PROVIDERS.get(provider, ""))
        return None if source is None else self.find_model(source, model_id)

    def find_model(self, source: Provider, model_id: str) -> ModelInfo | None:
        """What `source.find_model(model_id, all_providers=...)` finds, through the index: the
        provider's first matching model, else its fallback providers', each tried again with
        a compact date (`-20251211`) written out as the dataset does."""
        ref = model_id.lower()
        found = self._match(source, ref)
        if found is None:
            normalized = self._normalize_dated(ref)
            if normalized != ref:
                found = self._match(source, normalized)
        return found

    def _match(self, source: Provider, ref: str) -> ModelInfo | None:
        found = self._index[source.id].first_match(ref)
        for fallback in source.fallback_model_providers or ():
            if found is not None:
                break
            if fallback in self._index:
                found = self._index[fallback].first_match(ref)
        return found


def _rule_keys(logic: Any) -> set[tuple[str, str]] | None:
    """Literals one of which every id the rule matches has: ("=", id), ("^", prefix) or
    ("$", suffix); None when the rule (a regex, a substring) has no such literal."""
    if hasattr(logic, "equals"):
        return {("=", logic.equals.lower())}
    if hasattr(logic, "starts_with"):
        return {("^", logic.starts_with.lower())}
    if hasattr(logic, "ends_with"):
        return {("$", logic.ends_with.lower())}
    if hasattr(logic, "or_"):
        branches = [_rule_keys(clause) for clause in logic.or_]
        if any(keys is None for keys in branches):
            return None
        return set().union(*(keys for keys in branches if keys is not None))
    if hasattr(logic, "and_"):
        every = [keys for keys in map(_rule_keys, logic.and_) if keys is not None]
        return min(every, key=len) if every else None
    return None


class _RuleIndex:
    """One dataset provider's models, indexed by the literals of their match rules. A lookup
    checks only the models whose literal the id has (plus the few rules without one), in the
    dataset's order, so the first match is the one a walk of every rule would find."""

    def __init__(self, models: Sequence[ModelInfo]) -> None:
        self._models = list(models)
        self._keyed: dict[tuple[str, str], list[int]] = {}
        self._unkeyed: list[int] = []
        for position, model in enumerate(self._models):
            keys = _rule_keys(model.match)
            if keys is None:
                self._unkeyed.append(position)
            for key in keys or ():
                self._keyed.setdefault(key, []).append(position)
        self._lengths = {
            kind: sorted({len(text) for k, text in self._keyed if k == kind}) for kind in "^$"
        }

    def first_match(self, ref: str) -> ModelInfo | None:
        candidates = set(self._unkeyed)
        candidates.update(self._keyed.get(("=", ref), ()))
        for size in self._lengths["^"]:
            if size > len(ref):
                break
            candidates.update(self._keyed.get(("^", ref[:size]), ()))
        for size in self._lengths["$"]:
            if size > len(ref):
                break
            candidates.update(self._keyed.get(("$", ref[len(ref) - size :]), ()))
        return next(
            (m for m in map(self._models.__getitem__, sorted(candidates)) if m.is_match(ref)), None
        )


def is_speech_model(model_id: str) -> bool:
    """A speech model's id, as opposed to a voice's (`tts-1`, `gemini-2.5-flash-preview-tts`)."""
    return _SPEECH_MODEL.search(model_id) is not None


def _normalized(price: ModelPrice, category: Category) -> _PriceFields:
    """The dataset's units (USD per 1M tokens / characters) mapped onto our columns."""
    output = _price(price, "output_mtok")
    if category is Category.TTS and output is None:
        output = _price(price, "output_audio_mtok")  # speech models bill audio they produce
    fields = {
        "input_price_per_mtok": _price(price, "input_mtok"),
        "output_price_per_mtok": output,
        "price_per_mchar": _price(price, "input_mchars") if category is Category.TTS else None,
    }
    return {name: value for name, value in fields.items() if value is not None}


def _price(price: ModelPrice, unit: str) -> float | None:
    value: Any = getattr(price, unit, None)
    # A tiered price (e.g. more per token above 200k prompt tokens) is stated by its base.
    value = getattr(value, "base", value)
    return clean_price(float(value)) if isinstance(value, Decimal | int | float) else None


def _data_date(providers: Iterable[Provider]) -> str | None:
    comments = [p.price_comments for p in providers]
    comments += [m.price_comments for p in providers for m in p.models]
    dates = [d for text in comments if text for d in _CHECKED_ON.findall(text)]
    return max(dates, default=None)


_lock = threading.Lock()
_loaded: list[PriceDataset | None] = []


def dataset() -> PriceDataset | None:
    """The bundled dataset, loaded once per process; None when the package is not installed."""
    with _lock:  # parallel provider refreshes would otherwise each load it
        if not _loaded:
            _loaded.append(_load())
        return _loaded[0]


def _load() -> PriceDataset | None:
    try:
        from importlib.metadata import version

        from genai_prices.data import providers  # the bundled data; never the updater's
    except ImportError:
        logger.info("%s is not installed: prices come from the listings only", DATASET)
        return None
    try:
        return PriceDataset(providers, version(DATASET))
    except Exception as exc:  # a data layout this module does not know: listings only
        logger.warning("%s unusable (%s): prices come from the listings only", DATASET, exc)
        return None


def _lacks(model: DiscoveredModel, fields: Iterable[str]) -> bool:
    return any(getattr(model, name) is None for name in fields)


_FIELDS: dict[Category, tuple[str, ...]] = {
    Category.TEXT: ("input_price_per_mtok", "output_price_per_mtok"),
    Category.TTS: ("input_price_per_mtok", "output_price_per_mtok", "price_per_mchar"),
}


def datasets(provider: str, *, with_prices: bool = True) -> list[MetadataDataset]:
    """The datasets that may state metadata of this provider's models (prices first)."""
    found: list[MetadataDataset] = []
    prices = dataset() if with_prices and provider in DATASET_PROVIDERS else None
    if prices is not None:
        found.append(prices)
    found.append(lifecycle.dataset())
    return found


def fill_missing_metadata(
    provider: str,
    category: Category,
    models: Sequence[DiscoveredModel],
    *,
    deadline: float | None = None,
) -> list[DiscoveredModel]:
    """`models` with the metadata fields their listing left null filled from the datasets.

    A filled field is named in the model's `metadata_sources`; a value the listing gave is
    kept as it is. Without a dataset that knows a model, it passes through unchanged. Past
    `deadline` (`time.monotonic()`) the rest pass through unfilled: the refresh's own deadline
    holds enrichment too.
    """
    # The price dataset loads only when some model lacks a price (listings that price
    # everything never import it).
    sources = datasets(provider, with_prices=any(_lacks(m, _FIELDS[category]) for m in models))
    filled: list[DiscoveredModel] = []
    for position, model in enumerate(models):
        if deadline is not None and position % 256 == 0 and time.monotonic() > deadline:
            logger.warning(
                "%s %s: metadata of %d listed models not filled from the datasets: the "
                "refresh's deadline passed",
                provider,
                category.value,
                len(models) - position,
            )
            return filled + list(models[position:])
        for data in sources:
            if _lacks(model, data.fields(category)):
                stated = data.stated(provider, category, model.model_id)
                if stated is not None:
                    model = _filled(model, *stated)
        filled.append(model)
    return filled


def _filled(model: DiscoveredModel, known: dict[str, Any], source: str) -> DiscoveredModel:
    gaps: dict[str, Any] = {n: v for n, v in known.items() if getattr(model, n) is None}
    if not gaps:
        return model
    sources = dict(model.metadata_sources) | dict.fromkeys(gaps, source)
    return dataclasses.replace(model, **gaps, metadata_sources=sources)


def _dataset_may_set(source: str | None, value: Any, name: str) -> bool:
    """A field is the dataset's to set when it is empty with no owner, or the same dataset
    (any version) set it: an admin's or a listing's value, or one of unknown origin, stays."""
    if source is None:
        return value is None
    return source == f"dataset {name}" or source.startswith(f"dataset {name} ")


def fill_catalog_metadata(
    session: Session,
    provider: str,
    category: Category,
    sources: Sequence[MetadataDataset] | None = None,
) -> int:
    """Bring the dataset fields of the catalog's (provider, category) rows up to the datasets.

    For rows no listing refreshes. A field an admin or a listing set (or an admin cleared)
    stays as it is; one a dataset set takes that dataset's current value (and is cleared when a
    dataset that knows the model no longer states it). Returns the number of rows changed.
    """
    sources = datasets(provider) if sources is None else sources
    names = sorted({name for data in sources for name in data.fields(category)})
    if not names:
        return 0
    columns = [getattr(AIModel, name) for name in names]
    rows = session.execute(
        select(AIModel.id, AIModel.model_id, AIModel.metadata_sources, *columns).where(
            AIModel.provider == provider, AIModel.category == category.value
        )
    )
    updates: list[dict[str, Any]] = []
    for row in rows:
        given = dict(row.metadata_sources or {})
        owners = dict(given)
        changes: dict[str, Any] = {}
        for data in sources:
            stated = data.stated(provider, category, row.model_id)
            if stated is None:
                continue
            values, source = stated
            for name in data.fields(category):
                if not _dataset_may_set(given.get(name), getattr(row, name), data.name):
                    continue
                value = values.get(name)
                if value is not None and (value != getattr(row, name) or given.get(name) != source):
                    changes[name] = value
                    owners[name] = source
                elif value is None and name in given:
                    changes[name] = None
                    del owners[name]
        if changes:
            updates.append({"id": row.id, **changes, "metadata_sources": owners or None})
    if updates:
        session.execute(update(AIModel), updates)
    return len(updates)
