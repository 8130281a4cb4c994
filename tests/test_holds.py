"""Tests for bot/adapters/holds.py: reserve-then-settle in SQLite and PostgreSQL, under load.

The acceptance tests run eight tasks at once against one day cap, as threads (the engine) and
as separate processes (the meter), and count what the scripted "provider" billed from its own
request log, with a real tokenizer behind its usage.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from bot.adapters.ledger import SqlLedger
from bot.config import BudgetSpec, load_config
from bot.core.budget import Spend, scope_for
from bot.core.types import Status
from bot.engine import Engine, make_task
from bot.executor import Executor
from tests.support import budget_load
from tests.support.databases import T0, Clock, database_url
from tests.support.fakes import FakeForge, FakeWorkspace, failed
from tests.support.model_server import ScriptedModelServer, reply
from tests.support.tokenizers import counters

pytest_plugins = ["tests.support.ledger_fixtures"]

CAPS = BudgetSpec(per_task_usd=1.0, per_day_usd=5.0, per_month_usd=10.0)
SCOPE = scope_for("octo/shop", "octo/shop#1")


def test_a_hold_counts_its_worst_case_until_settled(ledger: SqlLedger) -> None:
    first = ledger.reserve(SCOPE, CAPS, 0.75, ttl_s=60)
    assert first.hold_id is not None and first.spend == Spend(0.0, 0.0, 0.0)
    assert ledger.spent(SCOPE) == Spend(0.75, 0.75, 0.75)
    ledger.settle(first.hold_id, 0.10)
    assert ledger.spent(SCOPE) == Spend(0.10, 0.10, 0.10)


def test_a_reservation_that_would_pass_a_cap_is_refused_and_holds_nothing(
    ledger: SqlLedger,
) -> None:
    ledger.reserve(SCOPE, CAPS, 0.75, ttl_s=60)
    refused = ledger.reserve(SCOPE, CAPS, 0.26, ttl_s=60)
    assert (refused.hold_id, refused.cap) == (None, "per_task_usd")
    assert refused.spend.task_usd == pytest.approx(0.75)
    assert ledger.spent(SCOPE).task_usd == pytest.approx(0.75)
    assert ledger.reserve(SCOPE, CAPS, 0.25, ttl_s=60).hold_id is not None  # exactly the cap


def test_each_cap_counts_its_own_scope(ledger: SqlLedger, clock: Clock) -> None:
    other_task = scope_for("octo/shop", "octo/shop#2")
    other_repo = scope_for("octo/cart", "octo/cart#1")
    other_owner = scope_for("acme/shop", "acme/shop#1")
    for scope, usd in [(SCOPE, 0.5), (other_task, 0.25), (other_repo, 0.125), (other_owner, 0.75)]:
        hold = ledger.reserve(scope, CAPS, usd, ttl_s=60)
        assert hold.hold_id is not None
    # Task: its key alone; day: the repository; month: every repository of the owner.
    assert ledger.spent(SCOPE) == Spend(0.5, 0.75, 0.875)
    clock.now = T0 + timedelta(days=1)
    assert ledger.spent(SCOPE) == Spend(0.5, 0.0, 0.875)
    clock.now = datetime(2025, 4, 1, tzinfo=UTC)
    assert ledger.spent(SCOPE) == Spend(0.5, 0.0, 0.0)  # an issue's total never resets


def test_the_month_cap_refuses_across_the_owners_repositories(ledger: SqlLedger) -> None:
    for n in range(10):
        scope = scope_for(f"octo/repo{n}", f"octo/repo{n}#1")
        assert ledger.reserve(scope, CAPS, 1.0, ttl_s=60).hold_id is not None
    # Ten repositories of octo spent 10.0 this month: an eleventh has its task and day free,
    # but not the owner's month; another owner is not affected.
    refused = ledger.reserve(scope_for("octo/x", "octo/x#1"), CAPS, 0.5, ttl_s=60)
    assert (refused.hold_id, refused.cap) == (None, "per_month_usd")
    assert ledger.reserve(scope_for("acme/x", "acme/x#1"), CAPS, 0.5, ttl_s=60).hold_id


def test_an_abandoned_hold_expires_but_keeps_counting_its_worst_case(
    ledger: SqlLedger, clock: Clock
) -> None:
    hold = ledger.reserve(SCOPE, CAPS, 0.5, ttl_s=60)  # its process dies: never settled
    assert hold.hold_id is not None
    clock.now = T0 + timedelta(minutes=5)
    later = ledger.reserve(SCOPE, CAPS, 0.25, ttl_s=60)
    assert later.spend.task_usd == pytest.approx(0.5)  # the provider may have billed it
    assert _states(ledger) == {hold.hold_id: "expired", later.hold_id: "open"}
    ledger.settle(hold.hold_id, 0.01)  # a late answer still settles it to the truth
    assert ledger.spent(SCOPE).task_usd == pytest.approx(0.26)


def _states(ledger: SqlLedger) -> dict[int, str]:
    from sqlalchemy import create_engine, text

    engine = create_engine(ledger.url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT id, state FROM budget_holds")).all()
    finally:
        engine.dispose()
    return {int(i): str(s) for i, s in rows}


def test_settling_an_unknown_hold_is_an_error(ledger: SqlLedger) -> None:
    with pytest.raises(LookupError):
        ledger.settle(12345, 0.0)


# -- acceptance: eight tasks at once against one day cap -------------------------------------


def billed(server: ScriptedModelServer, count: object, replies: dict[str, str]) -> float:
    """What the scripted provider billed: its own token counts of each request, at $3/$15."""
    from tests.support.model_server import prompt_tokens

    total = 0.0
    for request in server.requests:
        assert request.model is not None
        prompt = prompt_tokens(request.messages, count)  # type: ignore[arg-type]
        completion = count(replies[request.model])  # type: ignore[operator]
        total += (prompt * 3.0 + completion * 15.0) / 1e6
    return total


EDIT = "### calc.py\n```python\ndef add(a, b):\n    return a + b  # 🙈 ;;; !!!\n```\n"
DAY_CAP = 0.05


@pytest.fixture(params=["sqlite", "postgresql", "sqlite-in-memory"])
def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Both databases, and SQLite in memory (one connection that threads take turns on)."""
    if request.param == "sqlite-in-memory":
        yield "sqlite://"
    else:
        yield from database_url(request.param, tmp_path)


