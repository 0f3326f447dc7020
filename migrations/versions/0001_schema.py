"""The schema: every table of registry/schema.py.

Revision ID: 0001
Revises:
Create Date: 2026-11-24 08:10:36.556402
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from alembic.util import CommandError
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "discovery_state",
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=8), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("source", sa.String(length=8), nullable=True),
        sa.Column("discovered_count", sa.Integer(), nullable=False),
        sa.Column("new_count", sa.Integer(), nullable=False),
        sa.Column("deprecated_count", sa.Integer(), nullable=False),
        sa.Column(
            "errors",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("next_allowed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("category IN ('text', 'tts')", name=op.f("ck_discovery_state_category")),
        sa.PrimaryKeyConstraint("provider", "category", name=op.f("pk_discovery_state")),
    )
    op.create_table(
        "fallback_counts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("category", sa.String(length=8), nullable=False),
        sa.Column("requested_provider", sa.String(length=32), nullable=False),
        sa.Column("requested_model", sa.String(length=255), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("resolved_provider", sa.String(length=32), nullable=False),
        sa.Column("resolved_model", sa.String(length=255), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("category IN ('text', 'tts')", name=op.f("ck_fallback_counts_category")),
        sa.PrimaryKeyConstraint(
            "day",
            "category",
            "requested_provider",
            "requested_model",
            "reason",
            name=op.f("pk_fallback_counts"),
        ),
    )
    op.create_table(
        "registry_stamp",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_stamp")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "ai_models",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=8), nullable=False),
        sa.Column("model_id", sa.String(length=255), nullable=False),
        sa.Column("display_name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("context_window", sa.Integer(), nullable=True),
        sa.Column("supports_streaming", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("discovered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("enabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deprecated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "provider_metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("admin_notes", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deprecated_by_admin", sa.Boolean(), nullable=False),
        sa.Column("retires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("successor_model_id", sa.String(length=255), nullable=True),
        sa.Column("display_name_edited", sa.Boolean(), nullable=False),
        sa.Column("description_edited", sa.Boolean(), nullable=False),
        sa.CheckConstraint("category IN ('text', 'tts')", name=op.f("ck_ai_models_category")),
        sa.CheckConstraint("source IN ('api', 'curated')", name=op.f("ck_ai_models_source")),
        sa.CheckConstraint(
            "status IN ('pending', 'enabled', 'disabled', 'deprecated')",
            name=op.f("ck_ai_models_status"),
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["users.id"], name=op.f("fk_ai_models_updated_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ai_models")),
        sa.UniqueConstraint(
            "provider", "category", "model_id", name=op.f("uq_ai_models_provider_category_model_id")
        ),
    )
    with op.batch_alter_table("ai_models", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ai_models_provider_category"), ["provider", "category"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_ai_models_status"), ["status"], unique=False)

    op.create_table(
        "app_settings",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["users.id"], name=op.f("fk_app_settings_updated_by_users")
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_app_settings")),
    )
    op.create_table(
        "audit_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=True),
        sa.Column("category", sa.String(length=8), nullable=True),
        sa.Column("model_id", sa.String(length=255), nullable=True),
        sa.Column("field", sa.String(length=64), nullable=True),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_audit_log_actor_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_created_at"), ["created_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_audit_log_provider_category"), ["provider", "category"], unique=False
        )

    op.create_table(
        "provider_keys",
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("encrypted_key", sa.Text(), nullable=False),
        sa.Column("hint", sa.String(length=16), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["users.id"], name=op.f("fk_provider_keys_updated_by_users")
        ),
        sa.PrimaryKeyConstraint("provider", name=op.f("pk_provider_keys")),
    )

    # The change stamp is a single row that every write bumps (see registry/db.py).
    op.execute(
        sa.text(
            "INSERT INTO registry_stamp (id, version, changed_at) VALUES (1, 0, :now)"
        ).bindparams(sa.bindparam("now", datetime.now(UTC), type_=sa.DateTime(timezone=True)))
    )


def _admin_data() -> list[str]:
    """What dropping the tables would destroy beyond the untouched seed: ["audit entries: 3"]."""
    bind = op.get_bind()
    models = sa.table(
        "ai_models",
        sa.column("source", sa.String()),
        sa.column("status", sa.String()),
        sa.column("admin_notes", sa.Text()),
        sa.column("updated_by", sa.Uuid()),
        sa.column("display_name_edited", sa.Boolean()),
        sa.column("description_edited", sa.Boolean()),
    )
    shaped = sa.or_(
        models.c.source != "curated",
        models.c.status != "enabled",
        models.c.admin_notes.is_not(None),
        models.c.updated_by.is_not(None),
        models.c.display_name_edited.is_(True),
        models.c.description_edited.is_(True),
    )
    counts = {
        "audit entries": sa.select(sa.func.count()).select_from(sa.table("audit_log")),
        "stored API keys": sa.select(sa.func.count()).select_from(sa.table("provider_keys")),
        "admin users": sa.select(sa.func.count()).select_from(sa.table("users")),
        "catalog entries discovered or changed since the seed": sa.select(sa.func.count())
        .select_from(models)
        .where(shaped),
    }
    held = [(bind.scalar(query) or 0, what) for what, query in counts.items()]
    return [f"{what}: {count}" for count, what in held if count]


def downgrade() -> None:
    held = _admin_data()
    if held:
        # CommandError: the alembic command line prints it as one line, and so does `migrate`.
        raise CommandError(
            f"refusing to drop the registry's tables, they hold admin data ({', '.join(held)}); "
            "back the database up and drop the tables by hand if that is really meant"
        )
    op.drop_table("provider_keys")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_provider_category"))
        batch_op.drop_index(batch_op.f("ix_audit_log_created_at"))

    op.drop_table("audit_log")
    op.drop_table("app_settings")
    with op.batch_alter_table("ai_models", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ai_models_status"))
        batch_op.drop_index(batch_op.f("ix_ai_models_provider_category"))

    op.drop_table("ai_models")
    op.drop_table("users")
    op.drop_table("registry_stamp")
    op.drop_table("fallback_counts")
    op.drop_table("discovery_state")
