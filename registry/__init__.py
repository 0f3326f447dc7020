"""Model Registry: a database-driven catalog of AI text and speech models.

The main application needs three names::

    from registry import get_ai_model, get_ai_config_for_story, get_tts_model

They are a façade over `default_registry()`, a `Registry` built from the environment on first
use; `Registry(database_url=...)` is the same API on a database of the caller's choosing.

This module exports what the application and an admin tool need (the README's "The public
names" lists them); submodules hold the details, and `registry.testing` builds a registry for
the application's own tests. Importing the package has no side effects and loads neither
Streamlit, pandas nor a provider SDK; the discovery and key-management names are imported on
first use (PEP 562), so the application's resolution path does not pay for them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from registry.audit import Actor, AuditRecord, ensure_user, list_audit_entries
from registry.client import Registry, default_registry, set_default_registry
from registry.db import Database, get_database, set_database
from registry.errors import (
    AmbiguousModelError,
    ConfigurationError,
    DatabaseBusyError,
    DatabaseError,
    DatabaseUnavailableError,
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
from registry.resolution import (
    FallbackReason,
    ProviderStatus,
    ResolutionRule,
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
    preview_resolve,
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
)
from registry.types import PROVIDERS, CatalogModel, Category, ModelStatus, display_id
from registry.usage import FallbackUsage

if TYPE_CHECKING:
    from registry.approval_rules import (
        ApprovalRule,
        RuleAction,
        RuleSpec,
        add_approval_rule,
        list_approval_rules,
        move_approval_rule,
        remove_approval_rule,
        save_approval_rules,
        test_approval_rule,
    )
    from registry.discovery import (
        DiscoveryReport,
        DiscoveryStatus,
        KeyCheck,
        KeyVerdict,
        ProviderResult,
        check_api_key,
        discover_models,
        get_discovery_state,
    )
    from registry.keys import (
        KeyStatus,
        delete_api_key,
        get_api_key,
        list_key_status,
        set_api_key,
    )
    from registry.transfer import (
        ImportFileError,
        ImportReport,
        export_admin_state,
        import_admin_state,
    )

_LAZY = {
    **dict.fromkeys(
        [
            "DiscoveryReport",
            "DiscoveryStatus",
            "KeyCheck",
            "KeyVerdict",
            "ProviderResult",
            "check_api_key",
            "discover_models",
            "get_discovery_state",
        ],
        "registry.discovery",
    ),
    **dict.fromkeys(
        ["KeyStatus", "delete_api_key", "get_api_key", "list_key_status", "set_api_key"],
        "registry.keys",
    ),
    **dict.fromkeys(
        [
            "ApprovalRule",
            "RuleAction",
            "RuleSpec",
            "add_approval_rule",
            "list_approval_rules",
            "move_approval_rule",
            "remove_approval_rule",
            "save_approval_rules",
            "test_approval_rule",
        ],
        "registry.approval_rules",
    ),
    **dict.fromkeys(
        ["ImportFileError", "ImportReport", "export_admin_state", "import_admin_state"],
        "registry.transfer",
    ),
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "PROVIDERS",
    "Actor",
    "AmbiguousModelError",
    "ApprovalRule",
    "AuditRecord",
    "CatalogModel",
    "Category",
    "ConfigurationError",
    "Database",
    "DatabaseBusyError",
    "DatabaseError",
    "DatabaseUnavailableError",
    "DiscoveryReport",
    "DiscoveryStatus",
    "EditReport",
    "EditsRejectedError",
    "FallbackReason",
    "FallbackUsage",
    "GlobalConfig",
    "ImportFileError",
    "ImportReport",
    "InvalidInputError",
    "KeyCheck",
    "KeyRejectedError",
    "KeyStatus",
    "KeyVerdict",
    "LifecycleError",
    "MalformedResponseError",
    "MissingKeyError",
    "ModelEdit",
    "ModelFilter",
    "ModelNotEnabledError",
    "ModelNotFoundError",
    "ModelStatus",
    "NoAvailableModelError",
    "ProviderError",
    "ProviderRateLimitedError",
    "ProviderResult",
    "ProviderServerError",
    "ProviderStatus",
    "ProviderTimeoutError",
    "Registry",
    "RegistryError",
    "ResolutionRule",
    "ResolvedConfig",
    "ResolvedModel",
    "RuleAction",
    "RuleSpec",
    "SecretKeyError",
    "add_approval_rule",
    "apply_model_edits",
    "archive_model",
    "bulk_update_models",
    "check_api_key",
    "count_models",
    "default_registry",
    "delete_api_key",
    "discover_models",
    "display_id",
    "edit_model",
    "ensure_user",
    "export_admin_state",
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
    "import_admin_state",
    "list_approval_rules",
    "list_audit_entries",
    "list_key_status",
    "list_models",
    "move_approval_rule",
    "preview_resolve",
    "remove_approval_rule",
    "resolve",
    "save_approval_rules",
    "set_api_key",
    "set_database",
    "set_default_model",
    "set_default_registry",
    "set_global_config",
    "set_successor",
    "test_approval_rule",
    "unarchive_model",
    "update_model_status",
]

# Under load (README "Freshness"): async lookups that never block an event loop, and health.
from registry.keeper import RegistryHealth  # noqa: E402
from registry.resolution import (  # noqa: E402
    aget_ai_config_for_story,
    aget_ai_model,
    aget_tts_model,
    registry_health,
)

__all__ += [
    "RegistryHealth",
    "aget_ai_config_for_story",
    "aget_ai_model",
    "aget_tts_model",
    "registry_health",
]