def test_one_ledger_shared_by_threads_admits_one_by_one_and_keeps_every_row(
    shared_url: str,
) -> None:
    """A plan's wave calls its models from several threads through one ledger: reservations
    still pass the cap one at a time, and every task, attempt and call row is kept."""
    from bot.core.types import Task
    from bot.ports import CallRecord

    threads, start = 8, threading.Barrier(8)
    admitted: list[int | None] = []
    errors: list[BaseException] = []
    caps = BudgetSpec(per_task_usd=0.35, per_day_usd=5.0, per_month_usd=10.0)
    with SqlLedger(shared_url) as ledger:

        def call(n: int) -> None:
            try:
                task = Task(type="feature", text=f"t{n}", title=f"t{n}", slug=f"t-{n}")
                task_id = ledger.start_task(
                    repo="octo/shop", task=task, start_tier="junior", ceiling="junior"
                )
                attempt_id = ledger.start_attempt(task_id, number=1, tier="junior")
                start.wait(timeout=30)
                hold = ledger.reserve(SCOPE, caps, 0.1, ttl_s=60).hold_id
                admitted.append(hold)
                record = CallRecord("junior", "m", 1, 1, 0.1, 0.0, "ok" if hold else "refused")
                ledger.record_call(task_id, attempt_id, record)
            except BaseException as exc:
                errors.append(exc)

        workers = [threading.Thread(target=call, args=(n,)) for n in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)
        assert not errors, errors
        assert len([h for h in admitted if h is not None]) == 3  # 3 x $0.10 <= $0.35 < 4 x
        assert ledger.spent(SCOPE).task_usd == pytest.approx(0.3)
        with ledger.read() as session:
            from sqlalchemy import func, select

            from bot.adapters.ledger.tables import AttemptRowORM, ModelCallORM, TaskRowORM

            counts = [
                session.scalar(select(func.count()).select_from(table))
                for table in (TaskRowORM, AttemptRowORM, ModelCallORM)
            ]
    assert counts == [threads] * 3


def engine_config(url: str) -> str:
    tiers = "".join(
        f"  {name}:\n    model: openai/{name}-model\n    api_base: {url}\n    api_key_env: null\n"
        f"    max_tokens: 300\n    context_tokens: 16000\n    timeout: 30\n"
        f"    price: {{input_per_mtok: 3.0, output_per_mtok: 15.0}}\n"
        for name in ("junior", "senior")
    )
    return f"tiers:\n{tiers}budget: {{per_task_usd: 1.0, per_day_usd: {DAY_CAP}}}\n"


@pytest.mark.slow
def test_eight_concurrent_engine_tasks_never_pass_the_day_cap(db_url: str) -> None:
    count = counters()["o200k_base"]
    with ScriptedModelServer(count=count) as server:
        server.script("*", [reply(EDIT)])
        config = load_config(engine_config(server.url))
        results: list[Status] = []
        errors: list[BaseException] = []
        start = threading.Barrier(8)

        def task(n: int) -> None:
            try:
                with SqlLedger(db_url) as ledger, httpx.Client() as client:
                    engine = Engine(
                        config=config,
                        models=budget_load.HttpModels(client),
                        ledger=ledger,
                        forge=FakeForge([failed()] * 20),
                        prices={},
                        repo="octo/shop",
                    )
                    workspace = FakeWorkspace({"calc.py": "def add(a, b):\n    return a - b\n"})
                    start.wait()
                    executor = Executor(forge=engine.forge, workspace=workspace, dry_run=False)
                    text = f"Fix add in calc.py (task {n}) {budget_load.HEAVY}"
                    task = make_task(text, "feature")
                    results.append(engine.run(task, workspace, executor).status)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=task, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        assert not errors, errors
        total = billed(server, count, {"junior-model": EDIT, "senior-model": EDIT})
    assert Status.BUDGET_STOP in results  # the cap was reached, not merely approached
    assert total <= DAY_CAP + 1e-12
    with SqlLedger(db_url) as ledger:
        counted = ledger.spent(scope_for("octo/shop", "-")).today_usd
    assert total <= counted + 1e-12 <= DAY_CAP + 2e-12


@pytest.mark.slow
def test_eight_worker_processes_never_pass_the_day_cap(db_url: str) -> None:
    count = counters()["o200k_base"]
    answer = "word " * 280
    with ScriptedModelServer(count=count) as server:
        server.script("*", [reply(answer)])
        spawn = multiprocessing.get_context("spawn")
        args = [(db_url, server.url, "octo/shop", f"octo/shop#{n}", 0.25) for n in range(8)]
        with spawn.Pool(8) as pool:
            made = pool.starmap(budget_load.spend_until_refused, args)
        total = billed(server, count, {"junior-model": answer})
    # Every request the provider saw was admitted by the ledger (none slipped through), and
    # the processes really competed for the money.
    assert sum(made) == len(server.requests) and sum(1 for m in made if m) >= 2
    worst = budget_load.tier("x").max_tokens * 15.0 / 1e6
    assert 0.25 - 2 * worst < total <= 0.25 + 1e-12  # right up to the cap, never past it
