"""The refresh policy, apart from any I/O: what a listing does to each model it lists, and
when the deprecation guard distrusts a listing. The dry run's plan and the real ingest both
follow `listed_change` (see tests/test_discovery_dry_run.py for the two agreeing end to end)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from registry.refresh_plan import ListedChange, deprecation_held_back_because, listed_change


@dataclass(frozen=True)
class Row:
    status: str
    deprecated_by_admin: bool = False


@pytest.mark.parametrize(
    ("row", "change"),
    [
        (None, ListedChange.NEW),
        (Row("deprecated"), ListedChange.RETURNED),
        (Row("deprecated", deprecated_by_admin=True), ListedChange.REFRESHED),
        (Row("enabled"), ListedChange.REFRESHED),
        (Row("disabled"), ListedChange.REFRESHED),
        (Row("pending"), ListedChange.REFRESHED),
    ],
)
def test_a_listed_model_is_new_returned_or_refreshed_by_its_catalog_row(
    row: Row | None, change: ListedChange
) -> None:
    assert listed_change(row) is change


@pytest.mark.parametrize(
    ("missing", "known", "listed", "complete", "because"),
    [
        (0, 10, 0, False, None),  # nothing to deprecate: nothing to distrust
        (1, 10, 9, True, None),
        (5, 10, 5, True, None),  # exactly half may go
        (6, 10, 4, True, "it would deprecate 6 of 10 known models (more than 50%)"),
        (1, 10, 9, False, "the listing was incomplete"),
        (10, 10, 0, True, "the provider listed no models"),
    ],
)
def test_the_deprecation_guard_distrusts_partial_empty_or_sweeping_listings(
    missing: int, known: int, listed: int, complete: bool, because: str | None
) -> None:
    assert (
        deprecation_held_back_because(
            missing=missing, known=known, listed=listed, complete=complete, max_share=0.5
        )
        == because
    )
