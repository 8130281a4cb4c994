"""``tierbot:auto``: triage an untyped issue, then run the chosen type's task as its label would.

The task handlers in process against the GitHub emulator and the scripted model server (the
``bench``), the config rules, and one run end to end through ``tierbot serve`` and a worker.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.adapters.github_tasks import IssueTaskStore
from bot.adapters.ledger.tables import TaskRowORM
from bot.config import ConfigError, load_config
from bot.core.state import MARKER_PREFIX
from bot.core.types import Status
from bot.handlers.ci import escalate_on_red_ci
from bot.handlers.tasks import cancel_task, start_task_on_label
from bot.orchestrator.github import status_body as feature_status
from bot.orchestrator.state import FeatureResult
from bot.orchestrator.triage import Decision
from bot.ports.github import CommentInfo
from bot.ports.tasks import IssueTask
from tests.support.fake_github import FakeGitHub, fake_context
from tests.support.github_emulator import GitHubEmulator
from tests.support.handlers import REPO, Bench, repo_config
from tests.support.model_server import ScriptedModelServer, reply
from tests.support.repos import CALC, GOOD_MUL, tier_config
from tests.support.server import TierbotProcesses, serving_app
from tests.test_action import STATUS as ACTION_STATUS
from tests.test_action import comment_store
from tests.test_e2e_github import SECRET, labels, pulls, status_comments, wait_finished
from tests.test_gates import labeled

pytest_plugins = ["tests.support.github_emulator.fixtures", "tests.support.handler_fixtures"]

GRUNT = "Add skeleton tests for calc.py"
VAGUE_TITLE, VAGUE_BODY = "Coupons", "The coupon thing, see chat."
DOCS = "### docs/coupons.md\n```markdown\n# Coupons\n\nA coupon takes a percentage off.\n```\n"
INTERN = "intern-model"
PRICED_INTERN = (
    "model: openai/intern-model\n    price: {input_per_mtok: 1.0, output_per_mtok: 2.0}\n"
)


def priced_config(url: str) -> str:
    """The bench's config with a price on the intern tier, so the triage call has a cost."""
    return repo_config(url).replace("model: openai/intern-model\n", PRICED_INTERN, 1)


def status_body(bench: Bench, number: int) -> str:
    [status] = [c for c in bench.bot_comments(number) if MARKER_PREFIX in c.body]
    return str(status.body)


def ledger_tasks(bench: Bench) -> list[Any]:
    """The ledger's task rows in order: id, type, status and cost."""
    columns = (TaskRowORM.id, TaskRowORM.type, TaskRowORM.status, TaskRowORM.cost_usd)
    with bench.ledger.read() as session:
        return list(session.execute(select(*columns).order_by(TaskRowORM.id)).all())


def triage_tasks(bench: Bench) -> list[Any]:
    return [row for row in ledger_tasks(bench) if row.type == "triage"]


def task_types(bench: Bench) -> list[str]:
    return [row.type for row in ledger_tasks(bench)]


def stored(bench: Bench, number: int) -> IssueTask:
    item = IssueTaskStore(bench.ledger).get(REPO, number)
    assert item is not None
    return item


def grunt_issue(bench: Bench) -> int:
    bench.make_repo({"calc.py": CALC, "tests/__init__.py": ""})
    return bench.emulator.open_issue(REPO, GRUNT).number


# -- in process: the handlers against the emulator ----------------------------------------


def test_a_grunt_issue_is_triaged_by_its_words_for_free_and_runs_as_tests(bench: Bench):
    number = grunt_issue(bench)

    start_task_on_label(bench.label(number, "tierbot:auto"), bench.ctx)
    bench.emulator.wait_for_ci()
    escalate_on_red_ci(bench.event("check_suite", "completed"), bench.ctx)

    assert bench.models.requests == []
    assert triage_tasks(bench) == [] and task_types(bench) == ["tests"]
    body = status_body(bench, number)
    assert "tierbot: tests task — done" in body
    head = body.split("\n")[2]
    assert head.startswith("**Triage:** tests — ") and head.endswith("(keywords, $0)")
    item = stored(bench, number)
    assert item.label == "tierbot:auto" and item.status == "done"
    assert item.triage is not None and item.triage["type"] == "tests"
    [pr] = [i for i in bench.emulator.repo(REPO).issues.values() if i.pull is not None]
    assert pr.pull is not None and pr.pull.head_ref == f"tierbot/issue-{number}"
    assert "tierbot:done" in {label.name for label in bench.issue(number).labels}


