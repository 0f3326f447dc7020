"""The dashboard's other pages: API keys, Settings, Activity (the Overview: ui_overview)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

import streamlit as st

from registry.admin.timefmt import now_utc
from registry.admin.ui_common import (
    Kind,
    attempt,
    current_actor,
    flash,
    say,
    show_flashes,
    signed_in_export,
)
from registry.admin.ui_models import model_management
from registry.admin.ui_quick import quick_actions
from registry.admin.ui_rules import export_section, import_section, rules_section
from registry.admin.views import (
    activity_csv,
    activity_rows,
    escape_markdown,
    label,
    model_label,
    models_csv,
)
from registry.audit import Actor, list_audit_entries
from registry.discovery import KeyCheck, KeyVerdict, check_api_key
from registry.errors import RegistryError
from registry.keys import delete_api_key, list_key_status, set_api_key
from registry.settings import MAX_TOKENS_LIMIT, get_global_config, set_global_config
from registry.store import ModelFilter, get_default_models, list_models
from registry.types import ALL_PROVIDERS, PROVIDERS, Category, ModelStatus


def text_models_page() -> None:
    model_management(Category.TEXT, quick_actions)


def tts_models_page() -> None:
    model_management(Category.TTS, quick_actions)


# --- API keys ------------------------------------------------------------------------------


def _categories_of(provider: str) -> str:
    return ", ".join(c.value for c in Category if provider in PROVIDERS[c])


def api_keys_page() -> None:
    actor = current_actor()
    st.title("API keys")
    st.caption(
        "Keys are stored encrypted and shown only masked; a stored key takes precedence over "
        "the environment variable. The dashboard never shows a key back."
    )
    show_flashes()
    statuses = list_key_status()
    st.dataframe(
        [
            {
                "provider": s.provider,
                "used for": _categories_of(s.provider),
                "key": s.masked or "not configured",
                "source": {"stored": "stored here", "environment": f"from {s.env_var}"}.get(
                    s.source or "", ""
                ),
            }
            for s in statuses
        ],
        hide_index=True,
        width="stretch",
    )
    provider = st.selectbox(
        "Provider", ALL_PROVIDERS, key="keys-provider", on_change=_forget_typed_key
    )
    status = next(s for s in statuses if s.provider == provider)
    st.subheader(f"Set or replace the {provider} key")
    # A saved key is cleared from the field (see `_save_key`); a tested one stays for saving.
    with st.form("key-form"):
        st.text_input(
            "API key", type="password", key="keys-new-key", placeholder="Paste the key here"
        )
        if provider == "azure":
            st.text_input("Azure Speech region", key="keys-region", placeholder="e.g. westeurope")
        cols = st.columns([1, 1, 3])
        cols[0].form_submit_button(
            "Save key", type="primary", on_click=_save_key, args=(provider, actor)
        )
        cols[1].form_submit_button("Test this key", on_click=_test_typed_key, args=(provider,))
    _confirm_untrusted_save(provider, actor)
    st.subheader(f"The {provider} key in use")
    origin = "stored here" if status.source == "stored" else f"from {status.env_var}"
    st.write(
        escape_markdown(
            f"{status.masked} ({origin})"
            if status.configured
            else f"No key configured (neither stored here nor in {status.env_var})."
        )
    )
    cols = st.columns([1, 1, 3])
    cols[0].button(
        "Test saved key",
        key="keys-test-saved",
        disabled=not status.configured,
        on_click=_test_saved_key,
        args=(provider,),
        help="Lists the provider's models once with the key in use; changes nothing.",
    )
    cols[1].button(
        "Remove stored key",
        key="keys-remove",
        disabled=status.source != "stored",
        on_click=_remove_key,
        args=(provider, actor),
    )


def _forget_typed_key() -> None:
    """A key typed for one provider is never saved or tested as another's."""
    st.session_state["keys-new-key"] = ""
    st.session_state.pop(KEY_CONFIRM_KEY, None)


