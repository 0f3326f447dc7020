"""Discovery: refresh the catalog from the providers' own listing APIs, safely.

For each (provider, category) asked for, in parallel:
1. claim the refresh atomically in `discovery_state` (at most one per 5 minutes unless forced,
   and never two at once, across processes; `registry.discovery_claims`);
2. fetch the listing through the provider's adapter with the key read at call time
   (`registry.discovery_fetch`);
3. skip, with a warning naming them, entries whose id cannot be stored or shown safely;
4. plan (`registry.refresh_plan`, a pure function of the listing and the catalog rows) and
   apply in one transaction: insert unseen models as `pending`, refresh metadata of known
   ones, bring relisted deprecated models back to `pending`, deprecate models a complete
   listing no longer contains — unless a guard says the listing cannot be trusted — and
   write one audit entry summing up what changed;
5. record the outcome in `discovery_state` (`registry.discovery_claims`).
This module runs those steps for each provider in parallel and reports what they did.
A provider that fails writes nothing to the catalog and never spoils the others. A dry run
does step 2 and reports the plan of step 4: no claim, no write.

A skipped entry still counts as listed: its id is not deprecated (an old catalog may hold it),
and the listing stays complete, so one hostile entry cannot stop every deprecation.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update

from registry import keys
from registry.approval_rules import RuleDecision, decide_new_models
from registry.audit import DISCOVERY, Actor, audit_row, refresh_audit_row, write_audit
from registry.catalog import curated_default, curated_provider, default_setting_key
from registry.config import discovery_timeout
from registry.db import Database, get_database
from registry.discovery_claims import (
    REFRESH_INTERVAL as REFRESH_INTERVAL,  # re-exported: the dashboard shows it
)
from registry.discovery_claims import (
    RELEASED,
    WRITE_GRACE_SECONDS,
    Heartbeat,
    claim_token_held,
    claim_verdict,
    database_now,
    record_success,
    take_claim,
    update_state,
)
from registry.discovery_claims import (
    ClaimVerdict as ClaimVerdict,  # re-exported: the claim policy's public names
)
from registry.discovery_fetch import (
    CURATED_NO_KEY_NOTE as CURATED_NO_KEY_NOTE,  # re-exported: the dashboard names them
)
from registry.discovery_fetch import (
    CURATED_SOURCE_NOTE as CURATED_SOURCE_NOTE,
)
from registry.discovery_fetch import fetch_listing
from registry.errors import (
    KeyRejectedError,
    MissingKeyError,
    ProviderError,
    ProviderRateLimitedError,
    ProviderTimeoutError,
    ProviderUnreachableError,
    RegistryError,
    missing_key_message,
)
from registry.prices import fill_catalog_metadata, fill_missing_metadata
from registry.providers import get_adapter
from registry.providers.base import DEFAULT_TIMEOUT_SECONDS, Credentials, ProviderListing
from registry.providers.classify import left_out_summary
from registry.refresh_plan import MAX_DEPRECATION_SHARE, MAX_PENDING, RefreshPlan, plan_refresh
from registry.schema import AIModel, AppSetting, DiscoveryState, utcnow
from registry.store import ingest_discovered, split_storable
from registry.text import inert
from registry.types import (
    PROVIDERS,
    Category,
    DiscoveredModel,
    ModelSource,
    ModelStatus,
    parse_category,
    parse_provider,
)

logger = logging.getLogger(__name__)

# Skipped entries named one by one in a refresh's warnings; the rest are counted.
MAX_SKIPPED_NAMED = 5


@dataclass(slots=True)
class ProviderResult:
    """What one (provider, category) refresh did. `to_json` gives DESIGN.md's shape."""

    provider: str
    category: Category
    source: ModelSource = ModelSource.API
    discovered: int = 0
    new: list[str] = field(default_factory=list)
    deprecated: list[str] = field(default_factory=list)
    returned: list[str] = field(default_factory=list)  # deprecated, listed again → pending
    refreshed: int = 0  # known models listed again, their metadata refreshed
    held_back: list[str] = field(default_factory=list)  # missing, kept by the deprecation guard
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # for information only, e.g. what was left out
    # What the approval rules decided (or would decide) about new and returned models.
    decided: list[RuleDecision] = field(default_factory=list)
    rate_limited: bool = False  # skipped by our 5-minute limit, or the provider answered 429
    missing_key: bool = False  # failed only because no API key is configured
    next_refresh_at: datetime | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors and not self.rate_limited

    def to_json(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "category": self.category.value,
            "source": self.source.value,
            "discovered": self.discovered,
            "new": list(self.new),
            "deprecated": list(self.deprecated),
            "errors": list(self.errors),
            "rate_limited": self.rate_limited,
            "returned": list(self.returned),
            "refreshed": self.refreshed,
            "held_back": list(self.held_back),
            "warnings": list(self.warnings),
            "notes": list(self.notes),
            "decided": [d.to_json() for d in self.decided],
            "next_refresh_at": self.next_refresh_at.isoformat() if self.next_refresh_at else None,
            "seconds": round(self.seconds, 3),
        }


