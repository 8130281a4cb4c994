"""Tests for bot/core/calibration.py (pure), `tierbot calibrate` and `routing: adaptive`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.adapters.ledger import SqlLedger
from bot.adapters.ledger_audit import task_outcomes
from bot.audit.adaptive import start
from bot.cli import main
from bot.config import ConfigError, load_config
from bot.core.calibration import TaskOutcome, explores, recommend, wilson
from tests.support.audit_ledger import Clock, History, Step, calibration_histories, play
from tests.support.repos import CALC, git, make_repo

LADDER = ("template", "intern", "junior", "senior")


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        (0, 0, 0.0, 1.0),
        (0, 10, 0.0, 0.2775),
        (5, 10, 0.2366, 0.7634),
        (9, 10, 0.5958, 0.9821),
        (10, 10, 0.7225, 1.0),
        (81, 263, 0.2553, 0.3662),  # Wilson (1927) / Newcombe (1998) worked example shape
    ],
)
def test_wilson_interval(k: int, n: int, low: float, high: float) -> None:
    got = wilson(k, n)
    assert got == pytest.approx((low, high), abs=5e-4)


def test_wilson_rejects_impossible_counts() -> None:
    with pytest.raises(ValueError, match="11 successes out of 10"):
        wilson(11, 10)


def _outcomes(task_type: str, start_tier: str, done: int, failed: int, cost: float | None):
    return [TaskOutcome(task_type, start_tier, True, cost)] * done + [
        TaskOutcome(task_type, start_tier, False, cost)
    ] * failed


def test_cost_per_done_task_charges_failures_and_escalations() -> None:
    outs = _outcomes("tests", "intern", 8, 2, 0.01) + _outcomes("tests", "senior", 10, 0, 0.05)
    rec = recommend(
        "tests", outs, ladder=LADDER, configured="senior", ceiling="senior", min_history=10
    )
    intern = next(r for r in rec.records if r.tier == "intern")
    # Ten tasks cost $0.10 in all, and eight ended done.
    assert intern.cost_per_done_usd == pytest.approx(0.1 / 8)
    assert rec.tier == "intern" and rec.changes
    assert "8/10 done" in rec.reason


def test_a_cheap_start_that_fails_far_more_often_is_not_recommended() -> None:
    outs = _outcomes("x", "intern", 5, 25, 0.0001) + _outcomes("x", "senior", 30, 0, 0.05)
    rec = recommend("x", outs, ladder=LADDER, configured="intern", ceiling="senior", min_history=10)
    assert rec.tier == "senior"


def test_too_little_history_recommends_nothing_and_says_how_many_more() -> None:
    outs = _outcomes("tests", "intern", 4, 1, 0.01)
    rec = recommend(
        "tests", outs, ladder=LADDER, configured="template", ceiling="junior", min_history=20
    )
    assert rec.tier is None and rec.needed == 15
    assert "15 more needed" in rec.reason


def test_unknown_costs_never_count_as_free() -> None:
    outs = _outcomes("t", "intern", 10, 0, None) + _outcomes("t", "senior", 10, 0, 0.05)
    rec = recommend("t", outs, ladder=LADDER, configured="senior", ceiling="senior", min_history=5)
    assert rec.tier == "senior"  # intern's cost is unknown: it cannot win on cost


def test_the_ceiling_bounds_the_recommendation() -> None:
    outs = _outcomes("t", "senior", 10, 0, 0.0) + _outcomes("t", "junior", 10, 0, 0.01)
    rec = recommend("t", outs, ladder=LADDER, configured="junior", ceiling="junior", min_history=5)
    assert rec.tier == "junior"


@pytest.mark.parametrize(
    ("share", "explored"), [(0.1, [9, 19]), (0.25, [3, 7, 11, 15, 19]), (0, [])]
)
def test_exploration_share_is_exact(share: float, explored: list[int]) -> None:
    assert [n for n in range(20) if explores(n, share)] == explored


# --- on a generated ledger ------------------------------------------------------------------


def _rates(intern_tests: float, intern_refactor: float):  # type: ignore[no-untyped-def]
    def tests(tier: str, escalated: bool) -> float:
        return {"intern": intern_tests, "junior": 0.9, "senior": 0.95}[tier]

    def refactor(tier: str, escalated: bool) -> float:
        # A tier that inherits a failed attempt's commits passes less often.
        fresh = {"intern": intern_refactor, "junior": 0.3, "senior": 0.9}[tier]
        return fresh * (2 / 3) if escalated else fresh

    return tests, refactor


def _generated(ledger: SqlLedger, per_start: int, repo: str = "o/r") -> None:
    tests, refactor = _rates(0.9, 0.1)
    histories = calibration_histories(
        "tests", tests, starts=("intern", "senior"), per_start=per_start, repo=repo
    ) + calibration_histories(
        "refactor", refactor, starts=("intern", "senior"), per_start=per_start, repo=repo
    )
    play(ledger, Clock(), histories)


def test_generated_ledger_recommends_intern_for_tests_and_senior_for_refactor(
    tmp_path: Path,
) -> None:
    with SqlLedger(f"sqlite:///{tmp_path / 'l.db'}") as ledger:
        _generated(ledger, per_start=30)
        outs = task_outcomes(ledger, repo="o/r")
    config = load_config(None)
    got = {}
    for task_type in ("tests", "refactor"):
        spec = config.task_type(task_type)
        got[task_type] = recommend(
            task_type,
            outs,
            ladder=config.ladder,
            configured=spec.start,
            ceiling="senior",
            min_history=20,
        ).tier
    assert got == {"tests": "intern", "refactor": "senior"}


def test_five_tasks_recommend_nothing(tmp_path: Path) -> None:
    with SqlLedger(f"sqlite:///{tmp_path / 'l.db'}") as ledger:
        tests, _ = _rates(0.9, 0.1)
        play(
            ledger, Clock(), calibration_histories("tests", tests, starts=("intern",), per_start=5)
        )
        outs = task_outcomes(ledger, repo="o/r")
    rec = recommend(
        "tests", outs, ladder=LADDER, configured="template", ceiling="junior", min_history=20
    )
    assert rec.tier is None and rec.needed == 15


# --- routing config and the adaptive start ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("routing: sometimes", "unknown value 'sometimes'"),
        ("routing: {mode: adaptive, explore: 1.5}", "a number in [0, 1)"),
        ("routing: {mode: adaptive, min_history: 0}", "an integer >= 1"),
        ("routing: {mode: adaptive, warmup: 3}", "unknown key"),
        ("dashboard: yes please", "true or false"),
    ],
)
def test_bad_routing_config(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace(")", r"\)")):
        load_config(text)


class _History:
    def __init__(self, outs: list[TaskOutcome]) -> None:
        self.outs = outs

    def task_outcomes(self, repo: str, task_type: str) -> list[TaskOutcome]:
        return [o for o in self.outs if o.task_type == task_type]


def test_adaptive_start_follows_the_recommendation_and_says_why() -> None:
    config = load_config("routing: {mode: adaptive, min_history: 10, explore: 0.1}")
    outs = _outcomes("feature", "senior", 10, 0, 0.05) + _outcomes("feature", "junior", 9, 1, 0.01)
    begin = start(config, "feature", "o/r", _History(outs))  # 20 tasks: no exploration
    assert begin.ladder.start == "junior"
    assert begin.why.startswith("start at junior (calibrated on 20 tasks)")
    # The 10th task of every 10 explores one tier lower.
    begin = start(config, "feature", "o/r", _History(outs[:19]))
    assert begin.ladder.start == "intern" and "exploring one tier below" in begin.why
    # Static routing never reads the history.
    static = start(load_config(None), "feature", "o/r", object())
    assert (static.ladder.start, static.why) == ("junior", "")
    few = start(config, "feature", "o/r", _History(outs[:3]))
    assert few.ladder.start == "junior" and "7 more needed" in few.why


# --- the command line, end to end -----------------------------------------------------------

CONFIG = """\
# The team's tierbot settings.
routing:
  mode: adaptive   # learn where to start
  min_history: 20
