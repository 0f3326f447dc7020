"""Provider API keys: encrypted at rest with Fernet, shown only masked, never logged.

Lookup order at call time: the key stored in the database, then the environment variable.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select
from sqlalchemy.orm import Session

from registry import config
from registry.audit import SYSTEM, Actor, audit_row, write_audit
from registry.db import Database, get_database
from registry.errors import ConfigurationError, InvalidInputError, SecretKeyError
from registry.providers.base import Credentials
from registry.schema import AppSetting, ProviderKey, utcnow
from registry.store import upsert_setting
from registry.types import ALL_PROVIDERS, parse_provider

SECRET_FILE_NAME = "secret.key"
SECRET_ENV = "REGISTRY_SECRET_KEY"
AZURE_REGION_SETTING = "tts.azure.region"
_REGION = re.compile(r"^[a-z0-9-]{2,40}$")


def mask_key(key: str) -> str:
    """`…abcd`: enough to tell keys apart, useless to an attacker."""
    key = key.strip()
    return "…" + key[-4:] if len(key) >= 12 else "…" + "•" * 4


@dataclass(frozen=True, slots=True)
class _Secret:
    value: str
    path: Path | None  # the generated file it was read from; None for REGISTRY_SECRET_KEY
    given: bool = False  # Registry(secret_key=...) named it

    @property
    def origin(self) -> str:
        if self.given:
            return "the secret_key given to Registry()"
        return SECRET_ENV if self.path is None else f"the secret key file {self.path}"

    @property
    def remedy(self) -> str:
        if self.given:
            return "give Registry() the key the API keys were stored with"
        if self.path is None:
            return f"set {SECRET_ENV} to the key the API keys were stored with"
        return f"restore the file from a backup, or set {SECRET_ENV} to the key it held"


@lru_cache(maxsize=4)
def _fernet_for(secret: _Secret) -> Fernet:
    try:
        return Fernet(secret.value.encode())
    except (ValueError, TypeError):
        raise SecretKeyError(
            f"{secret.origin} is not a valid Fernet key (44 url-safe base64 characters, "
            f"as Fernet.generate_key() prints); {secret.remedy}"
        ) from None


def _stored_key_providers(database: Database | None = None) -> list[str]:
    with (database or get_database()).read() as session:
        return list(session.scalars(select(ProviderKey.provider).order_by(ProviderKey.provider)))


def _create_secret_file(path: Path) -> None:
    """Write a new key to `path` (mode 0600) in one step: a reader never sees it half-written."""
    config.ensure_data_dir(path.parent)
    fd, scratch = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(Fernet.generate_key().decode() + "\n")
        with contextlib.suppress(FileExistsError):  # another process made one first: use theirs
            os.link(scratch, path)
    finally:
        os.unlink(scratch)


def _secret_from_file(path: Path, database: Database | None = None) -> str:
    """Read the generated key, creating it on first use, but never while stored keys need the
    old one: a new key would leave them undecryptable for good."""
    if not path.exists():
        stored = _stored_key_providers(database)
        if stored:
            raise SecretKeyError(
                f"the secret key file {path} is missing, and the stored API keys of "
                f"{', '.join(stored)} were encrypted with it; restore the file from a backup or "
                f"set {SECRET_ENV} to the key it held, or delete those keys (`model-registry keys "
                "delete PROVIDER`) and enter them again"
            )
        try:
            _create_secret_file(path)
        except (OSError, ConfigurationError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else None
            raise SecretKeyError(
                f"cannot create the secret key file {path}: {reason or exc}; make the "
                f"folder writable (REGISTRY_DATA_DIR) or set {SECRET_ENV}"
            ) from None
    try:
        return path.read_bytes().decode("ascii").strip()
    except UnicodeDecodeError:
        return ""  # not a key: reported as such by _fernet_for
    except OSError as exc:
        raise SecretKeyError(f"cannot read the secret key file {path}: {exc.strerror}") from None


def _secret(database: Database | None = None) -> _Secret:
    from_env = config.setting(SECRET_ENV)
    if from_env:
        return _Secret(from_env.strip(), None)
    path = config.data_dir() / SECRET_FILE_NAME
    return _Secret(_secret_from_file(path, database), path)


def _fernet() -> Fernet:
    return _fernet_for(_secret())


def _mismatch(secret: _Secret) -> str:
    return (
        f"cannot be decrypted with the key in {secret.origin} (it was encrypted with another "
        f"one); {secret.remedy}, or set the key again"
    )


def _decrypt(
    provider: str, token: str, database: Database | None = None, secret_key: str | None = None
) -> str:
    secret = _Secret(secret_key.strip(), None, given=True) if secret_key else _secret(database)
    try:
        return _fernet_for(secret).decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretKeyError(f"the stored {provider} key {_mismatch(secret)}") from None


def _clean_key(key: str) -> str:
    key = (key or "").strip()
    if not key:
        raise InvalidInputError("the API key is empty")
    if len(key) > 4096 or any(ch.isspace() for ch in key):
        raise InvalidInputError("the API key must be one line without spaces (at most 4096 chars)")
    # Keys travel in HTTP headers: anything beyond printable ASCII is a paste accident.
    if not all("!" <= ch <= "~" for ch in key):
        raise InvalidInputError(
            "the API key must be printable ASCII (it holds a control or non-ASCII character)"
        )
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
    secret = _secret()
    token = _fernet_for(secret).encrypt(clean.encode()).decode()
    hint = mask_key(clean)
    now = utcnow()
    with get_database().write() as session:
        _refuse_another_secret(session, prov, secret)
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


def _refuse_another_secret(session: Session, provider: str, secret: _Secret) -> None:
    """One database, one secret: a key stored under another secret than the other stored keys
    would leave one of them undecryptable whichever secret is configured next."""
    others = {
        other: token
        for other, token in session.execute(
            select(ProviderKey.provider, ProviderKey.encrypted_key)
            .where(ProviderKey.provider != provider)
            .order_by(ProviderKey.provider)
        )
    }
    foreign = _decryption_problem(others, secret)
    if foreign:
        names = ", ".join(foreign)
        raise SecretKeyError(
            f"the stored API keys of {names} were encrypted with another secret than the key in "
            f"{secret.origin}; nothing was stored. Either {secret.remedy}, or delete those keys "
            f"first (`model-registry keys delete PROVIDER`) and enter them again"
        )


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


def get_api_key(
    provider: str, *, database: Database | None = None, secret_key: str | None = None
) -> str | None:
    """The stored key (in `database`, default: the default registry's, decrypted with
    `secret_key`, default: the process's secret), else the environment's; None when neither
    is configured."""
    prov = parse_provider(provider)
    with (database or get_database()).read() as session:
        token = session.scalar(
            select(ProviderKey.encrypted_key).where(ProviderKey.provider == prov)
        )
    if token is None:
        return config.environment_api_key(prov)
    return _decrypt(prov, token, database, secret_key)


def azure_region(*, database: Database | None = None) -> str | None:
    with (database or get_database()).read() as session:
        stored = session.scalar(
            select(AppSetting.value).where(AppSetting.key == AZURE_REGION_SETTING)
        )
    return stored or config.setting(config.AZURE_REGION_ENV)


def get_credentials(
    provider: str, *, database: Database | None = None, secret_key: str | None = None
) -> Credentials | None:
    """What an adapter needs, read at call time; None when no key is configured."""
    key = get_api_key(provider, database=database, secret_key=secret_key)
    if key is None:
        return None
    region = azure_region(database=database) if provider == "azure" else None
    return Credentials(api_key=key, region=region)


@dataclass(frozen=True, slots=True)
class KeyStatus:
    provider: str
    env_var: str
    source: str | None  # "stored", "environment" or None
    masked: str | None
    # Why a stored key is unusable ("cannot be decrypted …"); None when it works.
    problem: str | None = None

    @property
    def configured(self) -> bool:
        return self.source is not None


def _decryption_problem(tokens: dict[str, str], secret: _Secret | None = None) -> dict[str, str]:
    """Which stored keys `secret` (default: the current one) cannot decrypt, and why."""
    if not tokens:
        return {}  # nothing to check, and no reason to create a secret file
    try:
        secret = secret or _secret()
        fernet = _fernet_for(secret)
    except SecretKeyError as exc:
        return {provider: f"cannot be decrypted: {exc}" for provider in tokens}
    problems = {}
    for provider, token in tokens.items():
        try:
            fernet.decrypt(token.encode())
        except InvalidToken:
            problems[provider] = _mismatch(secret)
    return problems


def list_key_status() -> list[KeyStatus]:
    """Every provider's key state, masked; a stored key the secret cannot decrypt says so."""
    with get_database().read() as session:
        stored = {
            provider: (hint, token)
            for provider, hint, token in session.execute(
                select(ProviderKey.provider, ProviderKey.hint, ProviderKey.encrypted_key)
            )
        }
    problems = _decryption_problem({p: token for p, (_, token) in stored.items()})
    result = []
    for provider in ALL_PROVIDERS:
        env_var = config.PROVIDER_KEY_ENV[provider]
        if provider in stored:
            hint = stored[provider][0]
            result.append(KeyStatus(provider, env_var, "stored", hint, problems.get(provider)))
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
