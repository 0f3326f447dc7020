"""Try before you approve: Listen to the selected voices, Test the selected text models.

One call from each grid section (`try_selected`) draws the buttons under it, for the rows
ticked in that grid. Results stay in the session (per section) while the same rows are ticked,
so a rerun from another widget does not make an admin listen or pay again, and results never
show under a selection they were not made for. Provider calls go through
`registry.trial` (bounded, cached per voice, keys redacted); every failure is shown as the
registry words it. Tests are paid calls: each admin has `TEST_CALLS_PER_MINUTE` of them
(`registry.trial`) per minute, the confirmation shows how many a click will make, and several
models are tested at once within one deadline.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import streamlit as st

from registry.admin.ui_common import current_actor, say
from registry.admin.views import RowSnapshot, escape_markdown, model_label
from registry.errors import RegistryError
from registry.trial import (
    TEST_BUDGET,
    VoiceSample,
    test_text_models,
    voice_sample,
)
from registry.types import CatalogModel, Category

MAX_LISTEN = 5  # samples played at once: each is a provider call the first time
MAX_TEST = 20  # text models tested at once


@dataclass(frozen=True, slots=True)
class Heard:
    label: str
    sample: VoiceSample | None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Tested:
    label: str
    answer: str
    latency_ms: int | None
    error: str | None = None


def try_selected(
    category: Category, key: str, chosen: Sequence[RowSnapshot], models: Sequence[CatalogModel]
) -> None:
    """Listen (TTS) or Test (text) buttons for the `chosen` rows of a grid showing `models`."""
    by_id = {str(m.id): m for m in models}
    picked = [by_id[row.id] for row in chosen if row.id in by_id]
    if category is Category.TTS:
        _listen_panel(key, picked)
    else:
        _test_panel(key, picked)


def _ids(models: Sequence[CatalogModel]) -> tuple[str, ...]:
    return tuple(str(m.id) for m in models)


def _results(key: str, picked: Sequence[CatalogModel]) -> list[Any]:
    """The stored results of `key`, if they were made for the rows ticked now."""
    stored = st.session_state.get(key)
    if not stored or stored[0] != _ids(picked):
        return []
    return list(stored[1])


# --- voices ----------------------------------------------------------------------------------


def _listen(key: str, picked: Sequence[CatalogModel]) -> None:
    heard: list[Heard] = []
    for model in picked[:MAX_LISTEN]:
        try:
            heard.append(Heard(model_label(model), voice_sample(model)))
        except RegistryError as exc:
            heard.append(Heard(model_label(model), None, str(exc)))
    st.session_state[f"{key}-heard"] = (_ids(picked), heard)


def _listen_panel(key: str, picked: Sequence[CatalogModel]) -> None:
    more = f" (the first {MAX_LISTEN})" if len(picked) > MAX_LISTEN else ""
    st.button(
        f"Listen{more}",
        key=f"{key}-listen",
        on_click=_listen,
        args=(key, picked),
        disabled=not picked,
        help="Play a short sample of the selected voice(s): the provider's preview, or one "
        "sentence synthesised with the stored key.",
    )
    heard: list[Heard] = _results(f"{key}-heard", picked)
    for item in heard:
        st.caption(escape_markdown(item.label))
        if item.sample is None:
            say("error", item.error or "No sample.")
        else:
            st.audio(item.sample.audio, format=item.sample.mime)


# --- text models -----------------------------------------------------------------------------


def _limit_note(left: int, frees_in: float) -> str:
    limit = TEST_BUDGET.limit
    return (
        f"The test limit is {limit} calls a minute per admin; the next one is possible in "
        f"{math.ceil(frees_in)} s."
        if left == 0
        else f"{left} of {limit} test calls left this minute."
    )


def _test(key: str, picked: Sequence[CatalogModel], who: str) -> None:
    wanted = list(picked[:MAX_TEST])
    granted = TEST_BUDGET.take(who, len(wanted))
    if granted == 0:
        st.session_state[f"{key}-tested"] = (_ids(picked), [])
        st.session_state[f"{key}-limit"] = _limit_note(*TEST_BUDGET.left(who))
        return
    st.session_state.pop(f"{key}-limit", None)
    chosen = wanted[:granted]
    results = [
        Tested(model_label(model), "", None, str(outcome))
        if isinstance(outcome, RegistryError)
        else Tested(model_label(model), outcome.answer, outcome.latency_ms)
        for model, outcome in zip(chosen, test_text_models(chosen), strict=True)
    ]
    st.session_state[f"{key}-tested"] = (_ids(picked), results)


def _test_panel(key: str, picked: Sequence[CatalogModel]) -> None:
    who = current_actor().label
    left, frees_in = TEST_BUDGET.left(who)
    cols = st.columns([1, 1, 3])
    cols[0].button(
        "Test",
        key=f"{key}-test",
        on_click=_test,
        args=(key, picked, who),
        disabled=len(picked) != 1 or left == 0,
        help="Send the selected model one short prompt (a few tokens) and show its answer.",
    )
    count = min(len(picked), MAX_TEST, left)
    with cols[1].popover("Test selected", disabled=len(picked) < 2):
        if count:
            cut = f" (the first {count})" if count < len(picked) else ""
            st.write(f"Test {count} model{'' if count == 1 else 's'}?{cut}")
        st.caption(
            "Each gets one short prompt, all at once; the providers bill these few tokens. "
            + _limit_note(left, frees_in)
        )
        st.button(
            f"Yes, test {count}",
            type="primary",
            key=f"{key}-test-many",
            on_click=_test,
            args=(key, picked, who),
            disabled=count == 0,
        )
    limit = st.session_state.pop(f"{key}-limit", None)
    if limit:
        say("warning", limit)
    results: list[Tested] = _results(f"{key}-tested", picked)
    if len(results) == 1:
        only = results[0]
        if only.error:
            say("error", only.error)
        else:
            say("success", f"{only.label} answered in {only.latency_ms} ms:")
            st.text(only.answer or "(no text: the model used its tokens before answering)")
    elif results:
        st.dataframe(
            [
                {
                    "model": r.label,
                    "answer": r.answer,
                    "latency (ms)": r.latency_ms,
                    "error": r.error or "",
                }
                for r in results
            ],
            hide_index=True,
            width="stretch",
        )
