"""Prices, worst-case estimates and budget admission: what a call may cost before it is made."""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.config import BudgetSpec, Price, TierSpec
from bot.core.types import Usage

# Prompts are estimated at three characters per token: a deliberate over-estimate (English
# and code average nearer four), because admission must bound the worst case.
CHARS_PER_TOKEN_WORST = 3
# Counterfactual and reporting estimates use the usual average.
CHARS_PER_TOKEN_TYPICAL = 4

LOCAL_HOSTS = frozenset({"localhost", "host.docker.internal"})
LOCAL_PROVIDERS = ("ollama/", "ollama_chat/", "llamafile/", "lm_studio/")


def tokens_for_chars(chars: int, *, chars_per_token: int = CHARS_PER_TOKEN_WORST) -> int:
    return math.ceil(chars / chars_per_token)


def estimate_tokens(text: str, *, chars_per_token: int = CHARS_PER_TOKEN_WORST) -> int:
    return tokens_for_chars(len(text), chars_per_token=chars_per_token)


def is_local(tier: TierSpec) -> bool:
    """Ollama-style providers and any api_base on a loopback address run on the user's machine."""
    if tier.model and tier.model.startswith(LOCAL_PROVIDERS):
        return True
    if not tier.api_base:
        return False
    host = urlsplit(tier.api_base).hostname or ""
    if host in LOCAL_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def price_for(tier: TierSpec, table: Mapping[str, Price]) -> Price | None:
    """The config override first, then zero for local models, then litellm's price table."""
    if tier.is_template:
        return Price(0.0, 0.0)
    if tier.price is not None:
        return tier.price
    if is_local(tier):
        return Price(0.0, 0.0)
    model = tier.model or ""
    if model in table:
        return table[model]
    if "/" in model:
        bare = model.split("/", 1)[1]
        if bare in table:
            return table[bare]
    return None


def cost(price: Price | None, usage: Usage) -> float | None:
    """USD for a call; None (unknown) when the price or either token count is unknown."""
    if price is None or usage.prompt_tokens is None or usage.completion_tokens is None:
        return None
    return (
        usage.prompt_tokens * price.input_per_mtok + usage.completion_tokens * price.output_per_mtok
    ) / 1_000_000


def worst_case(price: Price | None, prompt_tokens: int, max_output_tokens: int) -> float | None:
    return cost(price, Usage(prompt_tokens, max_output_tokens))


@dataclass(frozen=True)
class Spend:
    task_usd: float
    today_usd: float


def remaining(budget: BudgetSpec, spend: Spend) -> float:
    return min(budget.per_task_usd - spend.task_usd, budget.per_day_usd - spend.today_usd)