@dataclass(slots=True)
class DiscoveryReport:
    results: list[ProviderResult]
    dry_run: bool = False  # computed from a real listing, nothing written

    @property
    def total_new(self) -> int:
        return sum(len(r.new) for r in self.results)

    @property
    def total_errors(self) -> int:
        return sum(len(r.errors) for r in self.results)

    def to_json(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "results": [r.to_json() for r in self.results],
            "total_new": self.total_new,
            "total_errors": self.total_errors,
        }
        if self.dry_run:
            payload["dry_run"] = True
        return payload


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    """Sent on the caller's thread (Streamlit can only draw from there)."""

    provider: str
    category: Category
    phase: str  # "started" or "finished"
    result: ProviderResult | None = None


ProgressCallback = Callable[[ProgressEvent], None]


# --- the public entry point ------------------------------------------------------------------


def discover_models(
    category: Category | str | None,
    providers: Sequence[str] | None = None,
    *,
    force: bool = False,
    dry_run: bool = False,
    actor: Actor = DISCOVERY,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    provider_deadline: float | None = None,
    max_deprecation_share: float = MAX_DEPRECATION_SHARE,
    on_progress: ProgressCallback | None = None,
) -> DiscoveryReport:
    """Refresh the catalog of one category (None: every category) from its providers.

    The providers of a category run in parallel, categories one after the other. With
    `category=None`, `providers` limits each category to those of them it lists.
    `timeout` bounds each HTTP request; the adapter holds one provider's whole listing (all
    pages) to `REGISTRY_DISCOVERY_TIMEOUT` and closes its connection past it.
    `provider_deadline` bounds how long this call waits for one provider's refresh (default:
    that timeout plus `WRITE_GRACE_SECONDS`). `dry_run` lists the providers and reports what
    the refresh would change, writing nothing (no claim, no state, no audit). Never raises for
    a provider's failure: the report says what happened. A real run that changed something or
    failed is announced to `REGISTRY_NOTIFY_URL` (see registry.notify), once.
    """
    if category is None:
        wanted = [parse_provider(p) for p in dict.fromkeys(providers or [])]
        plan = [(c, [p for p in PROVIDERS[c] if not wanted or p in wanted]) for c in Category]
    else:
        cat = parse_category(category)
        chosen = (
            [parse_provider(p, cat) for p in dict.fromkeys(providers)]
            if providers
            else list(PROVIDERS[cat])
        )
        plan = [(cat, chosen)]
    deadline = (
        provider_deadline
        if provider_deadline is not None
        else discovery_timeout() + WRITE_GRACE_SECONDS
    )
    settings = _RefreshSettings(force, dry_run, actor, timeout, max_deprecation_share)
    # Checked first: a malformed webhook setting is one line now, and never the run's outcome.
    from registry.notify import notify_discovery, webhook_from_settings

    webhook = webhook_from_settings()
    results: list[ProviderResult] = []
    for cat, chosen in plan:
        if chosen:
            results.extend(_discover_category(cat, chosen, settings, deadline, on_progress))
    report = DiscoveryReport(results, dry_run=dry_run)
    notify_discovery(report, webhook)
    return report


@dataclass(frozen=True, slots=True)
class _RefreshSettings:
    force: bool
    dry_run: bool
    actor: Actor
    timeout: float
    max_share: float


