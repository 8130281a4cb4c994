"""Feature issues in `tierbot report` (bot/audit/features.py and its outputs): planning
against doing per feature, and the subtasks' own spend table, on ledgers written by real
feature runs (the scripted model server over HTTP) and by the ledger's own API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot.adapters.ledger import ModelCallORM, SqlLedger, TaskRowORM
from bot.adapters.ledger_audit import audit_rows
from bot.audit.export import read_csv, write_csv
from bot.audit.model import summarize
from bot.cli import EXIT_DONE, cli
from bot.core.types import Outcome, Status
from tests.support.audit_ledger import T0, Call, Clock, History, Step, play
from tests.support.model_server import ScriptedModelServer, reply
from tests.test_audit_report import LADDER, _fill
from tests.test_orchestrator_local import (
    BAD_PLANS,
    DOCS,
    GOOD_DISCOUNT,
    WRONG_DISCOUNT,
    make,
    plan_reply,
    run,
)

pytest_plugins = ["tests.support.ledger_fixtures"]
G, CF = Outcome.GREEN, Outcome.CHECK_FAILED

# A GitHub feature issue planned on day 0 (its planner's call unpriced), whose subtasks ran
# on day 1; a plain docs task; and another repository's feature.
FEATURES = [
    History(
        "feature",
        "senior",
        (Step("senior", G, (Call(None),), 0.05),),
        slug="issue-9",
        title="Coupons <script>",
    ),
    History(
        "stub",
        "template",
        (Step("template", G, (Call(0.0, model="template"),), 0.01),),
        day=1,
        parent=0,
    ),
    History(
        "feature",
        "senior",
        (Step("senior", CF, (Call(0.03),), 0.03), Step("senior", G, (Call(0.02),), 0.02)),
        day=1,
        parent=0,
    ),
    History("docs", "intern", (Step("intern", G, (Call(0.001),), 0.02),), day=1),
    History("feature", "senior", (Step("senior", G, (Call(0.04),), 0.04),), repo="x/y"),
    History(
        "docs",
        "intern",
        (Step("intern", CF, (Call(0.002),), 0.02),),
        Status.NEEDS_HUMAN,
        repo="x/y",
        parent=4,
    ),
]


def _audit(ledger: SqlLedger, **scope: Any):  # type: ignore[no-untyped-def]
    return summarize(audit_rows(ledger, **scope), ladder=LADDER, **scope)


def _sums(ledger: SqlLedger, parent: int) -> dict[str, float]:
    """The recorded calls' costs, summed straight from the ledger's tables."""
    with ledger.read() as session:
        rows = session.execute(
            select(
                ModelCallORM.cost_usd, ModelCallORM.outcome, TaskRowORM.id, TaskRowORM.parent_id
            ).join(TaskRowORM, TaskRowORM.id == ModelCallORM.task_id)
        ).all()
    made = [r for r in rows if r.outcome != "refused"]
    return {
        "planning": sum(r.cost_usd for r in made if r.id == parent),
        "doing": sum(r.cost_usd for r in made if r.parent_id == parent),
        "planning_calls": sum(1 for r in made if r.id == parent),
    }


def test_ledger_split_with_unknown_planning_and_filters(ledger: SqlLedger, clock: Clock) -> None:
    ids = play(ledger, clock, FEATURES)
    audit = _audit(ledger, repo="o/r")
    (row,) = audit.to_json()["features"]
    assert (row["task_id"], row["ref"], row["status"]) == (ids[0], "o/r#9", "done")
    assert row["link"] == "https://github.com/o/r/issues/9"
    # The planner's cost is unknown: planning and the total say so, never $0.
    assert row["planning_cost_usd"] == "unknown" and row["planning_cost_unknown"] == 1
    assert row["total_cost_usd"] == "unknown"
    assert row["total_cost_known_usd"] == pytest.approx(0.05)
    assert row["doing_cost_usd"] == pytest.approx(0.03 + 0.02)
    assert (row["planning_calls"], row["doing_calls"], row["template_runs"]) == (1, 2, 1)
    assert (row["subtasks"], row["subtasks_done"]) == (2, 2)
    assert [row[f"done_at_{t}"] for t in LADDER] == [1, 0, 0, 1]
    assert row["senior_cost_usd"] == pytest.approx(0.05 + 0.01 + 0.03 + 0.02)
    # The subtasks' own table: the planner's call and the plain docs task are not in it.
    cells = {(s["task_type"], s["tier"], s["outcome"]): s for s in audit.to_json()["subtask_spend"]}
    assert set(cells) == {("stub", "template", "done"), ("feature", "senior", "done")}
    assert cells[("feature", "senior", "done")]["calls"] == 2

    # A subtask goes with its feature: the feature of day 0 brings its subtasks of day 1.
    day1 = T0.replace(hour=0).replace(day=2)
    early = _audit(ledger, repo="o/r", until=day1)
    assert early.totals.tasks == 3 and len(early.features) == 1
    assert early.features[0].doing.usd == pytest.approx(0.05)
    late = _audit(ledger, repo="o/r", since=day1)
    assert late.totals.tasks == 1 and late.features == () and late.subtask_spend == ()
    both = _audit(ledger)
    assert [(f.repo, f.subtasks, f.subtasks_done, f.status) for f in both.features] == [
        ("o/r", 2, 2, "done"),
        ("x/y", 1, 0, "done"),
    ]
    assert both.features[1].doing.usd == pytest.approx(0.002)


def test_ledger_split_in_every_format(ledger: SqlLedger, clock: Clock, tmp_path: Path) -> None:
    play(ledger, clock, FEATURES)
    for i, scope in enumerate([{}, {"repo": "x/y"}, {"since": T0.replace(day=2)}]):
        audit = _audit(ledger, **scope)
        data = json.loads(json.dumps(audit.to_json()))
        write_csv(audit, tmp_path / f"c{i}")
        back = read_csv(tmp_path / f"c{i}")
        assert back == {k: data[k] for k in audit.tables()}
        assert "features" in back and "subtask_spend" in back
    pytest.importorskip("plotly")
    from bot.audit.html import render_html

    page = render_html(_audit(ledger, repo="o/r"))
    table = page.split('id="features-table"')[1].split("</table>")[0]
    assert 'data-key="planning_cost_usd">unknown</td>' in table
    assert 'data-key="doing_cost_usd">$0.0500</td>' in table
    assert "Coupons &lt;script&gt;" in table and "<script>" not in table


@pytest.fixture
def server() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as running:
        yield running


def _report(repo: Path, *args: str) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["report", "--repo", str(repo), "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _ledger(repo: Path) -> SqlLedger:
    return SqlLedger(f"sqlite:///{repo.resolve() / '.git' / 'tierbot' / 'ledger.sqlite3'}")


def test_a_feature_run_reports_planning_against_doing(
    tmp_path: Path, server: ScriptedModelServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # The hard subtask fails the check once and is retried: both its calls are doing.
    server.script(
        "senior-model", [reply(plan_reply()), reply(WRONG_DISCOUNT), reply(GOOD_DISCOUNT)]
    )
    server.script("intern-model", [reply(DOCS)])
    repo = make(tmp_path, server.url)
    code, result, _ = run(capsys, repo, "--type", "feature")
    assert code == EXIT_DONE, result

    data = _report(repo)
    (row,) = data["features"]
    with _ledger(repo) as ledger:
        sums = _sums(ledger, result["task_id"])
    assert row["task_id"] == result["task_id"] and row["ref"] == result["branch"]
    assert row["planning_cost_usd"] == pytest.approx(sums["planning"])
    assert row["planning_cost_usd"] == pytest.approx(result["planner"]["cost_usd"])
    assert row["doing_cost_usd"] == pytest.approx(sums["doing"])
    assert row["doing_cost_usd"] == pytest.approx(sum(s["cost_usd"] for s in result["subtasks"]))
    assert row["total_cost_usd"] == pytest.approx(result["cost_usd"])
    assert row["senior_cost_usd"] == pytest.approx(result["senior_cost_usd"])
    assert (row["planning_calls"], row["doing_calls"]) == (1, 3)
    assert (row["subtasks"], row["subtasks_done"]) == (5, 5)
    done_at = {t: row[f"done_at_{t}"] for t in ("template", "intern", "junior", "senior")}
    assert done_at == {"template": 3, "intern": 1, "junior": 0, "senior": 1}
    subtasks = data["subtask_spend"]
    assert sum(s["cost_usd"] for s in subtasks) == pytest.approx(sums["doing"])
    assert sum(s["calls"] for s in subtasks) == 3

    files = CliRunner().invoke(cli, ["report", "--repo", str(repo), "--csv", str(tmp_path / "c")])
    assert files.exit_code == 0, files.output
    assert read_csv(tmp_path / "c")["features"] == data["features"]
    table = CliRunner().invoke(cli, ["report", "--repo", str(repo)], env={"COLUMNS": "200"})
    assert "Feature issues: planning against doing" in table.stdout
    assert "3 template, 1 intern, 1 senior" in table.stdout
    assert f"${row['planning_cost_usd']:.4f}" in table.stdout


def test_a_rejected_plan_counts_both_planner_calls_and_the_fallback_is_doing(
    tmp_path: Path, server: ScriptedModelServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.script("senior-model", [reply(BAD_PLANS["not json"])])
    server.script("junior-model", [reply(GOOD_DISCOUNT.replace("shop/discount.py", "shop/d.py"))])
    repo = make(tmp_path, server.url)
    code, result, _ = run(capsys, repo, "--type", "feature")
    assert code == EXIT_DONE and not result["orchestrated"]

    (row,) = _report(repo)["features"]
    with _ledger(repo) as ledger:
        sums = _sums(ledger, result["task_id"])
    assert row["planning_calls"] == sums["planning_calls"] == 2
    assert row["planning_cost_usd"] == pytest.approx(sums["planning"])
    assert row["doing_cost_usd"] == pytest.approx(sums["doing"]) and sums["doing"] > 0
    assert (row["subtasks"], row["subtasks_done"], row["done_at_junior"]) == (1, 1, 1)
    assert row["total_cost_usd"] == pytest.approx(sums["planning"] + sums["doing"])


def test_no_feature_issue_says_so_and_shows_no_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support.repos import make_repo

    monkeypatch.delenv("TIERBOT_DB_URL", raising=False)
    repo = make_repo(tmp_path / "repo", {"README.md": "hi\n"})
    _fill(repo)
    data = _report(repo)
    assert data["features"] == [] and data["subtask_spend"] == []
    table = CliRunner().invoke(cli, ["report", "--repo", str(repo)], env={"COLUMNS": "200"})
    assert "Feature issues: none in this scope" in table.stdout
    assert "planning against doing" not in table.stdout
    assert "Subtasks alone" not in table.stdout
    pytest.importorskip("plotly")
    page = tmp_path / "r.html"
    assert (
        CliRunner().invoke(cli, ["report", "--repo", str(repo), "--html", str(page)]).exit_code == 0
    )
    html = page.read_text()
    assert 'id="features-none"' in html and 'id="features-table"' not in html
    assert 'id="subtask-spend-table"' not in html


def test_the_feature_table_fits_an_80_column_terminal_with_unknown_amounts(
    ledger: SqlLedger, clock: Clock
) -> None:
    from rich.console import Console

    play(ledger, clock, FEATURES)
    console = Console(width=80, record=True, color_system=None)
    from bot.audit.export import render_table

    render_table(_audit(ledger, repo="o/r"), console)
    text = console.export_text()
    section = text.split("Feature issues: planning against doing")[1].split("Green rate")[0]
    assert all(len(line) <= 80 for line in section.splitlines())
    # Every column is there, and the unknown planning cost is said, not cut off or shown as $0.
    assert "all senior" in section and "planning" in section and "o/r#9" in section
    assert "unknown" in section and "$0.0500" in section and "2 of 2" in section
