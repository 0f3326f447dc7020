"""Which listed models count as text (or TTS) models: one set of named rules for every adapter.

An application asks the registry for a model to write a story with, so a text model is one
that answers a plain text prompt with text. Listings say different amounts about that:
OpenRouter gives output modalities, Gemini the generation methods, Mistral capability flags,
OpenAI and xAI only an id. Each adapter turns what its listing says into `ListingFacts`; the
decision is made here, the same way for all of them:

A model is left out when any of these holds (each step only leaves models out; the order
picks the most telling reason):
1. the listing marks it retired, or its flags name a kind that is not a text model
   (Mistral's `ocr`, `moderation` …);
2. its id carries a marker of a `NOT_TEXT` rule, on every provider, so a music generator or a
   safety classifier is left out even where the listing calls its output text;
3. the listing says it does not generate text (no `generateContent`, no `completion_chat`,
   no `text` among its outputs);
4. it answers with something besides text (OpenRouter's `gpt-5-image` also draws);
5. the listing says nothing of what models do (OpenAI, xAI) and the id is outside the
   families the adapter knows: left out rather than guessed.

Every model left out gets a `Decision` naming the rule and the fact or marker that matched,
for the logs and the dry run. README.md, "Which listed models count as text models", states
the same rules in a table; `rule_table()` prints it.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cached_property
from typing import TypeVar

logger = logging.getLogger(__name__)

_TOKEN_SPLIT = re.compile(r"[-_./:\s]+")


@dataclass(frozen=True)
class Rule:
    """One named rule: what it matches (in words and as id markers) and why it holds.

    A marker is one or more id tokens separated by spaces (`computer use` matches the tokens
    `computer`, `use` in a row); `*` at either end of a token matches any letters there
    (`embed*`: `embed`, `embedding`; `*guard`: `guard`, `safeguard`). Ids are split into
    tokens at `-`, `_`, `.`, `/` and `:`, in lower case.
    """

    name: str
    matches: str
    why: str
    markers: tuple[str, ...] = ()
    # Providers whose own API refuses these models a plain prompt; empty: every provider.
    only_on: frozenset[str] = frozenset()

    def marker_in(self, tokens: tuple[str, ...]) -> str | None:
        """The first marker found in the id's tokens, or None."""
        found = self._pattern.search(" ".join(tokens)) if self.markers else None
        return self.markers[found.lastindex - 1] if found and found.lastindex else None

    def applies_to(self, provider: str) -> bool:
        return not self.only_on or provider in self.only_on

    @cached_property
    def _pattern(self) -> re.Pattern[str]:
        # One regex over the space-joined tokens, a group per marker (which one matched).
        return re.compile("|".join(f"(?:^| )({_marker_regex(m)})(?= |$)" for m in self.markers))


def _marker_regex(marker: str) -> str:
    words = []
    for word in marker.split():
        core = re.escape(word.strip("*"))
        words.append(
            (r"\S*" if word.startswith("*") else "") + core + (r"\S*" if word.endswith("*") else "")
        )
    return " ".join(words)


def id_tokens(model_id: str) -> tuple[str, ...]:
    """The tokens of a model id; a router's vendor prefix (`meta-llama/`) is not looked at."""
    name = model_id.rsplit("/", 1)[-1]
    return tuple(t for t in _TOKEN_SPLIT.split(name.lower()) if t)


# --- the rules --------------------------------------------------------------------------------