def _discover_category(
    cat: Category,
    chosen: list[str],
    settings: _RefreshSettings,
    deadline: float,
    on_progress: ProgressCallback | None,
) -> list[ProviderResult]:
    database = get_database()
    results: dict[str, ProviderResult] = {}
    pool = ThreadPoolExecutor(max_workers=len(chosen), thread_name_prefix="discover")
    try:
        futures: dict[Future[ProviderResult], str] = {}
        for provider in chosen:
            # Import the SDK before the clock starts: on a busy machine importing one takes
            # seconds. A broken SDK is left for the worker to report as that provider's error.
            with suppress(Exception):
                get_adapter(provider)
        for provider in chosen:
            if on_progress:
                on_progress(ProgressEvent(provider, cat, "started"))
            job = _Refresh(database, provider, cat, settings)
            futures[pool.submit(job.run)] = provider
        pending = set(futures)
        end = time.monotonic() + deadline
        while pending:
            done, pending = wait(
                pending, timeout=max(0.0, end - time.monotonic()), return_when=FIRST_COMPLETED
            )
            if not done:
                break
            for future in done:
                result = future.result()
                results[futures[future]] = result
                if on_progress:
                    on_progress(ProgressEvent(result.provider, cat, "finished", result))
        for future in pending:
            provider = futures[future]
            result = ProviderResult(
                provider,
                cat,
                errors=[
                    f"{provider}: no complete answer within {deadline:g} s; nothing was changed"
                ],
            )
            # The late worker may still finish; its claim expires, and its write is refused
            # because the claim token no longer matches (see _Refresh._write).
            if not settings.dry_run:
                _Refresh.abandon(database, provider, cat)
            results[provider] = result
            if on_progress:
                on_progress(ProgressEvent(provider, cat, "finished", result))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return [results[p] for p in chosen]


class KeyVerdict(StrEnum):
    WORKS = "works"
    REJECTED = "rejected"  # the provider answered 401/403
    UNREACHABLE = "unreachable"  # no answer: connection refused, DNS, timeout
    MISSING = "missing"  # no key typed, stored or in the environment
    FAILED = "failed"  # the provider answered, but not with a listing (5xx, 429, bad shape)


@dataclass(frozen=True, slots=True)
class KeyCheck:
    """What testing a key found; `message` is the provider error (key redacted) or ""."""

    verdict: KeyVerdict
    models: int = 0
    message: str = ""


def check_api_key(
    provider: str, category: Category | str | None = None, api_key: str | None = None
) -> KeyCheck:
    """List the provider's models once with `api_key` (or the configured key); writes nothing.

    A network failure is told apart from a rejected key: only `REJECTED` says the key is bad.
    """
    prov = parse_provider(provider)
    adapter = get_adapter(prov)
    cat = parse_category(category) if category else sorted(adapter.categories)[0]
    credentials = (
        Credentials(
            api_key=api_key.strip(), region=keys.azure_region() if prov == "azure" else None
        )
        if api_key and api_key.strip()
        else keys.get_credentials(prov)
    )
    if credentials is None:
        return KeyCheck(KeyVerdict.MISSING, message=missing_key_message(prov, adapter.key_env))
    try:
        listing = adapter.list_models(cat, credentials, timeout=DEFAULT_TIMEOUT_SECONDS)
    except KeyRejectedError as exc:
        return KeyCheck(KeyVerdict.REJECTED, message=str(exc))
    except (ProviderUnreachableError, ProviderTimeoutError) as exc:
        return KeyCheck(KeyVerdict.UNREACHABLE, message=str(exc))
    except ProviderError as exc:
        return KeyCheck(KeyVerdict.FAILED, message=str(exc))
    return KeyCheck(KeyVerdict.WORKS, models=len(listing.models))


# --- discovery state -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DiscoveryStatus:
    provider: str
    category: Category
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    outcome: str | None
    source: str | None
    discovered_count: int
    new_count: int
    deprecated_count: int
    errors: list[str]
    next_allowed_at: datetime | None
    in_progress: bool


