"""Prices, cost, the prompt bound admission relies on, and the caps' arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import BudgetSpec, Price, TierSpec
from bot.core import budget
from bot.core.types import Message, Usage
from tests.support import model_server
from tests.support.tokenizers import counters

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


# -- the prompt bound ----------------------------------------------------------------------

# What the bound must survive: emoji (4 bytes, often a token per byte), punctuation runs that
# no merge covers, CJK, combining marks, whitespace, and plain words.
NASTY = st.one_of(
    st.sampled_from(list(",.;:!?'\"`~()[]{}<>|/\\-_=+*&^%$#@")),
    st.sampled_from(list("😀🙈🚀👍🏽🧑‍💻🇫🇷❤️✨🤖")),
    st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),  # CJK
    st.characters(min_codepoint=0x0300, max_codepoint=0x036F),  # combining marks
    st.sampled_from([" ", "\n", "\t", "  ", "\r\n"]),
    st.characters(codec="utf-8", exclude_categories=("Cs",)),  # anything encodable
    st.sampled_from(["def", " return", "the", "ab", "é", "ß", "ﬁ"]),
)
TEXTS = st.lists(NASTY, max_size=400).map("".join)
MESSAGES = st.lists(
    st.tuples(st.sampled_from(["system", "user", "assistant"]), TEXTS), min_size=1, max_size=4
).map(lambda pairs: [Message(role, text) for role, text in pairs])


@settings(max_examples=1000, deadline=None, database=None, derandomize=True)
@given(MESSAGES)
def test_prompt_bound_holds_for_real_tokenizers_and_the_scripted_server(messages):
    bound = budget.prompt_bound(messages)
    # OpenAI's accounting of a chat prompt: each message costs its role and content plus 3
    # tokens of template, the reply's opening 3 more; other templates are no larger.
    for name, count in counters().items():
        real = 3 + sum(3 + count(m.role) + count(m.content) for m in messages)
        assert real <= bound, name
    served = model_server.prompt_tokens({"role": m.role, "content": m.content} for m in messages)
    assert served <= bound


@pytest.mark.parametrize(
    "text",
    [",,,,,,,,,,", "😀" * 50, "🧑‍💻" * 20, "漢字" * 30, "a\u0301" * 40, "!?" * 100],
    ids=["commas", "emoji", "zwj-emoji", "cjk", "combining", "punctuation"],
)
def test_the_old_estimate_undercounts_what_the_bound_covers(text):
    """Three characters per token was the admission estimate; these texts prove it unsafe."""
    real = max(count(text) for count in counters().values())
    assert budget.estimate_tokens(text) < real <= budget.prompt_bound([Message("user", text)])


def test_the_bound_counts_a_lone_surrogate_instead_of_failing():
    assert budget.prompt_bound([Message("user", "\ud800")]) == 8 + 8 + len("user") + 3


# -- caps -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spend", "worst", "cap"),
    [
        (budget.Spend(0.0, 0.0, 0.0), 1.0, None),
        (budget.Spend(0.5, 0.0, 0.0), 0.6, "per_task_usd"),
        (budget.Spend(0.0, 4.5, 0.0), 0.6, "per_day_usd"),
        (budget.Spend(0.0, 0.0, 9.9), 0.2, "per_month_usd"),
        (budget.Spend(0.9, 4.95, 9.0), 0.2, "per_day_usd"),  # the tightest one is named
        (budget.Spend(0.0, 0.0, 0.0), 1.0000001, "per_task_usd"),
    ],
    ids=["fits", "task", "day", "month", "tightest", "a hair over"],
)
def test_over_cap_names_the_tightest_cap_passed(spend, worst, cap):
    spec = BudgetSpec(per_task_usd=1.0, per_day_usd=5.0, per_month_usd=10.0)
    assert budget.over_cap(spec, spend, worst) == cap


def test_without_a_month_cap_the_month_never_refuses():
    spec = BudgetSpec(per_task_usd=1.0, per_day_usd=5.0)
    assert budget.over_cap(spec, budget.Spend(0.0, 0.0, 1e9), 0.5) is None
    assert budget.remaining(spec, budget.Spend(0.0, 0.0, 1e9)) == 1.0


def test_unknown_cost_is_charged_at_its_worst_case():
    assert budget.charge(None, 0.25) == 0.25
    assert budget.charge(0.01, 0.25) == 0.01


def test_day_and_month_start_at_midnight_utc():
    now = datetime(2025, 3, 17, 23, 59, 58, 5, tzinfo=UTC)
    assert budget.day_start(now) == datetime(2025, 3, 17, tzinfo=UTC)
    assert budget.month_start(now) == datetime(2025, 3, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("repo", "account"),
    [
        ("octo/calc", "octo"),
        ("my-org/repo.name_2", "my-org"),
        ("/home/me/calc", "/home/me/calc"),
        ("C:/work/calc", "C:/work/calc"),
        ("octo/calc/extra", "octo/calc/extra"),
    ],
)
def test_the_account_of_a_github_repo_is_its_owner_and_a_local_repo_its_own(repo, account):
    assert budget.scope_for(repo, "k") == budget.Scope(repo, "k", account)