# The verdict of the last "Test this key": (provider, digest of the typed key, check). Only a
# digest is kept, so the verdict follows the key without a second copy of it in the session.
KEY_VERDICT_KEY = "keys-last-verdict"
KEY_CONFIRM_KEY = "keys-confirm-save"  # the provider whose untrusted key awaits "Save anyway"


def _digest(key: str) -> str:
    return hashlib.sha256(key.strip().encode()).hexdigest()


def _untrusted_check(provider: str, key: str) -> KeyCheck | None:
    """The last test's verdict on this very key when it was anything but "works"."""
    remembered = st.session_state.get(KEY_VERDICT_KEY)
    if not remembered or remembered[:2] != (provider, _digest(key)):
        return None
    check: KeyCheck = remembered[2]
    return None if check.verdict is KeyVerdict.WORKS else check


def _confirm_untrusted_save(provider: str, actor: Actor) -> None:
    """Save asks again when the typed key's test did not say "works" (README, API keys)."""
    if st.session_state.get(KEY_CONFIRM_KEY) != provider:
        return
    key = str(st.session_state.get("keys-new-key") or "")
    check = _untrusted_check(provider, key)
    if check is None:  # the key was retyped or the verdict changed meanwhile
        st.session_state.pop(KEY_CONFIRM_KEY, None)
        return
    say(
        "warning",
        f'The last test of this key said "{check.verdict.value}": '
        f"{key_check_message(provider, check)} Save it anyway?",
    )
    cols = st.columns([1, 1, 3])
    cols[0].button(
        f"Save the {provider} key anyway",
        key="keys-save-anyway",
        on_click=_save_key,
        args=(provider, actor, True),
    )
    cols[1].button(
        "Cancel",
        key="keys-save-cancel",
        on_click=st.session_state.pop,
        args=(KEY_CONFIRM_KEY, None),
    )


def _save_key(provider: str, actor: Actor, confirmed: bool = False) -> None:
    key = str(st.session_state.get("keys-new-key") or "")
    if not confirmed and _untrusted_check(provider, key) is not None:
        st.session_state[KEY_CONFIRM_KEY] = provider
        return
    st.session_state.pop(KEY_CONFIRM_KEY, None)
    region = str(st.session_state.get("keys-region") or "") if provider == "azure" else ""
    try:
        masked = set_api_key(provider, key, region=region or None, actor=actor)
    except RegistryError as exc:
        flash("error", f"The key was not saved: {exc}")  # the typed key stays to fix it
        return
    _forget_typed_key()  # never kept once saved
    flash("success", f"Saved the {provider} key ({masked}).")


def _test_typed_key(provider: str) -> None:
    key = str(st.session_state.get("keys-new-key") or "").strip()
    if not key:
        flash("warning", "Paste a key to test it, or use Test saved key below.")
        return
    check = _test_key(provider, key)
    if check is not None:
        st.session_state[KEY_VERDICT_KEY] = (provider, _digest(key), check)
        st.session_state.pop(KEY_CONFIRM_KEY, None)


KEY_CHECK_KINDS: dict[KeyVerdict, Kind] = {
    KeyVerdict.WORKS: "success",
    KeyVerdict.REJECTED: "error",
    KeyVerdict.UNREACHABLE: "warning",
    KeyVerdict.MISSING: "warning",
    KeyVerdict.FAILED: "warning",
}


def key_check_message(provider: str, check: KeyCheck) -> str:
    """What testing a key found; only a rejection says the key is bad."""
    if check.verdict is KeyVerdict.WORKS:
        return f"The key works: {provider} listed {check.models} model(s). Nothing was changed."
    if check.verdict is KeyVerdict.REJECTED:
        return f"The key did not work: {check.message}"
    if check.verdict is KeyVerdict.UNREACHABLE:
        return (
            f"Could not reach {provider}, so the key was not tested (a network problem, not "
            f"the key): {check.message}"
        )
    if check.verdict is KeyVerdict.MISSING:
        return f"No {provider} key to test: {check.message}"
    return f"{provider} answered, but not with its models; the key was not judged: {check.message}"


def _test_saved_key(provider: str) -> None:
    _test_key(provider, None)