task_types:
  # tests start on the free tier by default; we tried paid tiers.
  tests: {start: senior, ceiling: senior}
  refactor: {start: intern, ceiling: senior}
"""


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("TIERBOT_DB_URL", raising=False)
    calc = CALC + "\n\ndef sub(a, b):\n    return a - b\n"
    return make_repo(tmp_path / "repo", {"calc.py": calc, ".github/tierbot.yml": CONFIG})


def _ledger(repo: Path) -> SqlLedger:
    return SqlLedger(f"sqlite:///{repo.resolve() / '.git' / 'tierbot' / 'ledger.sqlite3'}")


def test_calibrate_json_and_apply_keep_comments(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with _ledger(repo) as ledger:
        _generated(ledger, per_start=30, repo=str(repo.resolve()))
    assert main(["calibrate", "--repo", str(repo), "--json"]) == 0
    data = {r["task_type"]: r for r in json.loads(capsys.readouterr().out)}
    assert data["tests"]["recommended"] == "intern" and data["tests"]["changes"]
    assert data["refactor"]["recommended"] == "senior"
    starts = {s["tier"]: s for s in data["tests"]["starts"]}
    assert starts["intern"]["tasks"] == 30
    assert 0 <= starts["intern"]["done_rate_low"] <= starts["intern"]["done_rate"] <= 1
    assert data["stub"]["recommended"] is None and data["stub"]["needed"] == 20

    assert main(["calibrate", "--repo", str(repo), "--apply"]) == 0
    err = capsys.readouterr().err
    assert "task_types.tests.start: intern" in err and "task_types.refactor.start: senior" in err
    text = (repo / ".github/tierbot.yml").read_text()
    assert "# The team's tierbot settings." in text
    assert "mode: adaptive   # learn where to start" in text
    assert "# tests start on the free tier by default; we tried paid tiers." in text
    config = load_config(text)
    assert config.task_type("tests").start == "intern"
    assert config.task_type("refactor").start == "senior"
    # A second run changes nothing.
    assert main(["calibrate", "--repo", str(repo), "--apply"]) == 0
    assert "left as it is" in capsys.readouterr().err


def test_calibrate_without_history(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calibrate", "--repo", str(repo)]) == 0
    out, err = capsys.readouterr()
    assert "nothing to calibrate on" in err
    assert "tests: no recommendation: 0 ended tests task(s); 20 more needed" in out
    assert not (repo / ".git" / "tierbot").exists()


def test_adaptive_routing_in_a_real_run(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # History: tests tasks that started on the free template tier were all done for $0.
    root = str(repo.resolve())
    with _ledger(repo) as ledger:
        play(
            ledger,
            Clock(),
            [History("tests", "template", (Step("template", None),), repo=root)] * 0
            + [
                History("tests", "template", (Step("template", _green()),), repo=root)
                for _ in range(12)
            ]
            + [
                History("tests", "senior", (Step("senior", _green(), (_call(0.05),)),), repo=root)
                for _ in range(8)
            ],
        )
    code = main(["run", "--repo", str(repo), "Add skeleton tests for calc.py", "--type", "tests"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "start at template (calibrated on 20 tasks)" in err
    with _ledger(repo) as ledger:
        task = ledger.get_task(21)
    assert (task.start_tier, task.status) == ("template", "done")
    assert "tests/test_calc.py" in git(repo, "show", "--name-only", "--format=", task.branch or "")


def _green():  # type: ignore[no-untyped-def]
    from bot.core.types import Outcome

    return Outcome.GREEN


def _call(cost: float):  # type: ignore[no-untyped-def]
    from tests.support.audit_ledger import Call

    return Call(cost)
