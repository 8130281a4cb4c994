"""Tests for the audit report (bot/audit/model.py, export.py, html.py, cli.py report) and the
ledger queries it reads (bot/adapters/ledger_audit.py), on real ledgers and real git repos."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.adapters.ledger import SqlLedger
from bot.adapters.ledger_audit import audit_rows, ledger_exists
from bot.audit.export import read_csv, write_csv
from bot.audit.html import CHARTS, render_html
from bot.audit.model import summarize
from bot.audit.tables import UNKNOWN
from bot.cli import cli
from bot.config import load_config
from bot.core.types import Outcome, Status
from tests.support.audit_ledger import T0, Call, Clock, History, Step, play
from tests.support.repos import make_repo

pytest_plugins = ["tests.support.ledger_fixtures"]
LADDER = ("template", "intern", "junior", "senior")
G, CF, DEC = Outcome.GREEN, Outcome.CHECK_FAILED, Outcome.DECLINED

HISTORIES = [
    # Free and done.
    History("tests", "template", (Step("template", G, (Call(0.0, model="template"),), 0.02),)),
    # Declined by the template tier, done by intern.
    History(
        "stub",
        "template",
        (
            Step("template", DEC, (Call(0.0, model="template", outcome="declined"),), 0.0),
            Step("intern", G, (Call(0.001),), 0.03),
        ),
        day=1,
    ),
    # Climbed to senior and failed there: money spent, nothing saved.
    History(
        "feature",
        "junior",
        (
            Step("junior", CF, (Call(0.01),), 0.05),
            Step("senior", CF, (Call(0.08),), 0.08),
        ),
        Status.NEEDS_HUMAN,
        day=1,
        title="Add <b>bold</b> export",
        slug="issue-7",
    ),
    # A refused call (never made), a failed connection, then a priced call: one real call.
    History(
        "feature",
        "junior",
        (
            Step(
                "junior",
                G,
                (
                    Call(None, outcome="refused", tokens=(500, None)),
                    Call(0.0, outcome="unavailable", error="Connection error: refused"),
                    Call(0.02),
                ),
                0.1,
            ),
        ),
        day=2,
    ),
]


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _audit(ledger: SqlLedger, **scope: object):  # type: ignore[no-untyped-def]
    rows = audit_rows(ledger, **scope)  # type: ignore[arg-type]
    return summarize(rows, ladder=LADDER, **scope)  # type: ignore[arg-type]


def test_numbers_that_do_not_mislead(ledger: SqlLedger, clock: Clock) -> None:
    play(ledger, clock, HISTORIES)
    audit = _audit(ledger)
    t = audit.totals
    # Requests that reached a server: intern 1, feature 2 + 1; not the template runs, the
    # refused call, nor the failed connection.
    assert (t.calls, t.refused, t.unreached, t.template_runs) == (4, 1, 1, 2)
    assert t.spend.usd == pytest.approx(0.001 + 0.01 + 0.08 + 0.02)
    # The saving is over the three done tasks only; the needs-human task saved nothing.
    assert t.done_tasks == 3
    assert t.done_spend.usd == pytest.approx(0.021)
    assert t.senior_done.usd == pytest.approx(0.02 + 0.0 + 0.03 + 0.1)
    assert t.saving_usd == pytest.approx(0.15 - 0.021)
    # Spend is crossed with the outcome: the failed feature's money is its own row.
    cells = {(s.task_type, s.tier, s.outcome): s for s in audit.spend}
    assert cells[("feature", "senior", "needs-human")].cost.usd == pytest.approx(0.08)
    assert cells[("feature", "junior", "done")].calls == 1
    assert cells[("feature", "junior", "done")].refused == 1
    assert cells[("feature", "junior", "needs-human")].tasks == 1
    green = {(g.task_type, g.tier): (g.attempts, g.green, g.declined) for g in audit.green}
    assert green[("stub", "template")] == (1, 0, 1)
    assert green[("feature", "junior")] == (2, 1, 0)
    funnel = {f.tier: (f.reached, f.done, f.climbed, f.stopped) for f in audit.funnel}
    assert funnel["template"] == (2, 1, 1, 0)
    assert funnel["junior"] == (2, 1, 1, 0)
    assert funnel["senior"] == (1, 0, 0, 1)
    top = audit.top_tasks[0]
    assert (top.task_type, top.status, top.link) == (
        "feature",
        "needs-human",
        "https://github.com/o/r/issues/7",
    )
    assert [d.day.isoformat() for d in audit.days] == ["2025-03-01", "2025-03-02", "2025-03-03"]


def test_unknown_costs_are_unknown_in_every_format(
    ledger: SqlLedger, clock: Clock, tmp_path: Path
) -> None:
    play(
        ledger,
        clock,
        [History("docs", "intern", (Step("intern", G, (Call(None), Call(0.002))),))],
    )
    audit = _audit(ledger)
    data = audit.to_json()
    totals = data["totals"][0]
    assert totals["spend_cost_usd"] == UNKNOWN
    assert totals["spend_cost_known_usd"] == pytest.approx(0.002)
    assert totals["saving_usd"] == UNKNOWN
    assert data["spend"][0]["cost_usd"] == UNKNOWN
    write_csv(audit, tmp_path / "csv")
    assert read_csv(tmp_path / "csv")["totals"][0]["spend_cost_usd"] == UNKNOWN
    pytest.importorskip("plotly")
    page = render_html(audit)
    assert "unknown (≥ $0.0020; 1 of 2 unpriced)" in page
    assert "$0.0000" not in page.split('id="summary"')[1].split("</div></div>")[0]


def test_filters_and_csv_round_trip(ledger: SqlLedger, clock: Clock, tmp_path: Path) -> None:
    play(ledger, clock, [*HISTORIES, History("tests", "template", (), repo="x/y", day=1)])
    day1 = T0.replace(hour=0) + (T0 - T0)
    scopes = [
        {},
        {"repo": "o/r"},
        {"since": day1.replace(day=2)},
        {"until": day1.replace(day=2)},
        {"since": day1.replace(day=2), "until": day1.replace(day=3), "repo": "o/r"},
    ]
    seen = set()
    for i, scope in enumerate(scopes):
        audit = _audit(ledger, **scope)
        data = json.loads(json.dumps(audit.to_json()))
        out = tmp_path / f"csv{i}"
        write_csv(audit, out)
        assert read_csv(out) == {k: data[k] for k in audit.tables()}
        seen.add(audit.totals.tasks)
    # The filters changed what every format shows.
    assert len(seen) >= 4
    only = _audit(ledger, since=day1.replace(day=2), until=day1.replace(day=3), repo="o/r")
    assert only.totals.tasks == 2
    assert {s.task_type for s in only.spend} == {"stub", "feature"}


def test_html_is_self_contained_and_escapes_titles(ledger: SqlLedger, clock: Clock) -> None:
    pytest.importorskip("plotly")
    play(ledger, clock, HISTORIES)
    page = render_html(_audit(ledger))
    assert "<b>bold</b>" not in page.split("tierbot-audit")[0].split("</script>")[-1]
    assert "Add &lt;b&gt;bold&lt;/b&gt; export" in page
    # No network: no external script or stylesheet.
    assert not re.search(r"<script[^>]+src=", page)
    assert "cdn.plot.ly" not in page.replace("https://cdn.plot.ly", "")  # plotly.js mentions it
    for chart in CHARTS:
        assert f'id="{chart}"' in page
    embedded = page.split('id="tierbot-audit">')[1].split("</script>")[0]
    assert json.loads(embedded.replace("<\\/", "</"))["totals"][0]["tasks"] == 4


# --- the command line ---------------------------------------------------------------------


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.delenv("TIERBOT_DB_URL", raising=False)
    yield make_repo(tmp_path / "repo", {"README.md": "hi\n"})


def _local_ledger(root: Path) -> SqlLedger:
    return SqlLedger(f"sqlite:///{root.resolve() / '.git' / 'tierbot' / 'ledger.sqlite3'}")


def _fill(root: Path, extra: Sequence[History] = ()) -> None:
    """HISTORIES (then ``extra``, with its own parent indices) in the repository's ledger."""
    clock = Clock()
    local = str(root.resolve())
    with SqlLedger(
        f"sqlite:///{root.resolve() / '.git' / 'tierbot' / 'ledger.sqlite3'}", clock=clock
    ) as led:
        for histories in (HISTORIES, extra):
            play(led, clock, [replace(h, repo=local, slug="") for h in histories])