def test_a_vague_issue_asks_the_cheapest_tier_once_and_says_why(bench: Bench):
    answer = '```json\n{"type": "docs", "reason": "it asks for a page about coupons"}\n```'
    bench.models.script(INTERN, [reply(answer), reply(DOCS)])
    bench.make_repo({"calc.py": CALC}, config=priced_config(bench.models.url))
    number = bench.emulator.open_issue(REPO, VAGUE_TITLE, body=VAGUE_BODY).number

    start_task_on_label(bench.label(number, "tierbot:auto"), bench.ctx)

    calls = bench.models.requests_for(INTERN)
    assert len(calls) == 2 and bench.models.requests == calls  # the triage, then the docs task
    assert "UNTRUSTED" in json.dumps(calls[0].messages)
    [row] = triage_tasks(bench)
    assert row.cost_usd is not None and row.cost_usd > 0
    assert [a.tier for a in bench.ledger.attempts(row.id)] == ["intern"]
    assert task_types(bench) == ["triage", "docs"]
    body = status_body(bench, number)
    assert "tierbot: docs task — running" in body
    assert (
        "**Triage:** docs — it asks for a page about coupons "
        f"(asked the intern tier, ${row.cost_usd:.4f})" in body.split("\n")[2]
    )
    assert stored(bench, number).triage == {
        "type": "docs",
        "reason": "it asks for a page about coupons",
        "source": "model",
        "cost_usd": row.cost_usd,
        "tier": "intern",
    }


def test_an_unusable_answer_falls_back_to_the_orchestrator_and_says_so(bench: Bench):
    bench.models.script(INTERN, [reply("Probably docs, or maybe a feature.")])
    bench.models.script("senior-model", [reply("I would rather not plan this.")])
    bench.models.script("junior-model", [reply(GOOD_MUL)])
    bench.make_repo({"calc.py": CALC}, config=priced_config(bench.models.url))
    number = bench.emulator.open_issue(REPO, VAGUE_TITLE, body=VAGUE_BODY).number

    start_task_on_label(bench.label(number, "tierbot:auto"), bench.ctx)

    assert len(bench.models.requests_for(INTERN)) == 1
    assert bench.models.requests_for("senior-model"), "the planner read the issue"
    head = status_body(bench, number).split("\n")[2]
    assert head.startswith(
        "**Triage:** feature, planned by the orchestrator — the triage answer is unusable: "
    )
    assert "; planning it as a feature (asked the intern tier, $0.0" in head
    assert stored(bench, number).triage["source"] == "fallback"  # type: ignore[index]


def test_a_concrete_label_replaces_the_auto_task(bench: Bench):
    bench.models.script("junior-model", [reply(GOOD_MUL)])
    number = grunt_issue(bench)
    start_task_on_label(bench.label(number, "tierbot:auto"), bench.ctx)
    assert stored(bench, number).triage is not None  # the tests task waits for CI

    start_task_on_label(bench.label(number, "tierbot:change"), bench.ctx)

    item = stored(bench, number)
    assert item.label == "tierbot:change" and item.triage is None and item.status == "running"
    assert task_types(bench) == ["tests", "change"]
    assert [t.status for t in ledger_tasks(bench)] == ["interrupted", "running"]
    body = status_body(bench, number)
    assert "tierbot: change task — running" in body and "Triage:" not in body
    assert len(bench.models.requests_for("junior-model")) == 1
    # Taking tierbot:auto off now leaves the task its new label started.
    bench.emulator.unlabel_issue(REPO, number, "tierbot:auto", sender="alice")
    cancel_task(bench.event("issues", "unlabeled"), bench.ctx)
    assert stored(bench, number).status == "running"


def test_removing_the_auto_label_cancels_its_task(bench: Bench):
    number = grunt_issue(bench)
    start_task_on_label(bench.label(number, "tierbot:auto"), bench.ctx)

    bench.emulator.unlabel_issue(REPO, number, "tierbot:auto", sender="alice")
    cancel_task(bench.event("issues", "unlabeled"), bench.ctx)

    assert stored(bench, number).status == "cancelled"
    body = status_body(bench, number)
    assert "tierbot: tests task — cancelled" in body
    assert "Cancelled: the label tierbot:auto was removed." in body
    assert "**Triage:** tests" in body


def test_a_repeated_delivery_does_not_triage_again(bench: Bench):
    answer = '{"type": "docs", "reason": "a page"}'
    bench.models.script(INTERN, [reply(answer), reply(DOCS)])
    bench.make_repo({"calc.py": CALC}, config=priced_config(bench.models.url))
    number = bench.emulator.open_issue(REPO, VAGUE_TITLE, body=VAGUE_BODY).number
    event = bench.label(number, "tierbot:auto")
    start_task_on_label(event, bench.ctx)

    start_task_on_label(event, bench.ctx)

    assert len(bench.models.requests_for(INTERN)) == 2 and len(triage_tasks(bench)) == 1


def test_a_dry_run_makes_no_triage_call(bench: Bench):
    bench.models.script(INTERN, [reply('{"type": "docs", "reason": "a page"}')])
    bench.make_repo({"calc.py": CALC})
    vague = bench.emulator.open_issue(REPO, VAGUE_TITLE, body=VAGUE_BODY).number
    grunt = bench.emulator.open_issue(REPO, GRUNT).number
    lines: list[str] = []
    bench.dry_run(lines.append)

    start_task_on_label(bench.label(vague, "tierbot:auto"), bench.ctx)
    start_task_on_label(bench.label(grunt, "tierbot:auto"), bench.ctx)

    assert bench.models.requests == [] and task_types(bench) == []
    assert bench.bot_comments(vague) == [] and bench.bot_comments(grunt) == []
    would = [line for line in lines if line.startswith("would ")]
    assert would == [
        f"would ask the intern tier once which task {REPO}#{vague} is",
        f"would run a feature task for {REPO}#{vague} on tierbot/issue-{vague}, "
        "from junior up to senior, then open a pull request",
        f"would run a tests task for {REPO}#{grunt} on tierbot/issue-{grunt}, "
        "from template up to junior, then open a pull request",
    ]


