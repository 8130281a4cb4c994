"""litellm's bundled model price table, read as data without importing litellm.

Importing litellm costs seconds; its price table is a JSON file shipped inside the package,
so this module locates the package directory with ``importlib.util.find_spec`` (which, for a
top-level package, finds it without executing its ``__init__``) and reads the file directly.
"""

from __future__ import annotations

import functools
import importlib.util
import json
from pathlib import Path
from typing import Any

from bot.spec import Price

PRICE_FILE = "model_prices_and_context_window_backup.json"
_PER_MTOK = 1_000_000


def load_price_table() -> dict[str, Price]:
    """Model id -> USD per 1M tokens, from litellm's bundled table; ``{}`` if it is missing.

    Entries without both an input and an output per-token price (image models, the
    ``sample_spec`` documentation entry) are left out: an unknown price must stay unknown.
    """
    return dict(_cached_table())


@functools.cache
def _cached_table() -> dict[str, Price]:
    path = bundled_price_file()
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return {}
    return parse_price_table(data)


def bundled_price_file() -> Path | None:
    """The path of litellm's bundled price JSON, or ``None`` when litellm is not installed."""
    try:
        spec = importlib.util.find_spec("litellm")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / PRICE_FILE
        if candidate.is_file():
            return candidate
    return None


def parse_price_table(data: Any) -> dict[str, Price]:
    """Convert litellm's per-token USD prices to ``Price`` (USD per 1M tokens)."""
    if not isinstance(data, dict):
        return {}
    table: dict[str, Price] = {}
    for model, entry in data.items():
        if model == "sample_spec" or not isinstance(entry, dict):
            continue
        inp = _price(entry.get("input_cost_per_token"))
        out = _price(entry.get("output_cost_per_token"))
        if inp is None or out is None:
            continue
        # Rounding removes float noise such as 1.5e-07 * 1e6 == 0.15000000000000002.
        table[str(model)] = Price(
            input_per_mtok=round(inp * _PER_MTOK, 9),
            output_per_mtok=round(out * _PER_MTOK, 9),
        )
    return table


def _price(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    return None
