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
    now = _now()
    rows = []
    settings = dict(DEFAULT_GLOBAL_SETTINGS)
    for (category, provider), curated in CURATED.items():
        settings[default_setting_key(category, provider)] = curated.default
        for model in curated.models:
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
    op.bulk_insert(ai_models, rows)
    op.bulk_insert(
        app_settings, [{"key": k, "value": v, "updated_at": now} for k, v in settings.items()]
    )


def downgrade() -> None:
    keys = list(DEFAULT_GLOBAL_SETTINGS) + [
        default_setting_key(category, provider) for category, provider in CURATED
    ]
    op.execute(app_settings.delete().where(app_settings.c.key.in_(keys)))
    op.execute(ai_models.delete().where(ai_models.c.source == "curated"))
