"""Write registry/datasets/catalog.json: the curated catalog, kept current by the datasets.

Input: scripts/curated_selection.json, the models we choose to curate per (category, provider)
and each one's default. The datasets then decide what ships (README "The curated catalog"):
- a model the lifecycle data (registry/datasets/lifecycle.json) says is retired on the day of the
  run is dropped, and its successor takes its place when the price dataset knows that model and
  it is of the same category (a speech model's id carries `tts`);
- the successor of every model that has a retirement date is curated too, so that resolution can
  move to it when the date passes;
- a default that is retired, or retires within DEFAULT_MARGIN_DAYS, is replaced by its successor;
  without one the run fails and a person chooses in the selection file;
- each model carries its retirement date, successor and prices (genai-prices, whose bundled data
  `registry.prices` reads), so that a fresh install shows them without the discovery extra.

Run with `make catalog-data` (after `make lifecycle-data` when the lifecycle data changed).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from registry import lifecycle, prices
from registry.types import Category

ROOT = Path(__file__).resolve().parent.parent
SELECTION = ROOT / "scripts" / "curated_selection.json"
OUTPUT = ROOT / "registry" / "datasets" / "catalog.json"
DEFAULT_MARGIN_DAYS = 14
PRICE_FIELDS = ("input_price_per_mtok", "output_price_per_mtok", "price_per_mchar")


def _dates(
    data: lifecycle.LifecycleDataset, category: Category, provider: str, model_id: str
) -> tuple[date | None, str | None]:
    entry = data.entry(provider, category, model_id)
    return (entry.retires_at, entry.successor) if entry else (None, None)


def _successor_fits(
    price_data: prices.PriceDataset, category: Category, provider: str, successor: str
) -> bool:
    if prices.is_speech_model(successor) != (category is Category.TTS):
        return False  # e.g. OpenAI names a realtime model as the successor of its TTS models
    return bool(price_data.prices(provider, category, successor))


def curate(
    group: dict[str, Any],
    data: lifecycle.LifecycleDataset,
    price_data: prices.PriceDataset,
    as_of: date,
    notes: list[str],
) -> dict[str, Any]:
    """One (category, provider) of the selection, brought up to the datasets on `as_of`."""
    category = Category(group["category"])
    provider = group["provider"]
    where = f"{category.value}/{provider}"
    chosen: list[dict[str, Any]] = []
    seen: set[str] = set()
    replaced: dict[str, str] = {}

    def add(model: dict[str, Any], *, reason: str | None = None) -> None:
        model_id = model["model_id"]
        if model_id in seen:
            return
        retires_at, successor = _dates(data, category, provider, model_id)
        fits = successor is not None and _successor_fits(price_data, category, provider, successor)
        if retires_at is not None and retires_at <= as_of:
            notes.append(f"{where}: dropped {model_id} (retired {retires_at})")
            if fits and successor is not None:
                replaced[model_id] = successor
                add({"model_id": successor}, reason=f"successor of {model_id}")
            return
        seen.add(model_id)
        if reason:
            notes.append(f"{where}: added {model_id} ({reason})")
        chosen.append(_entry(model, category, provider, retires_at, successor, price_data))
        if retires_at is not None and fits and successor is not None:
            add({"model_id": successor}, reason=f"successor of {model_id}")

    for model in group["models"]:
        add(model)
    default = group["default"]
    default = replaced.get(default, default)
    retires_at, successor = _dates(data, category, provider, default)
    if retires_at is not None and retires_at <= as_of + timedelta(days=DEFAULT_MARGIN_DAYS):
        if successor not in seen:
            raise SystemExit(f"{where}: the default {default} retires {retires_at}; choose another")
        notes.append(f"{where}: default {default} retires {retires_at}, now {successor}")
        default = successor
    if default not in seen:
        raise SystemExit(f"{where}: the default {default} is not among the curated models")
    return {
        "category": category.value,
        "provider": provider,
        "default": default,
        "models": chosen,
    }


def _entry(
    model: dict[str, Any],
    category: Category,
    provider: str,
    retires_at: date | None,
    successor: str | None,
    price_data: prices.PriceDataset,
) -> dict[str, Any]:
    model_id = model["model_id"]
    info = price_data.model_info(provider, model_id)
    stated = price_data.prices(provider, category, model_id)
    return {
        "model_id": model_id,
        "display_name": model.get("display_name") or (info and info.name) or model_id,
        "context_window": model.get("context_window") or (info and info.context_window) or None,
        "description": model.get("description"),
        "retires_at": retires_at.isoformat() if retires_at else None,
        "successor": successor,
        **{name: stated.get(name) for name in PRICE_FIELDS},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--as-of", type=date.fromisoformat, default=date.today())
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    price_data = prices.dataset()
    if price_data is None:
        print("genai-prices is not installed (pip install -e '.[discovery]')", file=sys.stderr)
        return 1
    data = lifecycle.dataset()
    selection = json.loads(SELECTION.read_text())
    notes: list[str] = []
    groups = [curate(g, data, price_data, args.as_of, notes) for g in selection["providers"]]
    document = {
        "generated": {
            "as_of": args.as_of.isoformat(),
            "lifecycle": data.source,
            "prices": price_data.source,
        },
        "providers": groups,
    }
    args.output.write_text(json.dumps(document, indent=1) + "\n")
    print("\n".join(notes))
    print(f"wrote {args.output}: {sum(len(g['models']) for g in groups)} models")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