def test_a_planned_features_status_comment_opens_with_the_decision():
    decision = Decision("feature", "several kinds of work", "model", 0.0004, "intern")
    item = IssueTask(REPO, 7, label="tierbot:auto", triage=decision.to_json())
    result = FeatureResult(Status.RUNNING, "Subtasks are committed; CI decides.", 3, "b")

    body = feature_status(item, result, "")

    assert body.split("\n")[2] == (
        "**Triage:** feature, planned by the orchestrator — several kinds of work "
        "(asked the intern tier, $0.0004)"
    )
    assert Decision.from_json(decision.to_json()) == decision


def test_the_actions_status_comment_keeps_the_decision(tmp_path: Path):
    decision = Decision("tests", "the title asks for tests", "keywords")
    item = IssueTask(REPO, 3, label="tierbot:auto", status="running", triage=decision.to_json())
    store, _, _ = comment_store(tmp_path, [])
    body = store.body(ACTION_STATUS, item)
    store, _, _ = comment_store(tmp_path / "2", [CommentInfo(3, "tierbot[bot]", "Bot", body, None)])
    found = store.get(REPO, 3)
    assert found is not None and found.triage == decision.to_json()


# -- the config: the label is known, can be renamed or turned off ------------------------


def test_the_auto_label_is_in_the_defaults_and_a_config_without_it_keeps_it():
    assert load_config(None).plan.auto_label == "tierbot:auto"
    assert load_config("plan: {tier: junior}").plan.auto_label == "tierbot:auto"
    assert load_config("plan: {auto_label: 'tierbot:triage'}").plan.auto_label == "tierbot:triage"
    assert load_config("plan: {auto_label: null}").plan.auto_label is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "plan: {auto_label: tierbot:tests}",
            "plan.auto_label: 'tierbot:tests' is the label of task_types.tests; "
            "the triage label must be a label of its own",
        ),
        (
            "plan: {auto_label: 'tierbot:done'}",
            "plan.auto_label: 'tierbot:done' is an outcome label tierbot sets",
        ),
        (
            "plan: {auto_label: triage}",
            "plan.auto_label: expected a label starting with 'tierbot:', or null, got 'triage'",
        ),
    ],
)
def test_a_bad_auto_label_names_the_key_and_the_clash(text, message):
    with pytest.raises(ConfigError) as info:
        load_config(text)
    assert message in str(info.value)


def test_with_the_auto_label_turned_off_the_label_does_nothing(tmp_path):
    gh = FakeGitHub(roles={"alice": "write"})
    gh.files[".github/tierbot.yml"] = "plan: {auto_label: null}\n"
    ctx, store, ledger, _ = fake_context(gh, tmp_path)
    start_task_on_label(labeled("tierbot:auto"), ctx)
    assert gh.writes == [] and store.items == {} and ledger.tasks == {}


def test_a_reader_cannot_trigger_a_triage(tmp_path):
    gh = FakeGitHub(roles={"alice": "read"})
    ctx, store, ledger, _ = fake_context(gh, tmp_path)
    start_task_on_label(labeled("tierbot:auto"), ctx)
    assert gh.writes == [] and ledger.tasks == {} and len(store.refused) == 1


# -- end to end: tierbot serve and a worker -----------------------------------------------


@pytest.fixture
def models() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as server:
        yield server


@pytest.fixture
def tierbot(tmp_path: Path, github_emulator: GitHubEmulator) -> Iterator[TierbotProcesses]:
    with serving_app(tmp_path, github_emulator, SECRET) as procs:
        yield procs


def test_auto_label_end_to_end_free_triage_then_a_tests_pr(github_emulator, tierbot, models):
    check = f"{sys.executable} -m pytest -q -p no:cacheprovider"
    config = tier_config(models.url, check=check)
    github_emulator.create_repo(
        REPO, {"calc.py": CALC, "tests/__init__.py": "", ".github/tierbot.yml": config}
    )
    github_emulator.add_collaborator(REPO, "alice", "write")
    issue = github_emulator.open_issue(REPO, GRUNT)
    tierbot.start_worker()
    github_emulator.label_issue(REPO, issue.number, "tierbot:auto", sender="alice")

    wait_finished(github_emulator, tierbot, issue.number, timeout=90)
    assert labels(github_emulator, issue.number) >= {"tierbot:auto", "tierbot:done"}
    [pr] = pulls(github_emulator)
    assert pr.pull.head_ref == f"tierbot/issue-{issue.number}"
    [comment] = status_comments(github_emulator, issue.number)
    assert "tierbot: tests task — done" in comment.body
    assert "(keywords, $0)" in comment.body.split("\n")[2]
    assert models.requests == []
