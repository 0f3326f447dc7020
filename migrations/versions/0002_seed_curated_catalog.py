"""Seed the curated catalog as `enabled`, each provider's built-in default and the global config.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 08:20:00
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from registry.catalog import CURATED, DEFAULT_GLOBAL_SETTINGS, default_setting_key

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Lightweight table stubs: a data migration must not depend on today's ORM classes.
ai_models = sa.table(
    "ai_models",
    sa.column("id", sa.Uuid()),
    sa.column("provider", sa.String()),
    sa.column("category", sa.String()),
    sa.column("model_id", sa.String()),
    sa.column("display_name", sa.String()),
    sa.column("description", sa.Text()),
    sa.column("context_window", sa.Integer()),
    sa.column("supports_streaming", sa.Boolean()),
    sa.column("status", sa.String()),
    sa.column("source", sa.String()),
    sa.column("enabled_at", sa.DateTime(timezone=True)),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
    sa.column("deprecated_by_admin", sa.Boolean()),
    sa.column("display_name_edited", sa.Boolean()),
    sa.column("description_edited", sa.Boolean()),
)
registry_stamp = sa.table(
    "registry_stamp",
    sa.column("id", sa.Integer()),
    sa.column("version", sa.BigInteger()),
    sa.column("changed_at", sa.DateTime(timezone=True)),
)
app_settings = sa.table(
    "app_settings",
    sa.column("key", sa.String()),
    sa.column("value", sa.Text()),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)


def _now() -> datetime:
    # SQLite stores naive UTC (see registry.schema.UTCDateTime); PostgreSQL keeps the zone.
    now = datetime.now(UTC)
    return now.replace(tzinfo=None) if op.get_bind().dialect.name == "sqlite" else now


def upgrade() -> None:
    """Insert only what is missing: running again (after a downgrade) keeps every admin decision,
    and a model a refresh has listed since is not inserted twice."""
    bind = op.get_bind()
    now = _now()
    statuses = {
        (category, provider, model_id): status
        for provider, category, model_id, status in bind.execute(
            sa.select(
                ai_models.c.provider, ai_models.c.category, ai_models.c.model_id, ai_models.c.status
            )
        )
    }
    present_settings = set(bind.scalars(sa.select(app_settings.c.key)))
    rows = []
    settings = dict(DEFAULT_GLOBAL_SETTINGS)
    for (category, provider), curated in CURATED.items():
        for model in curated.models:
            if (category.value, provider, model.model_id) in statuses:
                continue
            statuses[(category.value, provider, model.model_id)] = "enabled"
            rows.append(
                {
                    "id": uuid.uuid4(),
                    "provider": provider,
                    "category": category.value,
                    "model_id": model.model_id,
                    "display_name": model.display_name,
                    "description": model.description,
                    "context_window": model.context_window,
                    "supports_streaming": True,
                    "status": "enabled",
                    "source": "curated",
                    "enabled_at": now,
                    "created_at": now,
                    "updated_at": now,
                    "deprecated_by_admin": False,
                    "display_name_edited": False,
                    "description_edited": False,
                }
            )
        # A default must be enabled: one an admin disabled is not made the default again.
        if statuses.get((category.value, provider, curated.default)) == "enabled":
            settings[default_setting_key(category, provider)] = curated.default
    missing = [
        {"key": k, "value": v, "updated_at": now}
        for k, v in settings.items()
        if k not in present_settings
    ]
    if rows:
        op.bulk_insert(ai_models, rows)
    if missing:
        op.bulk_insert(app_settings, missing)
    if rows or missing:
        # Running processes reload their snapshot when the change stamp moves (registry/db.py).
        op.execute(
            registry_stamp.update()
            .where(registry_stamp.c.id == 1)
            .values(version=registry_stamp.c.version + 1, changed_at=now)
        )


def downgrade() -> None:
    """Keep the catalog and the settings: since the seed, admins have approved, disabled, noted
    and chosen defaults on these rows, and nothing of theirs may be lost. Upgrading again inserts
    only what is missing."""