def _test_key(provider: str, key: str | None) -> KeyCheck | None:
    try:
        check = check_api_key(provider, api_key=key)
    except RegistryError as exc:
        flash("error", f"The key could not be tested: {exc}")
        return None
    flash(KEY_CHECK_KINDS[check.verdict], key_check_message(provider, check))
    return check


def _remove_key(provider: str, actor: Actor) -> None:
    def act() -> str:
        if not delete_api_key(provider, actor=actor):
            return f"No {provider} key was stored."
        fallback = next(s for s in list_key_status() if s.provider == provider)
        tail = (
            f"; {fallback.env_var} from the environment applies again"
            if fallback.configured
            else ""
        )
        return f"Removed the stored {provider} key{tail}."

    attempt(act)


# --- settings ------------------------------------------------------------------------------


def settings_page() -> None:
    actor = current_actor()
    st.title("Settings")
    st.caption(
        "The application's global configuration. Only enabled models can be chosen; "
        "parameters are global (there are no per-model parameters)."
    )
    show_flashes()
    for category in Category:
        with st.container(border=True, key=f"settings-{category.value}"):
            _settings_form(category, actor)
    # Approval rules, export and import: registry.admin.ui_rules.
    with st.container(border=True, key="settings-rules"):
        rules_section(actor)
    with st.container(border=True, key="settings-transfer"):
        export_section()
        import_section(actor)


def _settings_form(category: Category, actor: Actor) -> None:
    title = "Text (stories)" if category is Category.TEXT else "Speech (TTS)"
    st.subheader(title)
    config = get_global_config(category)
    if config.provider and config.model:
        saved = f"Saved: {config.provider}/{config.model}"
        if category is Category.TEXT:
            unset = "unset"
            saved += f" · temperature {unset if config.temperature is None else config.temperature}"
            saved += f" · max tokens {unset if config.max_tokens is None else config.max_tokens}"
        st.caption(escape_markdown(saved))
    providers = list(PROVIDERS[category])
    prefix = f"settings-{category.value}"
    provider = st.selectbox(
        "Provider",
        providers,
        index=providers.index(config.provider) if config.provider in providers else 0,
        key=f"{prefix}-provider",
    )
    # Labelled by name (a voice with its locale and gender), so typing a name finds it.
    names = {
        m.model_id: model_label(m)
        for m in list_models(
            ModelFilter(category=category, provider=provider, status=ModelStatus.ENABLED)
        )
    }
    enabled = list(names)
    if config.provider == provider and config.model and config.model not in enabled:
        say(
            "warning",
            f"The saved model {provider}/{config.model} is not enabled any more; the application "
            "falls back to the provider's default. Choose an enabled model and save.",
        )
    if not enabled:
        say(
            "warning",
            f"{provider} has no enabled {category.value} models: approve one on the "
            f"{'Text' if category is Category.TEXT else 'TTS'} models page first.",
        )
    model = st.selectbox(
        "Model",
        enabled,
        index=enabled.index(config.model)
        if config.provider == provider and config.model in enabled
        else None,
        key=f"{prefix}-model",
        format_func=lambda m: names.get(m, label(f"{provider}/{m}")),
        placeholder="Choose an enabled model",
    )
    temperature: float | None = None
    max_tokens: int | None = None
    if category is Category.TEXT:
        cols = st.columns(2)
        temperature = cols[0].number_input(
            "Temperature",
            min_value=0.0,
            max_value=2.0,
            value=config.temperature if config.temperature is not None else 0.7,
            step=0.1,
            key=f"{prefix}-temperature",
        )
        max_tokens = cols[1].number_input(
            "Max tokens",
            min_value=1,
            max_value=MAX_TOKENS_LIMIT,
            value=config.max_tokens if config.max_tokens is not None else 4096,
            step=256,
            key=f"{prefix}-max-tokens",
        )
    if st.button(
        f"Save {category.value} settings",
        type="primary",
        key=f"{prefix}-save",
        disabled=not enabled,
    ):
        if not model:
            say("warning", "Choose a model first.")
            return
        try:
            saved_config = set_global_config(
                category,
                provider,
                model,
                temperature=temperature,
                max_tokens=max_tokens,
                actor=actor,
            )
        except RegistryError as exc:
            say("error", f"Not saved: {exc}")
            return
        flash(
            "success",
            f"Saved the {category.value} settings: {saved_config.provider}/{saved_config.model}.",
        )
        st.rerun()


