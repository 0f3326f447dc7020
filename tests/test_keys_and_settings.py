"""Encrypted provider keys and the global configuration."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from registry.audit import list_audit_entries
from registry.db import Database
from registry.errors import InvalidInputError, LifecycleError, SecretKeyError
from registry.keys import (
    delete_api_key,
    get_api_key,
    get_credentials,
    list_key_status,
    mask_key,
    set_api_key,
)
from registry.schema import ProviderKey
from registry.settings import get_global_config, set_global_config
from registry.store import get_model_by_provider_id, update_model_status

SECRET = "sk-test-0123456789abcdefSECRET"


def test_stored_key_is_encrypted_at_rest_and_shown_only_masked(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    assert set_api_key("openai", f"  {SECRET}\n") == "…CRET"
    with database.read() as session:
        stored = session.scalar(select(ProviderKey.encrypted_key))
    assert stored is not None and SECRET not in stored
    assert get_api_key("openai") == SECRET
    status = {s.provider: s for s in list_key_status()}["openai"]
    assert (status.source, status.masked) == ("stored", "…CRET")
    entries = list_audit_entries(action="key_set")
    assert entries and all(SECRET not in (e.new_value or "") for e in entries)
    assert SECRET not in caplog.text


def test_lookup_order_is_stored_key_then_environment(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert get_api_key("mistral") is None
    monkeypatch.setenv("MISTRAL_API_KEY", "env-key-1234567890")
    assert get_api_key("mistral") == "env-key-1234567890"
    assert {s.provider: s.source for s in list_key_status()}["mistral"] == "environment"
    set_api_key("mistral", "stored-key-1234567890")
    assert get_api_key("mistral") == "stored-key-1234567890"
    assert delete_api_key("mistral") is True
    assert get_api_key("mistral") == "env-key-1234567890"
    assert delete_api_key("mistral") is False


def test_generated_secret_file_is_private(database: Database, tmp_path: Path) -> None:
    set_api_key("xai", SECRET)
    secret_file = tmp_path / "data" / "secret.key"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600


def test_a_changed_secret_key_says_so_without_leaking_the_api_key(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGISTRY_SECRET_KEY", Fernet.generate_key().decode())
    set_api_key("anthropic", SECRET)
    monkeypatch.setenv("REGISTRY_SECRET_KEY", Fernet.generate_key().decode())
    with pytest.raises(SecretKeyError) as error:
        get_api_key("anthropic")
    assert "set the key again" in str(error.value) and SECRET not in str(error.value)
    monkeypatch.setenv("REGISTRY_SECRET_KEY", "not-a-fernet-key")
    with pytest.raises(SecretKeyError, match="not a valid Fernet key"):
        get_api_key("anthropic")


@pytest.mark.parametrize("content", ["", "not a fernet key\n", "\xff\xfe garbage"])
def test_a_corrupt_or_empty_secret_file_is_named_and_left_alone(
    database: Database, tmp_path: Path, content: str
) -> None:
    set_api_key("openai", SECRET)
    secret_file = tmp_path / "data" / "secret.key"
    secret_file.write_bytes(content.encode("latin-1"))
    for attempt in (lambda: get_api_key("openai"), lambda: set_api_key("xai", SECRET)):
        with pytest.raises(SecretKeyError) as error:
            attempt()
        message = str(error.value)
        assert str(secret_file) in message and "REGISTRY_SECRET_KEY is" not in message
        assert "restore" in message and SECRET not in message
    assert secret_file.read_bytes() == content.encode("latin-1")


def test_a_deleted_secret_file_is_not_regenerated_while_keys_are_stored(
    database: Database, tmp_path: Path
) -> None:
    set_api_key("openai", SECRET)
    secret_file = tmp_path / "data" / "secret.key"
    secret_file.unlink()
    for attempt in (lambda: get_api_key("openai"), lambda: set_api_key("xai", SECRET)):
        with pytest.raises(SecretKeyError) as error:
            attempt()
        message = str(error.value)
        assert str(secret_file) in message and "REGISTRY_SECRET_KEY" in message
        assert "restore" in message and "keys delete" in message
    assert not secret_file.exists()
    [status] = [s for s in list_key_status() if s.provider == "openai"]
    assert status.source == "stored" and "cannot be decrypted" in (status.problem or "")
    # The documented way out: delete the stored keys and enter them again.
    assert delete_api_key("openai")
    set_api_key("openai", SECRET)
    assert get_api_key("openai") == SECRET and secret_file.exists()


def test_a_secret_key_from_the_variable_is_named_when_it_does_not_match(
    database: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    set_api_key("openai", SECRET)  # encrypted with the generated file
    monkeypatch.setenv("REGISTRY_SECRET_KEY", Fernet.generate_key().decode())
    with pytest.raises(SecretKeyError) as error:
        get_api_key("openai")
    assert "REGISTRY_SECRET_KEY" in str(error.value)
    assert str(tmp_path / "data" / "secret.key") not in str(error.value)


def test_keys_that_are_not_printable_ascii_are_rejected(database: Database) -> None:
    for key in ("sk-\x1b[2J0123456789", "sk-ключ-0123456789", "sk-\udcff0123456789"):
        with pytest.raises(InvalidInputError, match="printable ASCII"):
            set_api_key("openai", key)
    assert get_api_key("openai") is None


def test_bad_keys_and_regions_are_rejected(database: Database) -> None:
    with pytest.raises(InvalidInputError, match="empty"):
        set_api_key("openai", "   ")
    with pytest.raises(InvalidInputError, match="without spaces"):
        set_api_key("openai", "two words")
    with pytest.raises(InvalidInputError, match="unknown provider"):
        set_api_key("cohere", SECRET)
    with pytest.raises(InvalidInputError, match="only Azure"):
        set_api_key("openai", SECRET, region="westeurope")
    with pytest.raises(InvalidInputError, match="Azure region"):
        set_api_key("azure", SECRET, region="West Europe!")


def test_azure_credentials_carry_the_region(database: Database) -> None:
    set_api_key("azure", SECRET, region="westeurope")
    credentials = get_credentials("azure")
    assert credentials is not None and credentials.region == "westeurope"
    assert SECRET not in repr(credentials)


def test_short_keys_are_masked_without_revealing_characters() -> None:
    assert mask_key("abc123") == "…••••"


def test_global_config_accepts_only_enabled_models_and_sane_numbers(database: Database) -> None:
    config = set_global_config(
        "text", "anthropic", "claude-opus-4-6", temperature="0.3", max_tokens=800
    )
    assert (config.provider, config.model, config.temperature, config.max_tokens) == (
        "anthropic",
        "claude-opus-4-6",
        0.3,
        800,
    )
    with pytest.raises(InvalidInputError, match="between 0 and 2"):
        set_global_config("text", "openai", "gpt-4o", temperature=3)
    with pytest.raises(InvalidInputError, match="whole number"):
        set_global_config("text", "openai", "gpt-4o", max_tokens="lots")
    update_model_status(get_model_by_provider_id("openai", "gpt-4o", "text").id, "disabled")
    with pytest.raises(LifecycleError, match="must be enabled"):
        set_global_config("text", "openai", "gpt-4o")
    with pytest.raises(InvalidInputError, match="no temperature"):
        set_global_config("tts", "openai", "tts-1", temperature=1)
    assert get_global_config("text").model == "claude-opus-4-6"
    tts = set_global_config("tts", "azure", "en-US-GuyNeural")
    assert (tts.provider, tts.model, tts.temperature) == ("azure", "en-US-GuyNeural", None)


def test_a_secret_file_that_cannot_be_created_is_one_clear_error(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "not-a-folder").write_text("")
    monkeypatch.setenv("REGISTRY_DATA_DIR", str(tmp_path / "not-a-folder"))
    with pytest.raises(SecretKeyError, match=r"cannot create the secret key file .*not-a-folder"):
        set_api_key("openai", SECRET)
    assert get_api_key("openai") is None
