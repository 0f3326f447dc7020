"""What one listing changes in one (provider, category)'s catalog: pure policy, no I/O.

- `listed_change`: what happens to a listed model, by the catalog row it has (or not): new
  (inserted as pending), returned (deprecated by discovery, listed again: back to pending) or
  refreshed (metadata only). The one rule both `plan_refresh` (the dry run's report, the real
  run's deprecations) and `registry.store.ingest_discovered` (the real run's writes) follow.
- `plan_refresh`: the whole plan of a listing, with the deprecation guard's decision
  (`deprecation_held_back_because`) on the models it no longer contains, and the cap on
  models waiting for approval (`MAX_PENDING`).

README "Lifecycle rules": the guard's share counts approved (enabled) models only, which
resolution hands out. A pending model was never approved, so nothing serves it: a trusted
listing that no longer contains it deprecates it, and pending models missing in any number
make no listing look sweeping (a provider rotating its ids cannot keep every id it ever
listed). At most `MAX_PENDING` models of one (provider, category) wait for approval: new ones
past it are left out, counted, not stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Generic, Protocol, TypeVar

from registry.types import ModelSource, ModelStatus

# A listing that would deprecate more than this share of the approved models is not trusted.
MAX_DEPRECATION_SHARE = 0.5
# Models of one (provider, category) that may wait for approval at once.
MAX_PENDING = 2_000

_STILL_OFFERED = frozenset(
    {ModelStatus.PENDING.value, ModelStatus.ENABLED.value, ModelStatus.DISABLED.value}
)


class ListedRow(Protocol):
    """What deciding a listed model's change reads of its catalog row."""

    @property
    def status(self) -> str: ...
    @property
    def deprecated_by_admin(self) -> bool: ...


class CatalogRow(ListedRow, Protocol):
    """What planning reads of a stored model."""

    @property
    def model_id(self) -> str: ...
    @property
    def source(self) -> str: ...


class ListedChange(Enum):
    NEW = "new"  # not in the catalog: inserted as pending
    RETURNED = "returned"  # deprecated by discovery, listed again: back to pending
    REFRESHED = "refreshed"  # known: metadata refreshed, the admin's decision kept


def listed_change(row: ListedRow | None) -> ListedChange:
    """What a listing does to a model it lists, given the model's catalog row (None: none).

    A model an admin deprecated stays deprecated when listed again: that was a decision.
    """
    if row is None:
        return ListedChange.NEW
    if row.status == ModelStatus.DEPRECATED.value and not row.deprecated_by_admin:
        return ListedChange.RETURNED
    return ListedChange.REFRESHED


_Row = TypeVar("_Row", bound=CatalogRow)


@dataclass(slots=True)
class RefreshPlan(Generic[_Row]):
    """What one listing does to one (provider, category)'s catalog."""

    new: list[str]  # listed, not in the catalog: inserted as pending
    returned: list[str]  # deprecated by discovery, listed again: back to pending
    refreshed: int  # known models listed again: metadata refreshed
    deprecate: list[_Row]  # no longer listed: deprecated
    held_back: list[_Row]  # no longer listed, but the guard does not trust the listing
    held_back_because: str | None = None
    left_out: list[str] = field(default_factory=list)  # new, past MAX_PENDING: not stored


def plan_refresh(
    rows: Sequence[_Row],
    listed: Sequence[str],
    skipped: Sequence[str] = (),
    *,
    complete: bool = True,
    max_share: float = MAX_DEPRECATION_SHARE,
    max_pending: int = MAX_PENDING,
) -> RefreshPlan[_Row]:
    """Decide what a listing changes, from the catalog rows before it. Pure: the real refresh
    applies this plan and a dry run only reports it, so the two cannot disagree.

    `listed` are the storable ids (unique), `skipped` the listed ids that cannot be stored;
    a skipped id still counts as listed (never deprecated) and keeps the listing complete.
    """
    by_id = {row.model_id: row for row in rows}
    changes = [(model_id, listed_change(by_id.get(model_id))) for model_id in listed]
    new = [model_id for model_id, change in changes if change is ListedChange.NEW]
    returned = [model_id for model_id, change in changes if change is ListedChange.RETURNED]
    # "Known" for the guard: API-sourced models not yet deprecated.
    known = [
        row for row in rows if row.source == ModelSource.API.value and row.status in _STILL_OFFERED
    ]
    seen = set(listed) | set(skipped)
    # Disabled models stay disabled (the admin's decision); only pending/enabled ones retire.
    missing = [
        row
        for row in known
        if row.model_id not in seen and row.status != ModelStatus.DISABLED.value
    ]
    # The share is of approved models: pending ones were never approved (nothing serves them)
    # and must not dilute it, nor make a rotating listing look sweeping.
    approved = [row for row in known if row.status != ModelStatus.PENDING.value]
    why = deprecation_held_back_because(  # an incomplete or empty listing: no share applies
        missing=len(missing), known=len(known), listed=len(listed), complete=complete, max_share=1
    ) or deprecation_held_back_because(
        missing=sum(row.status != ModelStatus.PENDING.value for row in missing),
        known=len(approved),
        listed=len(listed),
        complete=complete,
        max_share=max_share,
    )
    deprecate, held_back = ([], missing) if why else (missing, [])
    pending_after = (
        sum(row.status == ModelStatus.PENDING.value for row in rows)
        - sum(row.status == ModelStatus.PENDING.value for row in deprecate)
        + len(returned)
    )
    room = max(0, max_pending - pending_after)
    return RefreshPlan(
        new[:room],
        returned,
        len(listed) - len(new),
        deprecate,
        held_back,
        why,
        new[room:],
    )


def deprecation_held_back_because(
    *, missing: int, known: int, listed: int, complete: bool, max_share: float
) -> str | None:
    """Why the guard does not trust a listing to deprecate its `missing` models, or None.

    An incomplete or empty listing deprecates nothing, nor one that would retire more than
    `max_share` of the `known` (API-sourced, approved, still offered) models at once.
    """
    if not missing:
        return None
    if not complete:
        return "the listing was incomplete"
    if not listed:
        return "the provider listed no models"
    if missing > max_share * known:
        return f"it would deprecate {missing} of {known} known models (more than {max_share:.0%})"
    return None
