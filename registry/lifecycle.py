"""Retirement dates and successors from the bundled lifecycle data (`datasets/lifecycle.json`).

README "Where retirement dates come from" says where the file comes from and how it is
regenerated (`make lifecycle-data`). The rules this module keeps:

- The file is package data, read once per process on first use: importing `registry` and
  resolving never read it.
- A dated model's `retires_at` (midnight UTC of the dataset's date) and `replacement_model_id`
  (the dataset's successor, already mapped to our ids) are stated with one source,
  `"dataset litellm VERSION DATE URL"`: the dataset's name, version and date as DESIGN's
  `metadata_sources` form has it, then the page the date was taken from when the dataset names
  one (`source_url` takes it back out).
- They only fill what a listing left out and an admin did not set: `registry.prices` applies
  this dataset beside the price dataset, at discovery and at `migrate`.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib import resources
from typing import Any

from registry.types import Category

DATA_FILE = "lifecycle.json"
FIELDS: tuple[str, ...] = ("retires_at", "replacement_model_id")


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """One model's entry: its retirement date and successor, and where the date was read."""

    retires_at: date | None
    successor: str | None
    source_url: str | None


class LifecycleDataset:
    """The bundled lifecycle data, looked up by our provider id, category and model id."""

    def __init__(self, document: dict[str, Any]) -> None:
        meta = document["dataset"]
        self.name = str(meta["name"])
        self.version = str(meta["version"])
        self.date = str(meta["date"])
        self.source = f"dataset {self.name} {self.version} {self.date}"
        self._models: dict[tuple[str, str, str], Lifecycle] = {
            (category, provider, model_id): Lifecycle(
                date.fromisoformat(entry["retires_at"]) if entry.get("retires_at") else None,
                entry.get("successor") or None,
                entry.get("source_url") or None,
            )
            for category, providers in document["models"].items()
            for provider, models in providers.items()
            for model_id, entry in models.items()
        }

    def entry(self, provider: str, category: Category, model_id: str) -> Lifecycle | None:
        return self._models.get((category.value, provider, model_id))

    def fields(self, category: Category) -> tuple[str, ...]:
        return FIELDS

    def stated(
        self, provider: str, category: Category, model_id: str
    ) -> tuple[dict[str, Any], str]:
        """Our metadata fields this dataset states for the model, and their source."""
        entry = self.entry(provider, category, model_id)
        if entry is None:
            return {}, self.source
        values: dict[str, Any] = {}
        if entry.retires_at is not None:
            day = entry.retires_at
            values["retires_at"] = datetime(day.year, day.month, day.day, tzinfo=UTC)
        if entry.successor is not None:
            values["replacement_model_id"] = entry.successor
        source = f"{self.source} {entry.source_url}" if entry.source_url else self.source
        return values, source


def source_url(source: str | None) -> str | None:
    """The page a dataset's value was taken from, out of a `metadata_sources` value."""
    if not source or not source.startswith("dataset "):
        return None
    last = source.rsplit(" ", 1)[-1]
    return last if last.startswith(("https://", "http://")) else None


_lock = threading.Lock()
_loaded: list[LifecycleDataset] = []


def dataset() -> LifecycleDataset:
    """The bundled lifecycle data, loaded once per process."""
    with _lock:
        if not _loaded:
            text = resources.files("registry").joinpath("datasets", DATA_FILE).read_text("utf-8")
            _loaded.append(LifecycleDataset(json.loads(text)))
        return _loaded[0]
