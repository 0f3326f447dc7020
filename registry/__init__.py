"""Model Registry: a database-driven catalog of AI text and speech models.

The main application needs three names::

    from registry import get_ai_model, get_ai_config_for_story, get_tts_model

Everything an admin tool needs is re-exported here too; submodules hold the details.
"""

from registry.audit import Actor, AuditRecord, ensure_user, list_audit_entries
from registry.catalog import CURATED, curated_default
from registry.db import Database, get_database, set_database
from registry.discovery import (
    DiscoveryReport,
    DiscoveryStatus,
    ProviderResult,
    check_api_key,
    discover_models,
    get_discovery_state,
)
from registry.errors import (
    AmbiguousModelError,
    DatabaseError,
    InvalidInputError,
    KeyRejectedError,
    LifecycleError,
    MalformedResponseError,
    MissingKeyError,
    ModelNotEnabledError,
    ModelNotFoundError,
    NoAvailableModelError,
    ProviderError,
    ProviderRateLimitedError,
    ProviderServerError,
    ProviderTimeoutError,
    RegistryError,
    SecretKeyError,
)
from registry.keys import KeyStatus, delete_api_key, get_api_key, list_key_status, set_api_key
from registry.resolution import (
    FallbackReason,
    ProviderStatus,
    ResolvedConfig,
    ResolvedModel,
    flush_fallback_counts,
    get_ai_config,
    get_ai_config_for_story,
    get_ai_model,
    get_fallback_counts,
    get_provider_status,
    get_tts_config,
    get_tts_config_for_story,
    get_tts_model,
    resolve,
)
from registry.settings import GlobalConfig, get_global_config, set_global_config
from registry.store import (
    EditReport,
    EditsRejectedError,
    ModelEdit,
    ModelFilter,
    apply_model_edits,
    archive_model,
    bulk_update_models,
    count_models,
    edit_model,
    get_default_model_for_provider,
    get_enabled_models_for_provider,
    get_model_by_id,
    get_model_by_provider_id,
    list_models,
    set_default_model,
    set_successor,
    unarchive_model,
    update_model_status,
    upsert_discovered_model,
    upsert_discovered_models,
)
from registry.types import (
    PROVIDERS,
    CatalogModel,
    Category,
    DiscoveredModel,
    ModelSource,
    ModelStatus,
    display_id,
)


def migrate(database: Database | None = None) -> None:
    """Upgrade the database to the newest revision (Alembic is imported only when needed)."""
    from registry.migrate import upgrade

    upgrade(database)


__all__ = [
    "CURATED",
    "PROVIDERS",
    "Actor",
    "AmbiguousModelError",
    "AuditRecord",
    "CatalogModel",
    "Category",
    "Database",
    "DatabaseError",
    "DiscoveredModel",
    "DiscoveryReport",
    "DiscoveryStatus",
    "EditReport",
    "EditsRejectedError",
    "FallbackReason",
    "GlobalConfig",
    "InvalidInputError",
    "KeyRejectedError",
    "KeyStatus",
    "LifecycleError",
    "MalformedResponseError",
    "MissingKeyError",
    "ModelEdit",
    "ModelFilter",
    "ModelNotEnabledError",
    "ModelNotFoundError",
    "ModelSource",
    "ModelStatus",
    "NoAvailableModelError",
    "ProviderError",
    "ProviderRateLimitedError",
    "ProviderResult",
    "ProviderServerError",
    "ProviderStatus",
    "ProviderTimeoutError",
    "RegistryError",
    "ResolvedConfig",
    "ResolvedModel",
    "SecretKeyError",
    "apply_model_edits",
    "archive_model",
    "bulk_update_models",
    "check_api_key",
    "count_models",
    "curated_default",
    "delete_api_key",
    "discover_models",
    "display_id",
    "edit_model",
    "ensure_user",
    "flush_fallback_counts",
    "get_ai_config",
    "get_ai_config_for_story",
    "get_ai_model",
    "get_api_key",
    "get_database",
    "get_default_model_for_provider",
    "get_discovery_state",
    "get_enabled_models_for_provider",
    "get_fallback_counts",
    "get_global_config",
    "get_model_by_id",
    "get_model_by_provider_id",
    "get_provider_status",
    "get_tts_config",
    "get_tts_config_for_story",
    "get_tts_model",
    "list_audit_entries",
    "list_key_status",
    "list_models",
    "migrate",
    "resolve",
    "set_api_key",
    "set_database",
    "set_default_model",
    "set_global_config",
    "set_successor",
    "unarchive_model",
    "update_model_status",
    "upsert_discovered_model",
    "upsert_discovered_models",
]
