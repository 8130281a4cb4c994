"""Load for the budget tests: tasks that spend until the ledger refuses, in threads or processes.

``spend_until_refused`` is what one worker process does: metered calls through one ledger until
a cap refuses one. The models port is a small OpenAI-compatible HTTP client (httpx) whose
connections close with it, so eight spawned processes do not each pay litellm's import and
eight threads leave no pooled connection behind; litellm's own path is tested elsewhere.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from bot.config import BudgetSpec, Price, TierSpec
from bot.core.budget import scope_for
from bot.core.types import Completion, Message, Usage
from bot.metering import Meter
from bot.ports import ModelError, ModelErrorKind

# Punctuation and emoji: one real token per one to four bytes, where three characters per
# token (the old admission estimate) under-counts.
HEAVY = "Fix it!!! 🙈🙈 ;;; ((x)) ==> 🚀 ... ?!?! 👍🏽 {[<>]} ~~ " * 6


def tier(url: str, *, name: str = "junior", max_tokens: int = 300) -> TierSpec:
    return TierSpec(
        name=name,
        kind="model",
        model=f"openai/{name}-model",
        api_base=url,
        max_tokens=max_tokens,
        context_tokens=16000,
        timeout=30,
        price=Price(3.0, 15.0),
    )


@dataclass
class HttpModels:
    """The Models port over plain HTTP to an OpenAI-compatible server (no retries)."""

    client: httpx.Client

    def complete(self, tier: TierSpec, messages: Sequence[Message]) -> Completion:
        assert tier.api_base is not None and tier.model is not None
        started = time.monotonic()
        response = self.client.post(
            f"{tier.api_base}/chat/completions",
            json={
                "model": tier.model.removeprefix("openai/"),
                "messages": [{"role": m.role, "content": m.content} for m in messages],
                "max_tokens": tier.max_tokens,
            },
            timeout=tier.timeout,
        )
        if response.status_code != 200:
            raise ModelError(ModelErrorKind.UNAVAILABLE, f"HTTP {response.status_code}")
        body = response.json()
        usage = body.get("usage") or {}
        return Completion(
            text=body["choices"][0]["message"]["content"],
            usage=Usage(usage.get("prompt_tokens"), usage.get("completion_tokens")),
            latency_s=time.monotonic() - started,
            model=tier.model,
        )


def spend_until_refused(db_url: str, url: str, repo: str, key: str, day_usd: float) -> int:
    """Metered calls for ``key`` until the ledger refuses one; returns the calls made."""
    from bot.adapters.ledger import SqlLedger

    spec = tier(url)
    budget = BudgetSpec(per_task_usd=1.0, per_day_usd=day_usd)
    made = 0
    with SqlLedger(db_url) as ledger, httpx.Client() as client:
        meter = Meter(models=HttpModels(client), budgets=ledger, prices={})
        scope = scope_for(repo, key)
        while True:
            metered = meter.call(
                spec, [Message("user", f"{key} {made}: {HEAVY}")], scope=scope, budget=budget
            )
            if metered.refused:
                return made
            made += 1