WITHDRAWN = Rule(
    "withdrawn",
    "the listing marks the model retired (Anthropic `lifecycle`) or archived (Mistral)",
    "requests naming it fail",
)
NO_TEXT_OUTPUT = Rule(
    "no-text-output",
    "the listing says the model does not generate text: Gemini without `generateContent`, "
    "Mistral without `capabilities.completion_chat`, OpenRouter without `text` in "
    "`architecture.output_modalities`",
    "it cannot answer a prompt with text",
)
UNKNOWN_FAMILY = Rule(
    "unknown-family",
    "OpenAI and xAI (ids only): an id outside the text families the adapter knows "
    "(`gpt-…`, `o3…`, `codex-…`, `grok-…`)",
    "a new kind of model is left out rather than guessed",
)
SPEECH = Rule(
    "speech",
    "text-to-speech models",
    "they answer with audio; listed under the tts category where the provider offers them",
    ("tts", "speech*", "voice*"),
)
# The kinds of model that are not text models, looked for in every provider's ids.
NOT_TEXT: tuple[Rule, ...] = (
    Rule(
        "embedding",
        "embedding models",
        "they return vectors, not text",
        ("embed*",),
    ),
    Rule(
        "rerank",
        "rerankers",
        "they return scores, not text",
        ("rerank*",),
    ),
    Rule(
        "video",
        "video generators",
        "they answer with video",
        ("video*", "veo", "sora"),
    ),
    Rule(
        "image",
        "image generators, also those that can answer in text as well (Nano Banana, "
        "`gpt-5-image`, `chatgpt-image-latest`)",
        "an application asking for a story model should not get a drawing model",
        ("imag*", "dall e", "nano banana"),
    ),
    Rule(
        "music",
        "music generators (Lyria)",
        "they answer with audio",
        ("lyria*", "music*"),
    ),
    SPEECH,
    Rule(
        "transcription",
        "speech-to-text models",
        "they take audio, not a text prompt",
        ("transcri*", "whisper*", "stt", "diariz*"),
    ),
    Rule(
        "audio",
        "audio-native chat (`gpt-audio`, `gpt-4o-audio-preview`, Gemini native audio)",
        "they need audio in or out",
        ("audio",),
    ),
    Rule(
        "realtime",
        "realtime and Live models",
        "they speak over a bidirectional session, not a request",
        ("realtime", "live"),
    ),
    Rule(
        "moderation",
        "moderation and safety classifiers (`omni-moderation`, `llama-guard`, "
        "`gpt-oss-safeguard`, Nemotron content safety)",
        "they classify content instead of writing it",
        ("moderation", "*guard", "content safety", "shieldgemma*", "classifier*"),
    ),
    Rule(
        "ocr",
        "OCR models",
        "they read documents; they do not write",
        ("ocr",),
    ),
    Rule(
        "computer-use",
        "computer-use models",
        "they drive a computer through a tool and refuse a plain prompt",
        ("computer use",),
    ),
    Rule(
        "robotics",
        "robotics models (Gemini Robotics-ER)",
        "they plan robot actions, not prose",
        ("robotics",),
    ),
    Rule(
        "attribution",
        "Gemini's attributed question answering (`aqa`)",
        "it answers from passages it is given, through `generateAnswer`",
        ("aqa",),
    ),
    Rule(
        "needs-tools",
        "deep-research models on OpenAI's and Google's own APIs",
        "they refuse a plain prompt: OpenAI requires a search tool, Google its Interactions "
        "API (OpenRouter serves Perplexity's and OpenAI's as plain chat, so they count there)",
        ("deep research",),
        only_on=frozenset({"openai", "google"}),
    ),
)
_RULES_BY_NAME = {rule.name: rule for rule in (*NOT_TEXT, WITHDRAWN, NO_TEXT_OUTPUT)}

# What an output modality other than text makes a model (OpenRouter's vocabulary).
_OUTPUT_RULES = {
    "image": "image",
    "video": "video",
    "audio": "audio",
    "speech": "speech",
    "embeddings": "embedding",
    "transcription": "transcription",
    "rerank": "rerank",
}


# --- the decision -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ListingFacts:
    """What a listing entry says about the model, in the terms the rules use.

    `generates_text`: True/False where the listing says (Gemini `generateContent`, Mistral
    `completion_chat`), None where it does not; `no_text_because` says which field said no.
    `outputs`: the output modalities, where listed (OpenRouter). `router`: the entry is a
    router that picks a model per request (OpenRouter's `tokenizer: "Router"`); the image its
    outputs mention comes from the model it picks for an image prompt. `kinds`: rule names
    the listing's own flags give (Mistral `ocr` → `"ocr"`), each with the flag that said so.
    `withdrawn`: why the listing says requests naming the model fail, if it does.
    """

    generates_text: bool | None = None
    no_text_because: str = ""
    outputs: frozenset[str] | None = None
    router: bool = False
    kinds: Mapping[str, str] = field(default_factory=dict)
    withdrawn: str | None = None


NO_FACTS = ListingFacts()


@dataclass(frozen=True)
class Decision:
    """Whether a listed model is kept, and for one left out, the rule and the reason."""

    keep: bool
    rule: str = ""
    reason: str = ""


KEEP = Decision(True)


def _left_out(rule: Rule, reason: str) -> Decision:
    return Decision(False, rule.name, f"{rule.name}: {reason}")


def _fact_decision(facts: ListingFacts) -> Decision | None:
    """What the listing's own flags say of the model's kind."""
    if facts.withdrawn:
        return _left_out(WITHDRAWN, facts.withdrawn)
    kind = next(iter(facts.kinds), None)
    if kind is not None:
        return _left_out(_RULES_BY_NAME[kind], facts.kinds[kind])
    return None


def _no_text_decision(facts: ListingFacts) -> Decision | None:
    if facts.generates_text is False:
        return _left_out(NO_TEXT_OUTPUT, facts.no_text_because or "the listing says so")
    return None


def _marker_decision(provider: str, tokens: tuple[str, ...]) -> Decision | None:
    for rule in NOT_TEXT:
        if not rule.applies_to(provider):
            continue
        marker = rule.marker_in(tokens)
        if marker is not None:
            return _left_out(rule, f"the id says `{marker.replace(' ', '-')}`")
    return None