def get_discovery_state(category: Category | str | None = None) -> list[DiscoveryStatus]:
    """The last refresh of every (provider, category), including never-refreshed ones."""
    cats = [parse_category(category)] if category else list(Category)
    with get_database().read() as session:
        now = database_now(session)  # claims are judged by the database's clock
        rows = {
            (r.provider, r.category): r
            for r in session.scalars(
                select(DiscoveryState).where(DiscoveryState.category.in_([c.value for c in cats]))
            )
        }
    statuses = []
    for cat in cats:
        for provider in PROVIDERS[cat]:
            row = rows.get((provider, cat.value))
            statuses.append(
                DiscoveryStatus(
                    provider=provider,
                    category=cat,
                    last_attempt_at=row.last_attempt_at if row else None,
                    last_success_at=row.last_success_at if row else None,
                    outcome=row.outcome if row else None,
                    source=row.source if row else None,
                    discovered_count=row.discovered_count if row else 0,
                    new_count=row.new_count if row else 0,
                    deprecated_count=row.deprecated_count if row else 0,
                    errors=list(row.errors or []) if row else [],
                    next_allowed_at=row.next_allowed_at if row else None,
                    in_progress=bool(row and claim_verdict(row, now).live),
                )
            )
    return statuses


def _skipped_warnings(
    provider: str, category: Category, skipped: list[tuple[str, str]]
) -> list[str]:
    """Name the skipped entries (inert, shortened); past a few, count the rest."""
    if not skipped:
        return []
    named = skipped[:MAX_SKIPPED_NAMED]
    logger.warning(
        "%s %s: skipped %d listed entries that cannot be stored or shown safely: %s",
        provider,
        category.value,
        len(skipped),
        ", ".join(f'"{inert(model_id, 80)}"' for model_id, _ in named),
    )
    warnings = [f'skipped the entry "{inert(model_id, 80)}": {why}' for model_id, why in named]
    if len(skipped) > len(named):
        warnings.append(
            f"… and {len(skipped) - len(named)} more entries skipped whose ids cannot be "
            "stored or shown safely"
        )
    return warnings


# --- one provider's refresh ------------------------------------------------------------------