# --- activity ------------------------------------------------------------------------------

ACTIONS = (
    "discovery",
    "login_failed",
    "status_change",
    "edit",
    "default_change",
    "archive",
    "unarchive",
    "successor",
    "setting",
    "key_set",
    "key_delete",
    "rule_change",
    "import",
)
ANY = "any"
# The Activity page's time filter: "last N days" counts back from now; "between dates" takes
# whole UTC days, both ends included.
PERIODS: dict[str, int | None] = {
    "any time": None,
    "last 24 hours": 1,
    "last 7 days": 7,
    "last 30 days": 30,
    "last 90 days": 90,
    "between dates": None,
}
BETWEEN = "between dates"


def activity_window(
    period: str, dates: Sequence[date], now: datetime
) -> tuple[datetime | None, datetime | None]:
    """(since, until) for `list_audit_entries` from the Activity page's time filter (UTC)."""
    if period == BETWEEN and dates:
        first, last = min(dates), max(dates)
        since = datetime.combine(first, time.min, tzinfo=UTC)
        return since, datetime.combine(last + timedelta(days=1), time.min, tzinfo=UTC)
    days = PERIODS.get(period)
    return (now - timedelta(days=days), None) if days else (None, None)


def activity_page() -> None:
    current_actor()
    st.title("Activity")
    st.caption("Every status change, default change, edit, setting and key change, newest first.")
    cols = st.columns([1, 1, 1, 1.3, 1.3, 0.8])
    provider = cols[0].selectbox("Provider", [ANY, *ALL_PROVIDERS], key="activity-provider")
    category = cols[1].selectbox(
        "Category", [ANY, *(c.value for c in Category)], key="activity-category"
    )
    action = cols[2].selectbox("Action", [ANY, *ACTIONS], key="activity-action")
    model = cols[3].text_input("Model id contains", key="activity-model", max_chars=200)
    actor = cols[4].text_input("Actor contains", key="activity-actor", max_chars=320)
    limit = cols[5].selectbox("Show at most", (100, 500, 1000, 5000), index=1, key="activity-limit")
    when = st.columns([1, 1.3, 3.4])
    period = when[0].selectbox("When", list(PERIODS), key="activity-period")
    dates: Sequence[date] = ()
    if period == BETWEEN:
        today = now_utc().date()
        picked = when[1].date_input(
            "From – to (UTC days)",
            value=(today - timedelta(days=6), today),
            max_value=today,
            key="activity-dates",
        )
        dates = picked if isinstance(picked, tuple) else (picked,)
    since, until = activity_window(period, [d for d in dates if d], now_utc())
    entries = list_audit_entries(
        provider=None if provider == ANY else provider,
        category=None if category == ANY else category,
        action=None if action == ANY else action,
        model=model.strip() or None,
        actor=actor.strip() or None,
        limit=int(limit),
        since=since,
        until=until,
    )
    st.caption(f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}")
    if entries:
        st.dataframe(activity_rows(entries), hide_index=True, width="stretch")
    else:
        st.info("No activity matches these filters.")
    # Exports are made on click, and only for a session that is still signed in then; the
    # file Streamlit serves for it is removed again soon after (see `signed_in_export`).
    downloads = st.columns(2)
    downloads[0].download_button(
        "Download this activity (CSV)",
        data=signed_in_export(lambda: activity_csv(entries)),
        file_name="registry-activity.csv",
        mime="text/csv",
        key="activity-csv",
        disabled=not entries,
    )
    downloads[1].download_button(
        "Download all models (CSV)",
        data=signed_in_export(
            lambda: models_csv(
                list_models(ModelFilter(include_archived=True)), get_default_models()
            )
        ),
        file_name="registry-models.csv",
        mime="text/csv",
        key="models-csv",
    )