def _output_decision(facts: ListingFacts) -> Decision | None:
    if facts.outputs is None:
        return None
    if "text" not in facts.outputs:
        shown = ", ".join(sorted(facts.outputs)) or "nothing"
        return _left_out(NO_TEXT_OUTPUT, f"it answers with {shown}, not text")
    if facts.router:
        return None
    besides = sorted(facts.outputs - {"text"})
    if not besides:
        return None
    rule = _RULES_BY_NAME.get(_OUTPUT_RULES.get(besides[0], ""), NO_TEXT_OUTPUT)
    return _left_out(rule, f"it answers with {besides[0]} as well as text")


def text_decision(
    provider: str,
    model_id: str,
    facts: ListingFacts = NO_FACTS,
    *,
    family: re.Pattern[str] | None = None,
) -> Decision:
    """Whether `model_id` counts as a text model (the rules in the module docstring).

    `family`, for listings that carry ids only, matches the lower-case ids of the text
    families the adapter knows; an id it does not match is left out.
    """
    tokens = id_tokens(model_id)
    # Every step only leaves models out; the order picks the most telling reason.
    decision = (
        _fact_decision(facts)
        or _marker_decision(provider, tokens)
        or _no_text_decision(facts)
        or _output_decision(facts)
    )
    if decision is not None:
        return decision
    if family is not None and not family.search(model_id.lower()):
        return _left_out(UNKNOWN_FAMILY, "the id names no text family the rules know")
    return KEEP


def tts_decision(provider: str, model_id: str, facts: ListingFacts = NO_FACTS) -> Decision:
    """Whether `model_id` is a text-to-speech model: the `speech` rule's `tts` marker and no
    other kind (a realtime, audio-chat or transcription model that mentions tts is not one);
    where the listing says whether it generates (Gemini's `generateContent`), it must."""
    fact = _fact_decision(facts) or _no_text_decision(facts)
    if fact is not None:
        return fact
    tokens = id_tokens(model_id)
    if "tts" not in tokens:
        return Decision(False, "not-tts", "not-tts: the id does not say `tts`")
    for rule in NOT_TEXT:
        marker = rule.marker_in(tokens) if rule is not SPEECH else None
        if marker is not None:
            return _left_out(rule, f"the id says `{marker.replace(' ', '-')}`")
    return KEEP


# --- applying the decision to a listing -------------------------------------------------------

Entry = TypeVar("Entry")

# The reasons of the listing in progress on this thread (see `collecting_left_out`).
_left_out_reasons: ContextVar[dict[str, str] | None] = ContextVar("left_out", default=None)


@contextmanager
def collecting_left_out() -> Iterator[dict[str, str]]:
    """Collect `{model id: reason}` for every model `kept_entries` leaves out inside the block
    (the adapter call hands them to its `ProviderListing.left_out`, for the dry run)."""
    reasons: dict[str, str] = {}
    token = _left_out_reasons.set(reasons)
    try:
        yield reasons
    finally:
        _left_out_reasons.reset(token)


def kept_entries(
    provider: str,
    category: str,
    entries: Iterable[Entry],
    decide: Callable[[Entry], tuple[str, Decision]],
) -> list[Entry]:
    """The entries `decide` keeps, in listing order; the others are logged with their reason.

    `decide` returns the entry's id and its decision. One INFO line counts what each rule
    left out; each model left out gets a DEBUG line with its reason.
    """
    kept: list[Entry] = []
    left_out: Counter[str] = Counter()
    reasons = _left_out_reasons.get()
    for entry in entries:
        model_id, decision = decide(entry)
        if decision.keep:
            kept.append(entry)
            continue
        left_out[decision.rule] += 1
        if reasons is not None:
            reasons.setdefault(model_id, decision.reason)
        logger.debug("%s: %s left out of %s (%s)", provider, model_id, category, decision.reason)
    if left_out:
        counts = ", ".join(f"{rule} {n}" for rule, n in sorted(left_out.items()))
        logger.info("%s: left out of %s by rule: %s", provider, category, counts)
    return kept


def left_out_summary(category: str, left_out: Mapping[str, str]) -> str:
    """One line for an admin: how many listed models each rule left out of `category`."""
    counts = Counter(reason.split(":", 1)[0] for reason in left_out.values())
    by_rule = ", ".join(f"{rule} {n}" for rule, n in sorted(counts.items()))
    return f"left out {len(left_out)} listed models that are not {category} models ({by_rule})"


def rule_table() -> str:
    """The rules as the Markdown table in README.md."""
    rows = ["| Rule | Left out | Why | Id markers |", "|---|---|---|---|"]
    for rule in (WITHDRAWN, NO_TEXT_OUTPUT, *NOT_TEXT, UNKNOWN_FAMILY):
        markers = ", ".join(f"`{m.replace(' ', '-')}`" for m in rule.markers) or "—"
        rows.append(f"| `{rule.name}` | {rule.matches} | {rule.why} | {markers} |")
    return "\n".join(rows)
