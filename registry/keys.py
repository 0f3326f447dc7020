"""Provider API keys: encrypted at rest with Fernet, shown only masked, never logged.

Lookup order at call time: the key stored in the database, then the environment variable.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select

from registry import config
from registry.audit import SYSTEM, Actor, audit_row, write_audit
from registry.db import get_database
from registry.errors import InvalidInputError, SecretKeyError
from registry.providers.base import Credentials
from registry.schema import AppSetting, ProviderKey, utcnow
from registry.store import upsert_setting
from registry.types import ALL_PROVIDERS, parse_provider

SECRET_FILE_NAME = "secret.key"
AZURE_REGION_SETTING = "tts.azure.region"
_REGION = re.compile(r"^[a-z0-9-]{2,40}$")


def mask_key(key: str) -> str:
    """`…abcd`: enough to tell keys apart, useless to an attacker."""
    key = key.strip()
    return "…" + key[-4:] if len(key) >= 12 else "…" + "•" * 4


@lru_cache(maxsize=4)
def _fernet_for(secret: str) -> Fernet:
    try:
        return Fernet(secret.encode())
    except (ValueError, TypeError):
        raise SecretKeyError(
            "REGISTRY_SECRET_KEY is not a valid Fernet key (44 url-safe base64 characters, "
            "as Fernet.generate_key() prints)"
        ) from None


def _secret_from_file(path: Path) -> str:
    """Read the generated key, creating it (mode 0600) on first use."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    config.ensure_data_dir(path.parent)
    secret = Fernet.generate_key().decode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(secret + "\n")
    return secret


def _fernet() -> Fernet:
    secret = config.setting("REGISTRY_SECRET_KEY") or _secret_from_file(
        config.data_dir() / SECRET_FILE_NAME
    )
    return _fernet_for(secret)


def _clean_key(key: str) -> str:
    key = (key or "").strip()
    if not key:
        raise InvalidInputError("the API key is empty")
    if len(key) > 4096 or any(ch.isspace() for ch in key):
        raise InvalidInputError("the API key must be one line without spaces (at most 4096 chars)")
    return key


def set_api_key(
    provider: str, key: str, *, region: str | None = None, actor: Actor = SYSTEM
) -> str:
    """Store (or replace) a provider's key; returns its masked form. Azure also takes a region."""
    prov = parse_provider(provider)
    clean = _clean_key(key)
    clean_region = None
    if region is not None and region.strip():
        clean_region = region.strip().lower()
        if prov != "azure":
            raise InvalidInputError("only Azure Speech keys take a region")
        if not _REGION.match(clean_region):
            raise InvalidInputError(f"not an Azure region name: {region!r} (e.g. westeurope)")
    token = _fernet().encrypt(clean.encode()).decode()
    hint = mask_key(clean)
    now = utcnow()
    with get_database().write() as session:
        row = session.get(ProviderKey, prov, with_for_update=True)
        old_hint = row.hint if row else None
        if row is None:
            session.add(ProviderKey(provider=prov, encrypted_key=token, hint=hint, updated_at=now))
        else:
            row.encrypted_key, row.hint, row.updated_at = token, hint, now
            row.updated_by = actor.user_id
        audit = [audit_row(actor, "key_set", provider=prov, old=old_hint, new=hint, at=now)]
        if clean_region is not None:
            upsert_setting(session, AZURE_REGION_SETTING, clean_region, actor, now)
            audit.append(
                audit_row(
                    actor,
                    "setting",
                    provider=prov,
                    field=AZURE_REGION_SETTING,
                    new=clean_region,
                    at=now,
                )
            )
        write_audit(session, audit)
    return hint


def delete_api_key(provider: str, *, actor: Actor = SYSTEM) -> bool:
    """Remove the stored key (the environment variable, if any, applies again)."""
    prov = parse_provider(provider)
    with get_database().write() as session:
        row = session.get(ProviderKey, prov, with_for_update=True)
        if row is None:
            return False
        write_audit(session, [audit_row(actor, "key_delete", provider=prov, old=row.hint)])
        session.delete(row)
        return True


def get_api_key(provider: str) -> str | None:
    """The stored key, else the environment's; None when neither is configured."""
    prov = parse_provider(provider)
    with get_database().read() as session:
        token = session.scalar(
            select(ProviderKey.encrypted_key).where(ProviderKey.provider == prov)
        )
    if token is None:
        return config.environment_api_key(prov)
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretKeyError(
            f"the stored {prov} key cannot be decrypted with the current secret key "
            "(REGISTRY_SECRET_KEY or data/secret.key changed); set the key again"
        ) from None


def azure_region() -> str | None:
    with get_database().read() as session:
        stored = session.scalar(
            select(AppSetting.value).where(AppSetting.key == AZURE_REGION_SETTING)
        )
    return stored or config.setting(config.AZURE_REGION_ENV)


def get_credentials(provider: str) -> Credentials | None:
    """What an adapter needs, read at call time; None when no key is configured."""
    key = get_api_key(provider)
    if key is None:
        return None
    return Credentials(api_key=key, region=azure_region() if provider == "azure" else None)


@dataclass(frozen=True, slots=True)
class KeyStatus:
    provider: str
    env_var: str
    source: str | None  # "stored", "environment" or None
    masked: str | None

    @property
    def configured(self) -> bool:
        return self.source is not None


def list_key_status() -> list[KeyStatus]:
    """Every provider's key state, masked; reads no ciphertext."""
    with get_database().read() as session:
        hints = {
            p: hint for p, hint in session.execute(select(ProviderKey.provider, ProviderKey.hint))
        }
    result = []
    for provider in ALL_PROVIDERS:
        env_var = config.PROVIDER_KEY_ENV[provider]
        if provider in hints:
            result.append(KeyStatus(provider, env_var, "stored", hints[provider]))
            continue
        env_key = config.environment_api_key(provider)
        result.append(
            KeyStatus(
                provider,
                env_var,
                "environment" if env_key else None,
                mask_key(env_key) if env_key else None,
            )
        )
    return result
