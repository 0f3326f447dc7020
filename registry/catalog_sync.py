"""Bring a migrated database up to the package's data: the last step of every `migrate`.

A new package version may carry a newer curated catalog (`registry/datasets/catalog.json`) and newer
lifecycle data (`registry/datasets/lifecycle.json`). `sync_catalog_data` applies them once per data
version (remembered in the `registry.catalog_data` setting) and keeps every admin decision:

- a curated model the database does not hold arrives as `pending` (migration 0002 seeded a fresh
  database's list as `enabled`; in an existing one an admin approves what is new). A model that
  left the curated list keeps its row and status, and no default setting is changed;
- the curated models' prices (from the catalog file) and every catalog row's retirement date and
  successor (from the lifecycle data) fill what neither an admin nor a listing set, and replace
  what an older version of the same data set (`registry.prices.fill_catalog_metadata`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from registry import lifecycle
from registry.catalog import CATALOG, CatalogData, CuratedModel
from registry.prices import DATASET, MetadataDataset, Stated, fill_catalog_metadata
from registry.schema import AIModel, AppSetting, RegistryStamp, utcnow
from registry.types import PRICE_FIELDS, Category, ModelSource, ModelStatus

logger = logging.getLogger(__name__)

VERSION_SETTING = "registry.catalog_data"


class CuratedPrices:
    """The prices the catalog file carries for its models (the price dataset's, as generated)."""

    def __init__(self, catalog: CatalogData) -> None:
        self.name = DATASET
        self.source = catalog.price_source
        self._models: dict[tuple[Category, str, str], CuratedModel] = {
            (category, provider, model.model_id): model
            for (category, provider), curated in catalog.providers.items()
            for model in curated.models
        }

    def fields(self, category: Category) -> tuple[str, ...]:
        return PRICE_FIELDS if category is Category.TTS else PRICE_FIELDS[:2]

    def stated(self, provider: str, category: Category, model_id: str) -> Stated | None:
        model = self._models.get((category, provider, model_id))
        if model is None:
            return None
        values = {name: getattr(model, name) for name in self.fields(category)}
        known = {name: value for name, value in values.items() if value is not None}
        return (known, self.source) if known else None


@dataclass(slots=True)
class SyncResult:
    version: str
    applied: bool = False  # False: this data version was applied before
    added: list[str] = field(default_factory=list)  # "category/provider/model_id", pending
    updated: int = 0  # rows whose dataset fields changed


def sync_catalog_data(
    session: Session,
    catalog: CatalogData = CATALOG,
    lifecycle_data: MetadataDataset | None = None,
) -> SyncResult:
    """Apply the package's data to the catalog unless this data version was applied already."""
    data = lifecycle_data if lifecycle_data is not None else lifecycle.dataset()
    version = f"{catalog.version}; {_version_of(data)}"
    result = SyncResult(version)
    stored = session.scalar(select(AppSetting.value).where(AppSetting.key == VERSION_SETTING))
    if stored == version:
        return result
    now = utcnow()
    result.applied = True
    result.added = _add_new_curated(session, catalog, now)
    curated_prices = CuratedPrices(catalog)
    pairs = {(c, p) for c, p in session.execute(select(AIModel.category, AIModel.provider))}
    for category_value, provider in sorted(pairs):
        category = Category(category_value)
        sources: list[MetadataDataset] = [data]
        if (category, provider) in catalog.providers:
            sources.insert(0, curated_prices)
        result.updated += fill_catalog_metadata(session, provider, category, sources)
    _remember(session, version, now)
    if result.added or result.updated:
        # Running processes reload their snapshot when the change stamp moves (registry/db.py).
        session.execute(
            update(RegistryStamp)
            .where(RegistryStamp.id == 1)
            .values(version=RegistryStamp.version + 1, changed_at=now)
        )
    logger.info(
        "catalog data %s: %d curated models added as pending, %d rows updated",
        version,
        len(result.added),
        result.updated,
    )
    return result


def _version_of(data: MetadataDataset) -> str:
    source = getattr(data, "source", None)
    return str(source) if source else data.name


def _add_new_curated(session: Session, catalog: CatalogData, now: datetime) -> list[str]:
    held = {
        (category, provider, model_id)
        for category, provider, model_id in session.execute(
            select(AIModel.category, AIModel.provider, AIModel.model_id)
        )
    }
    added: list[str] = []
    for (category, provider), curated in catalog.providers.items():
        for model in curated.models:
            if (category.value, provider, model.model_id) in held:
                continue
            session.add(
                AIModel(
                    provider=provider,
                    category=category.value,
                    model_id=model.model_id,
                    display_name=model.display_name,
                    description=model.description,
                    context_window=model.context_window,
                    status=ModelStatus.PENDING.value,
                    source=ModelSource.CURATED.value,
                    discovered_at=now,
                    created_at=now,
                    updated_at=now,
                )
            )
            added.append(f"{category.value}/{provider}/{model.model_id}")
    session.flush()
    return added


def _remember(session: Session, version: str, now: datetime) -> None:
    values: dict[str, Any] = {"value": version, "updated_at": now}
    if session.get(AppSetting, VERSION_SETTING) is None:
        session.add(AppSetting(key=VERSION_SETTING, **values))
    else:
        session.execute(
            update(AppSetting).where(AppSetting.key == VERSION_SETTING).values(**values)
        )
