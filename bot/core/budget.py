"""Prices, worst-case bounds and budget arithmetic: what a call may cost before it is made."""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from bot.core.types import Message, Usage
from bot.spec import BudgetSpec, Price, TierSpec

# Fitting text into a context window estimates three characters per token, an over-estimate
# for English and code (nearer four). It is not a bound: admission uses ``prompt_bound``.
CHARS_PER_TOKEN_WORST = 3
# Counterfactual and reporting estimates use the usual average.
CHARS_PER_TOKEN_TYPICAL = 4

LOCAL_HOSTS = frozenset({"localhost", "host.docker.internal"})
LOCAL_PROVIDERS = ("ollama/", "ollama_chat/", "llamafile/", "lm_studio/")


# A bound on prompt tokens that holds for any text: a byte-level BPE (OpenAI, Llama 3, Qwen,
# DeepSeek, Claude) emits at most one token per UTF-8 byte, and SentencePiece with byte
# fallback at most one per byte plus a word-start marker. The chat template adds tokens per
# message (role markers, separators) and per request (the reply's opening).
MESSAGE_OVERHEAD_TOKENS = 8
REQUEST_OVERHEAD_TOKENS = 8


def prompt_bound(messages: Iterable[Message]) -> int:
    """At most this many prompt tokens, whatever the tokenizer: UTF-8 bytes plus overhead."""
    return REQUEST_OVERHEAD_TOKENS + sum(
        MESSAGE_OVERHEAD_TOKENS + _utf8_len(m.role) + _utf8_len(m.content) for m in messages
    )


def _utf8_len(text: str) -> int:
    # surrogatepass: a lone surrogate (from JSON "\ud800") counts as the 3 bytes a provider
    # reads in its place (U+FFFD), instead of raising.
    return len(text.encode("utf-8", "surrogatepass"))


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


def charge(cost_usd: float | None, worst_usd: float) -> float:
    """What a call counts against budgets: its cost, or its worst case when that is unknown."""
    return worst_usd if cost_usd is None else cost_usd


@dataclass(frozen=True)
class Spend:
    """Money counted against each cap: settled charges plus open reservations' worst cases."""

    task_usd: float  # every task of the budget key (an issue's tasks share one)
    today_usd: float  # the repository since midnight UTC
    month_usd: float = 0.0  # the account (a GitHub App installation) since the 1st, UTC


def day_start(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def month_start(now: datetime) -> datetime:
    return day_start(now).replace(day=1)


def remaining(budget: BudgetSpec, spend: Spend) -> float:
    """Money left under the tightest cap."""
    return min(left for _cap, left in _lefts(budget, spend))


def over_cap(budget: BudgetSpec, spend: Spend, worst_usd: float) -> str | None:
    """The tightest cap (its config key) a call of ``worst_usd`` would pass, or None."""
    cap, left = min(_lefts(budget, spend), key=lambda pair: pair[1])
    return cap if worst_usd > left else None


def _lefts(budget: BudgetSpec, spend: Spend) -> list[tuple[str, float]]:
    lefts = [
        ("per_task_usd", budget.per_task_usd - spend.task_usd),
        ("per_day_usd", budget.per_day_usd - spend.today_usd),
    ]
    if budget.per_month_usd is not None:
        lefts.append(("per_month_usd", budget.per_month_usd - spend.month_usd))
    return lefts


@dataclass(frozen=True)
class Scope:
    """Whose money a call spends: the task's budget key, the repository, the account."""

    repo: str
    key: str
    account: str


# A GitHub repository's full name; a local repository is named by its path.
_FULL_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]*)/[A-Za-z0-9._-]+$")


def scope_for(repo: str, key: str) -> Scope:
    """The account of ``owner/name`` is its owner: a GitHub App installation belongs to one
    account, so the installation's monthly cap counts every repository of that owner. A local
    repository is its own account."""
    account = repo.split("/", 1)[0] if _FULL_NAME.match(repo) else repo
    return Scope(repo=repo, key=key, account=account)
