"""Tests for bot/report.py: crafted histories written to a SQLite ledger, then summarised."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console

from bot.adapters.ledger import SqlLedger
from bot.core.types import Outcome, Status, Task
from bot.ports import CallRecord
from bot.report import (
    ASSUMPTION,
    Cost,
    Escalation,
    Report,
    build_report,
    render_table,
    report_to_json,
)

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
G, CF, INV, DEC = Outcome.GREEN, Outcome.CHECK_FAILED, Outcome.INVALID_EDIT, Outcome.DECLINED
RUNNING = None


@dataclass(frozen=True)
class Step:
    """One attempt: its tier, how it ended (None: still running), its calls' costs."""

    tier: str
    outcome: Outcome | None
    costs: tuple[float | None, ...] = ()
    senior_cost: float | None = 0.0


@dataclass(frozen=True)
class History:
    type: str
    start: str
    steps: tuple[Step, ...]
    status: Status = Status.DONE
    repo: str = "o/r"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ledger(tmp_path: Path, clock: Clock) -> Iterator[SqlLedger]:
    with SqlLedger(f"sqlite:///{tmp_path / 'ledger.db'}", clock=clock) as led:
        yield led


def play(ledger: SqlLedger, histories: Sequence[History]) -> list[int]:
    """Write each history to the ledger the way the engine would; return the task ids."""
    ids = []
    for h in histories:
        task = Task(type=h.type, text="", title=f"{h.type} task", slug=h.type)
        task_id = ledger.start_task(repo=h.repo, task=task, start_tier=h.start, ceiling="senior")
        for number, step in enumerate(h.steps, start=1):
            attempt = ledger.start_attempt(task_id, number=number, tier=step.tier)
            for cost in step.costs:
                ledger.record_call(
                    task_id,
                    attempt,
                    CallRecord(
                        tier=step.tier,
                        model=f"{step.tier}-model",
                        prompt_tokens=1000,
                        completion_tokens=200,
                        cost_usd=cost,
                        latency_s=1.0,
                        outcome="ok",
                    ),
                )
            if step.outcome is not None:
                ledger.finish_attempt(
                    attempt,
                    outcome=step.outcome,
                    detail="",
                    commit_sha=None,
                    senior_cost_usd=step.senior_cost,
                )
        if h.status is not Status.RUNNING:
            ledger.finish_task(
                task_id,
                status=h.status,
                reason="",
                branch=None,
                cost_usd=None,
                senior_cost_usd=None,
            )
        ids.append(task_id)
    return ids


def _rates(report: Report) -> dict[str, tuple[int, int, float | None]]:
    return {r.tier: (r.attempts, r.green, r.rate) for r in report.green_rates}


