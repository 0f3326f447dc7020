"""Global configuration of the application: which text and TTS model it uses by default.

Global only, as DESIGN.md says: no per-model parameters. Keys: `ai.provider`, `ai.model`,
`ai.temperature`, `ai.max_tokens`, `tts.provider`, `tts.model`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import select

from registry.audit import SYSTEM, Actor, audit_row, write_audit
from registry.db import get_database
from registry.errors import InvalidInputError, LifecycleError
from registry.schema import AIModel, AppSetting, utcnow
from registry.store import upsert_setting
from registry.types import Category, ModelStatus, display_id, parse_category, parse_provider

MAX_TOKENS_LIMIT = 2_000_000


@dataclass(frozen=True, slots=True)
class GlobalConfig:
    category: Category
    provider: str | None
    model: str | None
    temperature: float | None = None  # text only
    max_tokens: int | None = None  # text only


def _prefix(category: Category) -> str:
    return "ai" if category is Category.TEXT else "tts"


def get_settings() -> dict[str, str]:
    with get_database().read() as session:
        return {
            key: value for key, value in session.execute(select(AppSetting.key, AppSetting.value))
        }


def parse_temperature(value: object) -> float:
    try:
        number = float(str(value))
    except ValueError:
        raise InvalidInputError(f"temperature must be a number, got {value!r}") from None
    if not math.isfinite(number) or not 0.0 <= number <= 2.0:
        raise InvalidInputError(f"temperature must be between 0 and 2, got {value!r}")
    return number


def parse_max_tokens(value: object) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise InvalidInputError(f"max tokens must be a whole number, got {value!r}") from None
    if not 1 <= number <= MAX_TOKENS_LIMIT:
        raise InvalidInputError(f"max tokens must be between 1 and {MAX_TOKENS_LIMIT:,}")
    return number


def global_config_from(settings: dict[str, str], category: Category) -> GlobalConfig:
    """Read a GlobalConfig out of a settings dict; unreadable numbers count as unset."""
    prefix = _prefix(category)
    temperature: float | None = None
    max_tokens: int | None = None
    if category is Category.TEXT:
        try:
            temperature = parse_temperature(settings[f"{prefix}.temperature"])
        except (KeyError, InvalidInputError):
            temperature = None
        try:
            max_tokens = parse_max_tokens(settings[f"{prefix}.max_tokens"])
        except (KeyError, InvalidInputError):
            max_tokens = None
    return GlobalConfig(
        category=category,
        provider=settings.get(f"{prefix}.provider"),
        model=settings.get(f"{prefix}.model"),
        temperature=temperature,
        max_tokens=max_tokens,
    )


def get_global_config(category: Category | str) -> GlobalConfig:
    return global_config_from(get_settings(), parse_category(category))


def set_global_config(
    category: Category | str,
    provider: str,
    model: str,
    *,
    temperature: float | str | None = None,
    max_tokens: int | str | None = None,
    actor: Actor = SYSTEM,
) -> GlobalConfig:
    """Save the global config; the model must be enabled in the catalog."""
    cat = parse_category(category)
    prov = parse_provider(provider, cat)
    model = model.strip()
    values = {"provider": prov, "model": model}
    if cat is Category.TEXT:
        if temperature is not None:
            values["temperature"] = repr(parse_temperature(temperature))
        if max_tokens is not None:
            values["max_tokens"] = str(parse_max_tokens(max_tokens))
    elif temperature is not None or max_tokens is not None:
        raise InvalidInputError("TTS configuration has no temperature or max tokens")
    now = utcnow()
    prefix = _prefix(cat)
    with get_database().write() as session:
        status = session.scalar(
            select(AIModel.status).where(
                AIModel.provider == prov, AIModel.category == cat.value, AIModel.model_id == model
            )
        )
        if status != ModelStatus.ENABLED.value:
            state = "not in the catalog" if status is None else status
            raise LifecycleError(
                f"{display_id(prov, model)} is {state}; "
                f"the global {cat.value} model must be enabled"
            )
        current = {
            key: value
            for key, value in session.execute(
                select(AppSetting.key, AppSetting.value).where(
                    AppSetting.key.startswith(prefix + ".")
                )
            )
        }
        audit = []
        for name, value in values.items():
            key = f"{prefix}.{name}"
            if current.get(key) != value:
                upsert_setting(session, key, value, actor, now)
                audit.append(
                    audit_row(actor, "setting", field=key, old=current.get(key), new=value, at=now)
                )
        write_audit(session, audit)
    return get_global_config(cat)