class _Refresh:
    """One (provider, category) refresh, run on a worker thread."""

    def __init__(
        self,
        database: Database,
        provider: str,
        category: Category,
        settings: _RefreshSettings,
    ) -> None:
        self.database = database
        self.provider = provider
        self.category = category
        self.force = settings.force
        self.dry_run = settings.dry_run
        self.actor = settings.actor
        self.timeout = settings.timeout
        self.max_share = settings.max_share
        self.token: str | None = None  # our claim's, once taken
        self.heartbeat: Heartbeat | None = None
        self.listing_deadline: float | None = None

    def run(self) -> ProviderResult:
        started = time.monotonic()
        # The listing's own deadline; enrichment stops there too, leaving the write its grace.
        self.listing_deadline = started + discovery_timeout()
        result = ProviderResult(self.provider, self.category)
        try:
            self._run(result)
        except RegistryError as exc:
            result.errors.append(str(exc))
            result.missing_key = isinstance(exc, MissingKeyError)
            self._record_failure(result)
        except Exception as exc:  # a bug or an SDK surprise must not spoil the other providers
            logger.error(
                "%s %s discovery failed: %s", self.provider, self.category.value, type(exc).__name__
            )
            result.errors.append(
                f"{self.provider}: unexpected error ({type(exc).__name__}); nothing was changed"
            )
            self._record_failure(result)
        finally:
            if self.heartbeat is not None:
                self.heartbeat.stop()
        result.seconds = time.monotonic() - started
        return result

    def _run(self, result: ProviderResult) -> None:
        # A dry run takes no claim: it writes nothing, so it neither waits for nor blocks a
        # real refresh, and it ignores the 5-minute limit.
        if not self.dry_run:
            claim = take_claim(
                self.database,
                self.provider,
                self.category,
                force=self.force,
                timeout=self.timeout,
            )
            if claim.token is None:
                result.rate_limited = True
                result.next_refresh_at = claim.retry_at
                result.warnings.append(claim.refused_because or "not claimed")
                return
            self.token = claim.token
            if claim.took_over:
                result.warnings.append(claim.took_over)
            self.heartbeat = Heartbeat(self.database, self.provider, self.category, self.token)
        try:
            listing = fetch_listing(self.provider, self.category, self.timeout)
        except ProviderRateLimitedError as exc:
            result.rate_limited = True
            if exc.retry_after:
                result.next_refresh_at = utcnow() + timedelta(seconds=exc.retry_after)
            raise
        if isinstance(listing, str):  # the curated list stands in, for the reason it says
            self._use_curated(result, listing)
        else:
            self._write(listing, result)

    # state -------------------------------------------------------------------------------

    @staticmethod
    def abandon(database: Database, provider: str, category: Category) -> None:
        """Give up a claim whose worker overran its deadline, so the next refresh may start."""
        update_state(
            database,
            provider,
            category,
            **RELEASED,
            outcome="error",
            errors=["timed out; nothing was changed"],
        )

    def _record_failure(self, result: ProviderResult) -> None:
        if self.dry_run or (result.rate_limited and not result.errors):
            return  # skipped by our own limit: the state already says when the last refresh was
        # Without a claim of ours (the claim itself failed) someone else's must stay untouched.
        release = RELEASED if self.token is not None else {}
        update_state(
            self.database,
            self.provider,
            self.category,
            self.token,
            **release,
            outcome="error",
            errors=list(result.errors),
            # Honour a provider's Retry-After; other failures may be retried at once.
            next_allowed_at=result.next_refresh_at,
        )

    # writes -------------------------------------------------------------------------------

    def _use_curated(self, result: ProviderResult, note: str) -> None:
        curated = curated_provider(self.category, self.provider)
        models = (
            [
                DiscoveredModel(m.model_id, m.display_name, m.description, m.context_window)
                for m in curated.models
            ]
            if curated
            else []
        )
        result.source = ModelSource.CURATED
        result.warnings.append(note)
        now = utcnow()
        session_scope = self.database.read() if self.dry_run else self.database.write()
        with session_scope as session:
            known = {row.model_id for row in self._catalog_rows(session)}
            # Curated entries new to this catalog still wait for an admin's approval.
            unseen = [m for m in models if m.model_id not in known]
            result.discovered = len(models)
            result.new = [m.model_id for m in unseen]
            result.refreshed = len(models) - len(unseen)
            if self.dry_run:
                decide_new_models(session, result, now, dry_run=True)
                return
            for model in unseen:
                session.add(
                    AIModel(
                        provider=self.provider,
                        category=self.category.value,
                        model_id=model.model_id,
                        display_name=model.display_name,
                        context_window=model.context_window,
                        status=ModelStatus.PENDING.value,
                        source=ModelSource.CURATED.value,
                        discovered_at=now,
                        created_at=now,
                        updated_at=now,
                    )
                )
            fill_catalog_metadata(session, self.provider, self.category)
            decide_new_models(session, result, now, dry_run=False)
            self._audit_refresh(session, result, now)
            self._record_success(session, result, now)

    def _write(self, listing: ProviderListing, result: ProviderResult) -> None:
        storable, skipped = split_storable(listing.models)
        models = fill_missing_metadata(
            self.provider, self.category, _unique(storable), deadline=self.listing_deadline
        )
        result.discovered = len(models)
        result.warnings.extend(listing.warnings)
        result.warnings.extend(_skipped_warnings(self.provider, self.category, skipped))
        now = utcnow()
        if self.dry_run:
            if listing.left_out:  # a preview says what classification left out, and why
                result.notes.append(left_out_summary(self.category.value, listing.left_out))
            with self.database.read() as session:
                plan = self._plan(session, listing, models, skipped)
                self._report_plan(session, plan, result)
                decide_new_models(session, result, now, dry_run=True)
            return
        with self.database.write() as session:
            # Refuse to write when our claim was lost: a newer refresh may own this provider now.
            token = claim_token_held(session, self.provider, self.category)
            if token is None or token != self.token:
                raise ProviderError(
                    self.provider,
                    "the refresh took too long and was abandoned; nothing was changed",
                )
            # The plan reads the catalog before this listing is written: its own new entries
            # must not dilute the share the guard measures.
            plan = self._plan(session, listing, models, skipped)
            if plan.left_out:  # past the pending cap: not stored
                left_out = set(plan.left_out)
                models = [m for m in models if m.model_id not in left_out]
            ingest_discovered(session, self.provider, self.category, models, now, actor=self.actor)
            self._deprecate(session, plan, now)
            self._report_plan(session, plan, result)
            decide_new_models(session, result, now, dry_run=False)
            self._audit_refresh(session, result, now)
            self._record_success(session, result, now)
        logger.info(
            "%s %s: %d listed, %d new, %d deprecated",
            self.provider,
            self.category.value,
            result.discovered,
            len(result.new),
            len(result.deprecated),
        )

    def _catalog_rows(self, session: Any) -> list[Any]:
        """This pair's catalog rows, as `plan_refresh` reads them (plus the row id)."""
        return list(
            session.execute(
                select(
                    AIModel.id,
                    AIModel.model_id,
                    AIModel.status,
                    AIModel.source,
                    AIModel.deprecated_by_admin,
                ).where(
                    AIModel.provider == self.provider,
                    AIModel.category == self.category.value,
                )
            )
        )

    def _plan(
        self,
        session: Any,
        listing: ProviderListing,
        models: Sequence[DiscoveredModel],
        skipped: list[tuple[str, str]],
    ) -> RefreshPlan[Any]:
        return plan_refresh(
            self._catalog_rows(session),
            [m.model_id for m in models],
            [model_id for model_id, _ in skipped],
            complete=listing.complete,
            max_share=self.max_share,
        )

    def _deprecate(self, session: Any, plan: RefreshPlan[Any], now: datetime) -> None:
        if not plan.deprecate:
            return
        session.execute(
            update(AIModel)
            .where(AIModel.id.in_([row.id for row in plan.deprecate]))
            .values(
                status=ModelStatus.DEPRECATED.value,
                deprecated_at=now,
                deprecated_by_admin=False,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        write_audit(
            session,
            [
                audit_row(
                    self.actor,
                    "status_change",
                    provider=self.provider,
                    category=self.category.value,
                    model_id=row.model_id,
                    field="status",
                    old=row.status,
                    new=ModelStatus.DEPRECATED.value,
                    at=now,
                )
                for row in plan.deprecate
            ],
        )

    def _report_plan(self, session: Any, plan: RefreshPlan[Any], result: ProviderResult) -> None:
        """Say in `result` what the plan does (or, on a dry run, would do)."""
        result.new, result.returned, result.refreshed = plan.new, plan.returned, plan.refreshed
        result.deprecated = sorted(row.model_id for row in plan.deprecate)
        result.held_back = sorted(row.model_id for row in plan.held_back)
        if plan.held_back_because:
            result.warnings.append(
                f"deprecated nothing: {plan.held_back_because}; "
                f"{len(plan.held_back)} missing model(s) kept"
            )
        if plan.left_out:
            result.warnings.append(
                f"left out {len(plan.left_out):,} new model(s): at most {MAX_PENDING:,} models of "
                "a provider and category wait for approval; approve or disable pending ones to "
                "make room"
            )
        if not result.deprecated:
            return
        default = session.scalar(
            select(AppSetting.value).where(
                AppSetting.key == default_setting_key(self.category, self.provider)
            )
        )
        if default in result.deprecated:
            fallback = curated_default(self.category, self.provider)
            result.warnings.append(
                f"the default {self.provider}/{default} is no longer offered; resolution now "
                f"uses {self.provider}/{fallback} — pick a new default"
            )

    def _audit_refresh(self, session: Any, result: ProviderResult, now: datetime) -> None:
        """One audit entry for the refresh, in its transaction; none when nothing changed."""
        row = refresh_audit_row(
            self.actor,
            self.provider,
            self.category.value,
            new=result.new,
            deprecated=result.deprecated,
            returned=result.returned,
            at=now,
        )
        write_audit(session, [row] if row else [])

    def _record_success(self, session: Any, result: ProviderResult, now: datetime) -> None:
        result.next_refresh_at = record_success(
            session,
            self.provider,
            self.category,
            now,
            outcome="ok"
            if not result.warnings or result.source is ModelSource.CURATED
            else "warning",
            source=result.source.value,
            discovered_count=result.discovered,
            new_count=len(result.new),
            deprecated_count=len(result.deprecated),
            errors=list(result.warnings) or None,
        )


def _unique(models: Sequence[DiscoveredModel]) -> list[DiscoveredModel]:
    seen: dict[str, DiscoveredModel] = {}
    for model in models:
        if model.model_id and model.model_id not in seen:
            seen[model.model_id] = model
    return list(seen.values())