@pytest.mark.parametrize(
    ("histories", "expected"),
    [
        pytest.param([], {}, id="empty"),
        pytest.param(
            [History("stub", "template", (Step("template", G),))],
            {"template": (1, 1, 1.0)},
            id="template-green",
        ),
        pytest.param(
            [
                History("stub", "template", (Step("template", DEC), Step("intern", G))),
                History("tests", "template", (Step("template", G),)),
                History(
                    "feature", "junior", (Step("junior", CF), Step("junior", CF), Step("senior", G))
                ),
            ],
            {
                "template": (2, 1, 0.5),
                "intern": (1, 1, 1.0),
                "junior": (2, 0, 0.0),
                "senior": (1, 1, 1.0),
            },
            id="mixed-ladder",
        ),
        pytest.param(
            [
                History(
                    "stub",
                    "intern",
                    (Step("intern", INV), Step("intern", RUNNING)),
                    status=Status.RUNNING,
                )
            ],
            {"intern": (1, 0, 0.0)},
            id="running-attempt-not-counted",
        ),
        pytest.param(
            [History("stub", "intern", (Step("intern", RUNNING),), status=Status.RUNNING)],
            {"intern": (0, 0, None)},
            id="only-running",
        ),
    ],
)
def test_green_rate_per_tier(
    ledger: SqlLedger, histories: list[History], expected: dict[str, tuple[int, int, float | None]]
) -> None:
    play(ledger, histories)
    report = build_report(ledger)
    assert _rates(report) == expected
    # Ladder order, not alphabetical.
    assert [r.tier for r in report.green_rates] == [
        t for t in ("template", "intern", "junior", "senior") if t in expected
    ]


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        pytest.param(History("stub", "template", (Step("template", G),)), None, id="no-climb"),
        pytest.param(
            History("stub", "template", (Step("template", DEC), Step("intern", G))),
            ("template", "intern", 1),
            id="one-step",
        ),
        pytest.param(
            History(
                "stub",
                "template",
                (
                    Step("template", DEC),
                    Step("intern", INV),
                    Step("intern", INV),
                    Step("junior", CF),
                    Step("junior", G),
                ),
            ),
            ("template", "junior", 2),
            id="retries-then-two-steps",
        ),
        pytest.param(
            History(
                "feature",
                "junior",
                (Step("junior", CF), Step("senior", CF)),
                status=Status.NEEDS_HUMAN,
            ),
            ("junior", "senior", 1),
            id="to-ceiling",
        ),
        pytest.param(
            History(
                "stub",
                "template",
                (Step("template", DEC), Step("senior", RUNNING)),
                status=Status.RUNNING,
            ),
            ("template", "senior", 3),
            id="running-at-top",
        ),
        pytest.param(
            History("review", "senior", (Step("senior", CF), Step("senior", G))),
            None,
            id="retry-at-start-tier-is-not-an-escalation",
        ),
        pytest.param(
            History("stub", "template", (Step("retired-tier", G),)),
            None,
            id="tier-off-the-ladder",
        ),
    ],
)
def test_escalations(
    ledger: SqlLedger, history: History, expected: tuple[str, str, int] | None
) -> None:
    [task_id] = play(ledger, [history])
    report = build_report(ledger)
    if expected is None:
        assert report.escalations == ()
    else:
        [esc] = report.escalations
        assert esc == Escalation(
            task_id=task_id,
            task_type=history.type,
            title=f"{history.type} task",
            start_tier=expected[0],
            top_tier=expected[1],
            steps=expected[2],
            status=history.status.value,
        )


def test_escalations_sorted_by_distance(ledger: SqlLedger) -> None:
    play(
        ledger,
        [
            History("a", "template", (Step("intern", G),)),
            History("b", "template", (Step("senior", G),)),
            History("c", "junior", (Step("senior", G),)),
        ],
    )
    assert [(e.task_type, e.steps) for e in build_report(ledger).escalations] == [
        ("b", 3),
        ("a", 1),
        ("c", 1),
    ]


def test_spend_by_type_and_tier_with_unknown_costs(ledger: SqlLedger) -> None:
    play(
        ledger,
        [
            History(
                "stub", "intern", (Step("intern", CF, (None, None)), Step("junior", G, (0.01,)))
            ),
            History("stub", "junior", (Step("junior", G, (0.02, None)),)),
            History("review", "senior", (Step("senior", G, (0.3,)),)),
        ],
    )
    report = build_report(ledger)
    spend = {(s.task_type, s.tier): s for s in report.spend}
    assert list(spend) == [("review", "senior"), ("stub", "intern"), ("stub", "junior")]

    intern = spend["stub", "intern"]
    assert (intern.calls, intern.prompt_tokens, intern.completion_tokens) == (2, 2000, 400)
    assert intern.cost == Cost(known_usd=0.0, items=2, unknown=2)
    assert intern.cost.usd is None
    assert str(intern.cost) == "unknown"

    junior = spend["stub", "junior"]
    assert junior.cost.usd is None
    assert str(junior.cost).startswith("unknown (≥ $0.0300")

    assert spend["review", "senior"].cost.usd == pytest.approx(0.3)
    assert str(report.total).startswith("unknown")
    assert report.total.known_usd == pytest.approx(0.33)
    assert report.saving_usd is None

    out = report_to_json(report)
    json.dumps(out)  # serialisable
    by_key = {(s["task_type"], s["tier"]): s for s in out["spend"]}
    assert by_key["stub", "intern"]["cost"]["usd"] == "unknown"
    assert by_key["review", "senior"]["cost"]["usd"] == pytest.approx(0.3)
    assert out["total"]["usd"] == "unknown"

    text = _render(report)
    assert "unknown" in text
    intern_line = next(line for line in text.splitlines() if "intern" in line and "stub" in line)
    assert "unknown" in intern_line and "$0.0000" not in intern_line


