"""One exception tree, rooted in `RegistryError`. Messages are written for the person who acts."""

from __future__ import annotations


class RegistryError(Exception):
    """Base of every error the registry raises on purpose."""


class InvalidInputError(RegistryError, ValueError):
    """A caller or admin passed something the registry cannot accept (unknown status, bad id…)."""


class ModelNotFoundError(RegistryError, LookupError):
    """No catalog entry matches the id or provider/model given."""


class AmbiguousModelError(InvalidInputError):
    """A provider/model names more than one entry (text and TTS); the category must be given."""


class LifecycleError(RegistryError):
    """A change would break a lifecycle rule (e.g. disabling the current default)."""


class ModelNotEnabledError(RegistryError):
    """An explicit override named a model that is pending or disabled."""


class NoAvailableModelError(RegistryError):
    """Resolution ran out of fallbacks: nothing enabled for the provider and no usable config."""


class ConfigurationError(RegistryError):
    """A setting (named in the message) is unusable: a bad database URL, an unwritable folder."""


class DatabaseError(RegistryError):
    """The database refused or could not complete an operation; nothing was changed."""


class DatabaseUnavailableError(DatabaseError):
    """The database could not be reached or did not answer; retrying later may work."""


class DatabaseBusyError(DatabaseUnavailableError):
    """Another change held a lock longer than the busy timeout; try again."""


class SecretKeyError(RegistryError):
    """The encryption key for stored API keys is missing, malformed or does not match."""


class ProviderError(RegistryError):
    """A provider listing failed. Messages never contain API keys."""

    def __init__(self, provider: str, message: str) -> None:
        super().__init__(f"{provider}: {message}")
        self.provider = provider
        self.detail = message


class MissingKeyError(ProviderError):
    """No API key is configured for the provider (neither stored nor in the environment)."""


def missing_key_message(provider: str, env: str) -> str:
    """What a `MissingKeyError` says: where to add the key (`env`: its variable)."""
    extra = " and AZURE_SPEECH_REGION" if provider == "azure" else ""
    return f"no API key configured: add one on the API keys page or set {env}{extra}"


class KeyRejectedError(ProviderError):
    """The provider answered 401/403 to the configured key."""


class ProviderRateLimitedError(ProviderError):
    """The provider answered 429; `retry_after` is in seconds when the provider said."""

    def __init__(self, provider: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(provider, message)
        self.retry_after = retry_after


class ProviderTimeoutError(ProviderError):
    """The provider did not answer in time."""


class ProviderServerError(ProviderError):
    """The provider answered with a 5xx or could not be reached."""


class ProviderUnreachableError(ProviderServerError):
    """No HTTP answer at all: connection refused, DNS failure, TLS or network error."""


class MalformedResponseError(ProviderError):
    """The provider answered, but not in the shape its API documents."""
