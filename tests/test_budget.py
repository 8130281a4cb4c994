"""Prices, cost and worst-case estimates."""

from __future__ import annotations

import pytest

from bot.config import BudgetSpec, Price, TierSpec
from bot.core import budget
from bot.core.types import Usage

TABLE = {"gpt-4o-mini": Price(0.15, 0.6), "claude-sonnet-4-5": Price(3.0, 15.0)}


def tier(**kw) -> TierSpec:
    return TierSpec(name=kw.pop("name", "junior"), kind=kw.pop("kind", "model"), **kw)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (tier(model="gpt-4o-mini"), Price(0.15, 0.6)),
        (tier(model="openai/gpt-4o-mini"), Price(0.15, 0.6)),
        (tier(model="gpt-4o-mini", price=Price(1, 2)), Price(1, 2)),
        (tier(model="ollama_chat/qwen"), Price(0, 0)),
        (tier(model="openai/x", api_base="http://127.0.0.1:9/v1"), Price(0, 0)),
        (tier(model="openai/x", api_base="http://localhost:11434"), Price(0, 0)),
        (tier(model="openai/x", api_base="http://[::1]:8000/v1"), Price(0, 0)),
        (tier(model="openai/x", api_base="http://127.0.0.1:9/v1", price=Price(5, 5)), Price(5, 5)),
        (tier(model="openai/unknown", api_base="https://api.example.com/v1"), None),
        (tier(name="template", kind="template"), Price(0, 0)),
    ],
    ids=[
        "table",
        "provider-prefix",
        "override",
        "ollama",
        "loopback",
        "localhost",
        "ipv6",
        "override-beats-local",
        "unknown",
        "template",
    ],
)
def test_price_for(spec, expected):
    assert budget.price_for(spec, TABLE) == expected


def test_cost_is_unknown_without_usage_never_zero():
    assert budget.cost(Price(3, 15), Usage(None, 10)) is None
    assert budget.cost(None, Usage(10, 10)) is None
    assert budget.cost(Price(3, 15), Usage(1_000_000, 100_000)) == pytest.approx(4.5)


def test_worst_case_uses_max_output_tokens():
    assert budget.worst_case(Price(3, 15), 1000, 8000) == pytest.approx(0.003 + 0.12)


def test_estimate_over_counts_on_purpose():
    assert budget.estimate_tokens("x" * 300) == 100
    assert budget.estimate_tokens("x" * 400, chars_per_token=4) == 100


def test_remaining_is_the_tighter_of_task_and_day():
    spec = BudgetSpec(per_task_usd=1.0, per_day_usd=5.0)
    assert budget.remaining(spec, budget.Spend(0.25, 0.5)) == 0.75
    assert budget.remaining(spec, budget.Spend(0.25, 4.9)) == pytest.approx(0.1)