def test_no_ledger_writes_nothing_and_says_so(repo: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "report",
            "--repo",
            str(repo),
            "--csv",
            str(tmp_path / "c"),
            "--html",
            str(tmp_path / "r.html"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "no ledger yet" in result.stderr
    assert not (tmp_path / "c").exists() and not (tmp_path / "r.html").exists()
    # Reading did not create an empty ledger either.
    assert not ledger_exists(f"sqlite:///{repo / '.git' / 'tierbot' / 'ledger.sqlite3'}")
    assert not (repo / ".git" / "tierbot").exists()


def test_empty_scope_says_nothing_yet(repo: Path, tmp_path: Path) -> None:
    _fill(repo)
    result = CliRunner().invoke(
        cli,
        [
            "report",
            "--repo",
            str(repo),
            "--since",
            "2030-01-01",
            "--html",
            str(tmp_path / "r.html"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "nothing yet" in result.stderr
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "yesterday"], "is not a date"),
        (["--since", "2025-03-03", "--until", "2025-03-01"], "is not before --until"),
        (["--repo", "o/r"], "needs TIERBOT_DB_URL"),
    ],
)
def test_bad_input(
    repo: Path, args: list[str], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(repo)
    result = CliRunner().invoke(cli, ["report", *args])
    assert result.exit_code == 2
    assert message in result.stderr


def test_missing_report_extra_is_a_clear_error(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fill(repo)
    # The outermost edge: the import of the optional dependency fails.
    monkeypatch.setitem(sys.modules, "plotly", None)
    monkeypatch.setitem(sys.modules, "plotly.graph_objects", None)
    result = CliRunner().invoke(
        cli, ["report", "--repo", str(repo), "--html", str(tmp_path / "r.html")]
    )
    assert result.exit_code == 2
    assert "pip install 'tierbot[report]'" in result.stderr
    assert not (tmp_path / "r.html").exists()


def test_cli_formats_agree(repo: Path, tmp_path: Path) -> None:
    pytest.importorskip("plotly")
    _fill(repo)
    runner = CliRunner()
    for args in ([], ["--since", "2025-03-02"], ["--until", "2025-03-02T00:00:00+00:00"]):
        as_json = runner.invoke(cli, ["report", "--repo", str(repo), "--json", *args])
        assert as_json.exit_code == 0, as_json.output
        data = json.loads(as_json.stdout)
        out = tmp_path / f"out{len(args)}{args[:1]}"
        files = runner.invoke(
            cli,
            [
                "report",
                "--repo",
                str(repo),
                "--csv",
                str(out / "csv"),
                "--html",
                str(out / "r.html"),
                *args,
            ],
        )
        assert files.exit_code == 0, files.output
        assert read_csv(out / "csv") == {k: data[k] for k in read_csv(out / "csv")}
        page = (out / "r.html").read_text()
        embedded = json.loads(
            page.split('id="tierbot-audit">')[1].split("</script>")[0].replace("<\\/", "</")
        )
        assert embedded == data
    table = runner.invoke(cli, ["report", "--repo", str(repo)], terminal_width=200)
    assert table.exit_code == 0
    assert "calls that reached a model server" in table.stdout
    assert "saving on done tasks" in table.stdout


def test_a_prompt_estimate_never_exceeds_the_tiers_context(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main
    from tests.support.repos import git, tier_config, write

    # Multi-byte text: the byte bound that prices the worst case is far above the context.
    write(
        repo,
        {
            "notes.py": "# " + "é" * 30_000 + "\n",
            ".github/tierbot.yml": tier_config("http://127.0.0.1:9"),
        },
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "notes")
    args = ["--dry-run", "--json", "--type", "feature", "--no-plan", "Tidy notes.py"]
    code = main(["run", "--repo", str(repo), *args])
    assert code == 0
    plan = json.loads(capsys.readouterr().out)
    config = load_config((repo / ".github/tierbot.yml").read_text())
    for row in plan["tiers"]:
        tier = config.tier(row["tier"])
        if not tier.is_template:
            assert 0 < row["prompt_tokens"] <= tier.context_tokens - tier.max_tokens


def test_a_servers_ledger_by_repository_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'server.db'}"
    clock = Clock()
    with SqlLedger(url, clock=clock) as led:
        play(led, clock, [*HISTORIES, History("docs", "intern", (), repo="x/y")])
    monkeypatch.setenv("TIERBOT_DB_URL", url)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    one = runner.invoke(cli, ["report", "--repo", "o/r", "--json"])
    assert one.exit_code == 0, one.output
    assert json.loads(one.stdout)["totals"][0]["tasks"] == 4
    every = runner.invoke(cli, ["report", "--repo", "o/r", "--all-repos", "--json"])
    assert json.loads(every.stdout)["totals"][0]["tasks"] == 5
    assert json.loads(every.stdout)["scope"]["repo"] is None
