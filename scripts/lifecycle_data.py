"""Write registry/datasets/lifecycle.json: retirement dates and successors for our providers.

The source is LiteLLM's cost map (MIT), the JSON file the `litellm` wheel bundles. The wheel is
fetched with `pip download` and read as a zip file: litellm is never imported or installed, and
the registry never depends on it. Run it with `make lifecycle-data` (README "Where retirement
dates come from"); bump LITELLM_VERSION and LITELLM_RELEASED together.

Which entries map to which of our providers:
- `openai` and `text-completion-openai` → openai (chat, completion and responses models are
  text; `audio_speech` ones are TTS). Image sizes (`1024-x-1024/…`), fine-tune bases (`ft:…`),
  realtime, transcription, embedding and image models are none of our categories.
- `gemini` (the Gemini API, which our google adapter calls) → google. Vertex AI entries are left
  out: the same Gemini ids retire there on other dates (gemini-2.5-flash: 2026-10-20 on Vertex,
  2026-12-01 on the Gemini API).
- `anthropic`, `mistral`, `xai`, `openrouter` → the same names, the `provider/` prefix dropped.
- ElevenLabs and Azure: our adapters list voices, while the map's `elevenlabs` entries are
  speech models and its `azure` ones are Azure OpenAI deployments, so nothing maps.
A model id whose speech token (`tts`) shows it to be a speech model is TTS whatever the map's
`mode` says (it files gemini-2.5-pro-preview-tts under chat).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from registry.prices import is_speech_model

LITELLM_VERSION = "1.110.2"
# The release's upload date as the package index lists it: the wheel's own file dates are
# fixed at 1980 (reproducible builds), and the map carries no date of its own.
LITELLM_RELEASED = "2026-11-20"
MAP_PATH = "litellm/model_prices_and_context_window_backup.json"
LICENCE = "MIT"
OUTPUT = Path(__file__).resolve().parent.parent / "registry" / "datasets" / "lifecycle.json"

# The map's `litellm_provider` → (our provider, the key prefix its ids may carry).
PROVIDERS: dict[str, tuple[str, str]] = {
    "openai": ("openai", "openai/"),
    "text-completion-openai": ("openai", "openai/"),
    "gemini": ("google", "gemini/"),
    "anthropic": ("anthropic", "anthropic/"),
    "mistral": ("mistral", "mistral/"),
    "xai": ("xai", "xai/"),
    "openrouter": ("openrouter", "openrouter/"),
}
# DESIGN's providers of each category: the map's mistral speech models are not one of ours.
CATEGORY_PROVIDERS: dict[str, frozenset[str]] = {
    "text": frozenset({"openai", "google", "anthropic", "mistral", "xai", "openrouter"}),
    "tts": frozenset({"openai", "google", "elevenlabs", "azure"}),
}
TEXT_MODES = frozenset({"chat", "completion", "responses"})
SPEECH_MODE = "audio_speech"
_URL = re.compile(r"https?://\S+")


def _category(mode: Any, model_id: str) -> str | None:
    if is_speech_model(model_id) or mode == SPEECH_MODE:
        return "tts"
    return "text" if mode in TEXT_MODES else None


def _our_id(key: str, prefix: str) -> str | None:
    """The map's key as our model id, or None for keys that name no listed model."""
    model_id = key.removeprefix(prefix)
    if not model_id or model_id.startswith("ft:"):
        return None
    # OpenRouter ids are `vendor/model`; any other remaining slash is an image size or a
    # quality tier (`high/1024-x-1024/gpt-image-1`), not a model.
    if prefix != "openrouter/" and "/" in model_id:
        return None
    return model_id


def _iso_date(value: Any) -> str | None:
    try:
        return date.fromisoformat(value).isoformat() if isinstance(value, str) else None
    except ValueError:
        return None


def map_entries(cost_map: Mapping[str, Any]) -> dict[str, dict[str, dict[str, dict[str, Any]]]]:
    """`{category: {provider: {model_id: {retires_at, successor, source_url}}}}` for our
    providers: the entries that carry a retirement date or a successor, ids mapped to ours.

    Keys are read in sorted order and the first dated entry of an id wins, so a run on the same
    map always writes the same file.
    """
    found: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
    for key in sorted(cost_map):
        entry = cost_map[key]
        if not isinstance(entry, dict):
            continue
        ours = PROVIDERS.get(entry.get("litellm_provider", ""))
        if ours is None:
            continue
        provider, prefix = ours
        model_id = _our_id(key, prefix)
        retires_at = _iso_date(entry.get("deprecation_date"))
        successor = entry.get("successor_model")
        successor = _our_id(successor, prefix) if isinstance(successor, str) else None
        if model_id is None or (retires_at is None and successor is None):
            continue
        category = _category(entry.get("mode"), model_id)
        if category is None or provider not in CATEGORY_PROVIDERS[category]:
            continue
        models = found.setdefault(category, {}).setdefault(provider, {})
        known = models.get(model_id)
        if known is not None and (known["retires_at"] or not retires_at):
            continue
        url = entry.get("deprecation_source")
        models[model_id] = {
            "retires_at": retires_at,
            "successor": successor,
            "source_url": url if isinstance(url, str) and _URL.fullmatch(url) else None,
        }
    return {
        c: {p: dict(sorted(m.items())) for p, m in sorted(ps.items())} for c, ps in found.items()
    }


def lifecycle_document(cost_map: Mapping[str, Any], version: str, released: str) -> dict[str, Any]:
    return {
        "dataset": {
            "name": "litellm",
            "version": version,
            "date": released,
            "licence": LICENCE,
            "file": MAP_PATH,
        },
        "models": map_entries(cost_map),
    }


def read_cost_map(wheel: Path) -> dict[str, Any]:
    with zipfile.ZipFile(wheel) as archive:
        data: dict[str, Any] = json.loads(archive.read(MAP_PATH))
    return data


def download_wheel(version: str, folder: Path) -> Path:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            f"litellm=={version}",
            "--no-deps",
            "--only-binary",
            ":all:",
            "--quiet",
            "-d",
            str(folder),
        ],
        check=True,
    )
    return next(folder.glob(f"litellm-{version}-*.whl"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help="a litellm wheel already downloaded")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel or download_wheel(LITELLM_VERSION, Path(tmp))
        document = lifecycle_document(read_cost_map(wheel), LITELLM_VERSION, LITELLM_RELEASED)
    args.output.write_text(json.dumps(document, indent=1, sort_keys=False) + "\n")
    counts = {
        f"{category}/{provider}": len(models)
        for category, providers in document["models"].items()
        for provider, models in providers.items()
    }
    print(f"wrote {args.output}: {counts}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
