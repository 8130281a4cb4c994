"""The one metered call: admission, the error table, the record, and every caller's use of it."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.adapters.git import LocalRepo
from bot.adapters.ledger import SqlLedger
from bot.adapters.llm import LiteLLMModels
from bot.config import BudgetSpec, Price, RepoConfig, TierSpec, load_config
from bot.core import budget as money
from bot.core.types import Completion, Message, Outcome, Status, Task, Usage
from bot.engine import Engine, make_task
from bot.executor import Executor
from bot.handlers.debug import debug_on_label
from bot.handlers.review import review_on_label
from bot.hooks import stubs_hook
from bot.hooks.common import Repo
from bot.metering import ERRORS, REFUSED, MemoryBudgets, Meter
from bot.ports import CallRecord, ModelError, ModelErrorKind
from tests.support import model_server
from tests.support.fakes import FakeForge, FakeLedger, FakeWorkspace, failed
from tests.support.handlers import REPO, Bench, repo_config
from tests.support.model_server import FALLBACK, raw
from tests.support.repos import make_repo
from tests.support.tokenizers import counters

pytest_plugins = ["tests.support.github_emulator.fixtures", "tests.support.handler_fixtures"]

TIER = TierSpec(
    name="junior",
    kind="model",
    model="openai/junior-model",
    max_tokens=1000,
    timeout=10,
    price=Price(1.0, 2.0),
)
SCOPE = money.scope_for("octo/shop", "octo/shop#1")
BUDGET = BudgetSpec(per_task_usd=0.01, per_day_usd=1.0)
MESSAGES = [Message("system", "You write code."), Message("user", "Add mul to calc.py")]
WORST = money.worst_case(Price(1.0, 2.0), money.prompt_bound(MESSAGES), 1000)


@dataclass
class Scripted:
    """The Models port: answers or raises what it is given, and counts the calls."""

    answer: Completion | ModelError | RuntimeError
    calls: int = 0

    def complete(self, tier: TierSpec, messages: Sequence[Message]) -> Completion:
        self.calls += 1
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


@dataclass
class Records:
    rows: list[tuple[int, int | None, CallRecord]] = field(default_factory=list)

    def record_call(self, task_id: int, attempt_id: int | None, call: CallRecord) -> None:
        self.rows.append((task_id, attempt_id, call))


def meter(models: Scripted, budgets: MemoryBudgets, records: Records | None = None) -> Meter:
    return Meter(models=models, budgets=budgets, prices={}, recorder=records)


def answer(usage: Usage) -> Completion:
    return Completion("### calc.py\n```python\nx = 1\n```\n", usage, 0.2, "openai/junior-model")


def test_an_answer_is_recorded_with_its_usage_and_settled_to_its_cost():
    budgets, records = MemoryBudgets(), Records()
    metered = meter(Scripted(answer(Usage(1000, 200))), budgets, records).call(
        TIER, MESSAGES, scope=SCOPE, budget=BUDGET, task_id=7, attempt_id=3
    )
    cost = (1000 * 1.0 + 200 * 2.0) / 1e6
    assert metered.ok and metered.outcome is Outcome.GREEN and metered.cost_usd == cost
    assert records.rows == [
        (7, 3, CallRecord("junior", "openai/junior-model", 1000, 200, cost, 0.2, "ok"))
    ]
    assert budgets.spent(SCOPE) == money.Spend(cost, cost, cost)


def test_an_answer_without_usage_is_unknown_and_counts_its_worst_case():
    budgets = MemoryBudgets()
    metered = meter(Scripted(answer(Usage(None, None))), budgets).call(
        TIER, MESSAGES, scope=SCOPE, budget=BUDGET
    )
    assert metered.ok and metered.cost_usd is None
    assert metered.charged_usd == WORST
    assert budgets.spent(SCOPE).today_usd == WORST


def test_a_call_over_a_cap_is_refused_recorded_and_never_made():
    budgets, records, models = MemoryBudgets(), Records(), Scripted(answer(Usage(1, 1)))
    tight = dataclasses.replace(BUDGET, per_task_usd=0.0005)
    metered = meter(models, budgets, records).call(
        TIER, MESSAGES, scope=SCOPE, budget=tight, task_id=1
    )
    assert models.calls == 0 and metered.refused and metered.fatal
    assert metered.outcome is Outcome.BUDGET and metered.charged_usd == 0.0
    assert "more than the $0.0005 left under budget.per_task_usd" in metered.message
    ((_, _, row),) = records.rows
    assert (row.outcome, row.prompt_tokens, row.cost_usd) == (
        REFUSED,
        money.prompt_bound(MESSAGES),
        0.0,
    )
    assert budgets.spent(SCOPE) == money.Spend(0.0, 0.0, 0.0)


def test_a_tier_without_a_price_is_refused():
    models = Scripted(answer(Usage(1, 1)))
    unpriced = dataclasses.replace(TIER, price=None, api_base="https://api.example.com/v1")
    metered = meter(models, MemoryBudgets()).call(unpriced, MESSAGES, scope=SCOPE, budget=BUDGET)
    assert metered.refused and models.calls == 0
    assert "set tiers.junior.price" in metered.message


# kind, usage carried, cost recorded, fatal for the task, the attempt's outcome
ERROR_TABLE = [
    (ModelErrorKind.AUTH, None, 0.0, True, Outcome.AUTH_ERROR),
    (ModelErrorKind.RATE_LIMITED, None, 0.0, True, Outcome.MODEL_ERROR),
    (ModelErrorKind.UNAVAILABLE, None, 0.0, True, Outcome.MODEL_ERROR),
    (ModelErrorKind.CONTEXT_WINDOW, None, 0.0, False, Outcome.CONTEXT_EXCEEDED),
    (ModelErrorKind.TIMEOUT, None, None, True, Outcome.MODEL_ERROR),
    (ModelErrorKind.BAD_RESPONSE, None, None, False, Outcome.MODEL_ERROR),
    (ModelErrorKind.BAD_RESPONSE, Usage(500, 40), (500 + 80) / 1e6, False, Outcome.MODEL_ERROR),
    (ModelErrorKind.TIMEOUT, Usage(500, 0), 500 / 1e6, True, Outcome.MODEL_ERROR),
]


@pytest.mark.parametrize(("kind", "usage", "cost", "fatal", "outcome"), ERROR_TABLE)
def test_the_error_table(kind, usage, cost, fatal, outcome):
    """Usage an error carries is charged; without it, a call the provider may have answered
    (a timeout, a 2xx that was no completion) is unknown and counts its worst case."""
    budgets = MemoryBudgets()
    error = ModelError(kind, "it went wrong", usage=usage)
    metered = meter(Scripted(error), budgets).call(TIER, MESSAGES, scope=SCOPE, budget=BUDGET)
    assert (metered.cost_usd, metered.fatal, metered.outcome) == (cost, fatal, outcome)
    assert metered.record.outcome == str(kind) and metered.record.error == "it went wrong"
    charged = WORST if cost is None else cost
    assert metered.charged_usd == charged == budgets.spent(SCOPE).task_usd
    assert ERRORS[kind].fatal is fatal


def test_a_free_model_that_times_out_costs_nothing():
    free = dataclasses.replace(TIER, price=Price(0.0, 0.0))
    error = ModelError(ModelErrorKind.TIMEOUT, "slow")
    metered = meter(Scripted(error), MemoryBudgets()).call(
        free, MESSAGES, scope=SCOPE, budget=BUDGET
    )
    assert metered.cost_usd == 0.0


def test_a_crash_in_the_call_leaves_its_worst_case_held():
    budgets = MemoryBudgets()
    with pytest.raises(RuntimeError):
        meter(Scripted(RuntimeError("bug")), budgets).call(
            TIER, MESSAGES, scope=SCOPE, budget=BUDGET
        )
    assert budgets.spent(SCOPE).task_usd == WORST


def test_a_task_sees_what_other_tasks_spent_today():
    budgets = MemoryBudgets()
    day = BudgetSpec(per_task_usd=1.0, per_day_usd=WORST * 1.5)
    models = Scripted(answer(Usage(None, None)))  # unknown: each counts its worst case
    first = meter(models, budgets).call(TIER, MESSAGES, scope=SCOPE, budget=day)
    other = money.scope_for("octo/shop", "octo/shop#2")
    second = meter(models, budgets).call(TIER, MESSAGES, scope=other, budget=day)
    assert first.ok and second.refused and "budget.per_day_usd" in second.message


# -- property: admission against what a provider bills ---------------------------------------

TEXT = st.lists(
    st.one_of(
        st.sampled_from(list(",.;:!?()[]{}<>'\"`~-=+*&^%$#@|/\\")),
        st.sampled_from(list("😀🙈🚀👍🏽🧑‍💻🇫🇷✨")),
        st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
        st.sampled_from(["def ", "return ", "x", " ", "\n", "é"]),
    ),
    max_size=300,
).map("".join)
BEHAVIOUR = st.sampled_from(["ok", "ok", "ok", "no-usage", "error-with-usage", "timeout", "auth"])
CALL = st.tuples(st.integers(0, 3), st.integers(0, 1), TEXT, BEHAVIOUR, st.floats(0, 1))
RUN = st.fixed_dictionaries(
    {
        "task": st.floats(0.0002, 0.02),
        "day": st.floats(0.0005, 0.04),
        "month": st.none() | st.floats(0.0005, 0.05),
        "price_in": st.floats(0.05, 20),
        "price_out": st.floats(0.05, 80),
        "max_tokens": st.integers(1, 2000),
        "calls": st.lists(CALL, min_size=1, max_size=12),
    }
)


@dataclass
class Provider:
    """The Models port as a provider bills: real token counts, output up to max_tokens."""

    count: object
    fraction: float = 1.0
    behaviour: str = "ok"
    billed: float = 0.0

    def complete(self, tier: TierSpec, messages: Sequence[Message]) -> Completion:
        count = self.count
        prompt = 3 + sum(3 + count(m.role) + count(m.content) for m in messages)  # type: ignore[operator]
        usage = Usage(prompt, round(tier.max_tokens * self.fraction))
        if self.behaviour == "auth":  # refused at the door: nothing to bill
            raise ModelError(ModelErrorKind.AUTH, "bad key")
        assert tier.price is not None
        self.billed += money.cost(tier.price, usage) or 0.0
        if self.behaviour == "error-with-usage":
            raise ModelError(ModelErrorKind.BAD_RESPONSE, "no text", usage=usage)
        if self.behaviour == "timeout":  # answered and billed, after the client gave up
            raise ModelError(ModelErrorKind.TIMEOUT, "too slow")
        reported = usage if self.behaviour == "ok" else Usage(None, None)
        return Completion("x", reported, 0.1, tier.model or "")


@settings(max_examples=1000, deadline=None, database=None, derandomize=True)
@given(RUN)
def test_randomized_admission_never_lets_the_bill_pass_a_cap(run):
    budget = BudgetSpec(run["task"], run["day"], run["month"])
    tier = dataclasses.replace(
        TIER, max_tokens=run["max_tokens"], price=Price(run["price_in"], run["price_out"])
    )
    budgets = MemoryBudgets()
    provider = Provider(counters()["o200k_base"])
    bills: dict[tuple[str, str], float] = {}
    for task, repo, text, behaviour, fraction in run["calls"]:
        scope = money.scope_for(f"octo/r{repo}", f"octo/r{repo}#{task}")
        provider.fraction, provider.behaviour, before = fraction, behaviour, provider.billed
        meter_ = Meter(models=provider, budgets=budgets, prices={})
        meter_.call(tier, [Message("user", text)], scope=scope, budget=budget)
        for key in (("task", scope.key), ("day", scope.repo), ("month", scope.account)):
            bills[key] = bills.get(key, 0.0) + provider.billed - before
    caps = {"task": budget.per_task_usd, "day": budget.per_day_usd, "month": budget.per_month_usd}
    for (cap, _who), bill in bills.items():
        limit = caps[cap]
        assert limit is None or bill <= limit + 1e-12, (cap, bill, limit)


# -- every caller records a failed call with the usage it carries ----------------------------

USAGE = Usage(1234, 56)
EMPTY_WITH_USAGE = {
    "id": "chatcmpl-empty",
    "object": "chat.completion",
    "created": 0,
    "model": "m",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": ""}, "finish_reason": "stop"}
    ],
    "usage": {"prompt_tokens": 1234, "completion_tokens": 56, "total_tokens": 1290},
}


def test_a_ledger_row_of_a_failed_call_survives_a_round_trip(tmp_path: Path):
    with SqlLedger(f"sqlite:///{tmp_path / 'l.db'}") as ledger:
        meter_ = Meter(
            models=Scripted(ModelError(ModelErrorKind.BAD_RESPONSE, "empty", usage=USAGE)),
            budgets=ledger,
            recorder=ledger,
            prices={},
        )
        task_id = ledger.start_task(
            repo="octo/shop", task=Task("feature", "t", "t", "t"), start_tier="j", ceiling="j"
        )
        meter_.call(TIER, MESSAGES, scope=SCOPE, budget=BUDGET, task_id=task_id)
        (stored,) = ledger.calls(task_id)
        assert (stored.record.prompt_tokens, stored.record.completion_tokens) == (1234, 56)
        assert stored.record.cost_usd == pytest.approx((1234 + 112) / 1e6)
        assert ledger.spent(SCOPE).task_usd == pytest.approx((1234 + 112) / 1e6)


CALC = "def add(a, b):\n    return a + b\n"
BROKEN = "def add(a, b):\n    return a - b\n"
CI = "from calc import add\nassert add(20, 22) == 42, 'add is broken'\n"
STUB = "# tierbot: stub\ndef total(items):\n    ...\n"
PRICES = {"junior": Price(0.15, 0.6), "senior": Price(3.0, 15.0)}


def engine_calls(bench: Bench, tmp_path: Path) -> list[CallRecord]:
    config = load_config(repo_config(bench.models.url))
    repo = LocalRepo.open(make_repo(tmp_path / "local", {"calc.py": BROKEN}))
    workspace = repo.add_worktree(repo.unique_branch("fix-add"))
    engine = Engine(
        config=config,
        models=LiteLLMModels(env={}),
        ledger=bench.ledger,
        forge=FakeForge([]),
        prices={},
        repo=str(repo.root),
    )
    executor = Executor(forge=engine.forge, workspace=workspace, dry_run=False)
    result = engine.run(make_task("Fix add in calc.py", "feature"), workspace, executor)
    assert result.task_id is not None
    return [c.record for c in bench.ledger.calls(result.task_id)]


def review_calls(bench: Bench, tmp_path: Path) -> list[CallRecord]:
    bench.make_repo({"calc.py": CALC}, config=repo_config(bench.models.url))
    bench.emulator.ci.enabled = False  # type: ignore[union-attr]
    number = bench.open_pull("feature", {"calc.py": BROKEN}, title="Refactor")
    review_on_label(bench.label(number, "tierbot:review"), bench.ctx)
    return pull_task_calls(bench)


def diagnosis_calls(bench: Bench, tmp_path: Path) -> list[CallRecord]:
    config = repo_config(bench.models.url, check="python ci.py")
    bench.make_repo({"calc.py": CALC, "ci.py": CI}, config=config)
    number = bench.open_pull("feature", {"calc.py": BROKEN}, title="Refactor")
    bench.emulator.wait_for_ci()
    debug_on_label(bench.label(number, "tierbot:debug"), bench.ctx)
    return pull_task_calls(bench)


def pull_task_calls(bench: Bench) -> list[CallRecord]:
    (task,) = bench.ledger.report_rows(repo=REPO).tasks
    return [c.record for c in bench.ledger.calls(task.id)]


def hook_calls(bench: Bench, tmp_path: Path) -> list[CallRecord]:
    root = make_repo(tmp_path / "hooked", {"calc.py": STUB})
    config = repo_config(bench.models.url, extra="hooks: {model_tier: junior}\n")
    (root / ".github").mkdir()
    (root / ".github" / "tierbot.yml").write_text(config)
    stubs_hook.run(["calc.py"], repo=Repo(root), out=lambda _line: None, env={})
    with SqlLedger(f"sqlite:///{root / '.git' / 'tierbot' / 'ledger.sqlite3'}") as ledger:
        return [
            c.record
            for task in ledger.report_rows(repo=str(root)).tasks
            for c in ledger.calls(task.id)
        ]


@pytest.mark.slow
@pytest.mark.parametrize(
    "caller",
    [engine_calls, review_calls, diagnosis_calls, hook_calls],
    ids=["engine", "review", "diagnosis", "hook"],
)
def test_every_caller_records_a_failed_call_with_the_usage_it_carries(
    bench: Bench, tmp_path: Path, caller
):
    # A 200 whose completion is empty: the adapter raises bad-response with the usage block.
    bench.models.script(FALLBACK, [raw(EMPTY_WITH_USAGE)])
    made = [c for c in caller(bench, tmp_path) if c.tier != "template"]
    assert made, "no model call was recorded"
    first = made[0]
    price = PRICES[first.tier]
    assert (first.outcome, first.prompt_tokens, first.completion_tokens) == (
        "bad-response",
        1234,
        56,
    )
    assert first.cost_usd == pytest.approx(money.cost(price, USAGE))
    assert "no text content" in first.error


# -- emoji and punctuation: the charge stays under the per-task cap ---------------------------

HEAVY_TEXTS = {
    "emoji": "Make it work 🙈🙈🙈 🚀🚀 👍🏽👍🏽 🧑‍💻 ✨✨✨ " * 40,
    "punctuation": "Fix: ((a)) [[b]] {{c}} <<d>> ;;; ,,, ... !!! ??? --- === +++ *** " * 40,
}
TASK_CAP = 0.025


def heavy_config(url: str, cap: float) -> RepoConfig:
    """Prompt-heavy pricing and short answers, so an under-counted prompt shows in the bill."""
    tiers = "".join(
        f"  {name}:\n    model: openai/{name}-model\n    api_base: {url}\n    api_key_env: null\n"
        "    max_tokens: 60\n    context_tokens: 32000\n    timeout: 30\n"
        "    price: {input_per_mtok: 3.0, output_per_mtok: 3.0}\n"
        for name in ("junior", "senior")
    )
    return load_config(
        f"tiers:\n{tiers}task_types: {{feature: {{attempts: 8}}}}\n"
        f"budget: {{per_task_usd: {cap}, per_day_usd: 5.0}}\n"
    )


def old_estimate_cap(config: RepoConfig, text: str) -> float:
    """1.25 times the first call's worst case at three characters per token (the old
    admission): a cap the old estimate admits a call under, and the real count passes."""
    engine = Engine(
        config=config,
        models=LiteLLMModels(env={}),
        ledger=FakeLedger(),
        forge=FakeForge([]),
        prices={},
        repo="octo/shop",
    )
    tier = config.tier("junior")
    messages = engine.prompt(tier, make_task(text, "feature"), FakeWorkspace({"calc.py": BROKEN}))
    tokens = sum(money.estimate_tokens(m.content) for m in messages)
    worst = money.worst_case(tier.price, tokens, tier.max_tokens)
    assert worst is not None
    return 1.25 * worst


@pytest.mark.slow
@pytest.mark.parametrize("cap", ["0.025", "one old worst case"])
@pytest.mark.parametrize("text", sorted(HEAVY_TEXTS))
@pytest.mark.parametrize("tokenizer", ["scripted", "o200k_base", "cl100k_base"])
def test_heavy_prompts_are_charged_within_the_per_task_cap(
    tmp_path: Path, text: str, tokenizer: str, cap: str
):
    count = counters().get(tokenizer, model_server.count_tokens)
    # A new edit each time, so that every answer commits and the check decides.
    edits = [
        f"### calc.py\n```python\ndef add(a, b):\n    return a + b  # {n} 🙈 !!! ;;;\n```\n"
        for n in range(40)
    ]
    with (
        model_server.ScriptedModelServer(count=count) as server,
        SqlLedger(f"sqlite:///{tmp_path / 'l.db'}") as ledger,
    ):
        server.script(FALLBACK, [model_server.reply(e) for e in edits])
        config = heavy_config(server.url, 0.025)
        if cap != "0.025":
            config = heavy_config(server.url, old_estimate_cap(config, HEAVY_TEXTS[text]))
        engine = Engine(
            config=config,
            models=LiteLLMModels(env={}),
            ledger=ledger,
            forge=FakeForge([failed()] * 30),
            prices={},
            repo="octo/shop",
        )
        workspace = FakeWorkspace({"calc.py": BROKEN})
        executor = Executor(forge=engine.forge, workspace=workspace, dry_run=False)
        result = engine.run(make_task(HEAVY_TEXTS[text], "feature"), workspace, executor)
        recorded = sum(c.record.cost_usd or 0.0 for c in ledger.calls(result.task_id or 0))
        requests = server.requests
    billed = 0.0
    for request, edit in zip(requests, edits, strict=False):
        usage = Usage(model_server.prompt_tokens(request.messages, count), count(edit))
        billed += money.cost(Price(3.0, 3.0), usage) or 0.0
    assert billed <= config.budget.per_task_usd
    assert billed == pytest.approx(recorded)
    assert result.status is Status.BUDGET_STOP  # it kept trying until the money ran out