def test_refused_calls_are_counted_but_cost_nothing(ledger: SqlLedger) -> None:
    [task_id] = play(ledger, [History("stub", "junior", (), status=Status.BUDGET_STOP)])
    ledger.record_call(task_id, None, CallRecord("junior", "m", None, None, None, 0.0, "refused"))
    report = build_report(ledger)
    [line] = report.spend
    assert (line.calls, line.refused_calls) == (1, 1)
    assert line.cost == Cost(0.0, 0, 0)
    assert report.total.usd == 0.0
    assert dict(report.status_counts) == {"budget-stop": 1}


def test_counterfactual_and_assumption(ledger: SqlLedger) -> None:
    play(
        ledger,
        [
            History("stub", "template", (Step("template", G, (), senior_cost=0.05),)),
            History(
                "feature",
                "junior",
                (
                    Step("junior", CF, (0.01,), senior_cost=0.4),
                    Step("senior", G, (0.5,), senior_cost=0.5),
                ),
            ),
        ],
    )
    report = build_report(ledger)
    assert report.total.usd == pytest.approx(0.51)
    assert report.counterfactual.usd == pytest.approx(0.95)
    assert report.saving_usd == pytest.approx(0.44)
    assert report.assumption == ASSUMPTION
    assert "4 characters per token" in ASSUMPTION

    out = report_to_json(report)
    assert out["counterfactual"]["assumption"] == ASSUMPTION
    assert out["counterfactual"]["usd"] == pytest.approx(0.95)
    text = _render(report)
    assert "4 characters per token" in " ".join(text.split())
    assert "$0.9500" in text


def test_counterfactual_unknown_when_an_attempt_has_no_senior_price(ledger: SqlLedger) -> None:
    play(
        ledger,
        [
            History("stub", "intern", (Step("intern", G, (0.0,), senior_cost=None),)),
            History("stub", "intern", (Step("intern", G, (0.0,), senior_cost=0.2),)),
        ],
    )
    report = build_report(ledger)
    assert report.counterfactual == Cost(known_usd=0.2, items=2, unknown=1)
    assert report.counterfactual.usd is None
    assert report_to_json(report)["counterfactual"]["usd"] == "unknown"


def test_status_counts(ledger: SqlLedger) -> None:
    play(
        ledger,
        [
            History("stub", "template", (Step("template", G),)),
            History("stub", "template", (Step("template", G),)),
            History("feature", "junior", (Step("junior", CF),), status=Status.NEEDS_HUMAN),
            History("feature", "junior", (Step("junior", RUNNING),), status=Status.RUNNING),
        ],
    )
    report = build_report(ledger)
    assert report.status_counts == (("done", 2), ("needs-human", 1), ("running", 1))
    assert report.tasks == 4


def test_scope_by_repo_and_since(ledger: SqlLedger, clock: Clock) -> None:
    play(ledger, [History("stub", "junior", (Step("junior", G, (1.0,)),), repo="o/r")])
    clock.now = T0 + timedelta(days=1)
    play(
        ledger,
        [
            History("stub", "junior", (Step("junior", G, (2.0,)),), repo="o/r"),
            History("stub", "junior", (Step("junior", G, (4.0,)),), repo="other/repo"),
        ],
    )
    later = T0 + timedelta(hours=1)
    cases: list[tuple[str | None, datetime | None, float, int]] = [
        (None, None, 7.0, 3),
        ("o/r", None, 3.0, 2),
        (None, later, 6.0, 2),
        ("o/r", later, 2.0, 1),
        ("nobody", None, 0.0, 0),
    ]
    for repo, since, total, tasks in cases:
        report = build_report(ledger, repo=repo, since=since)
        assert report.total.usd == pytest.approx(total), (repo, since)
        assert report.tasks == tasks, (repo, since)
        assert (report.repo, report.since) == (repo, since)


def test_empty_report_renders(ledger: SqlLedger) -> None:
    report = build_report(ledger)
    assert report.total == Cost() and report.counterfactual == Cost()
    assert "$0.0000" in _render(report)
    assert report_to_json(report)["total"]["usd"] == 0.0


def _render(report: Report) -> str:
    console = Console(file=io.StringIO(), record=True, width=200, color_system=None)
    render_table(report, console)
    return console.export_text()
