"""The handlers' decisions, in-process against the fake GitHub at the port: fast, no HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from bot.core.state import MARKER_PREFIX
from bot.core.types import Status
from bot.events import Event, parse_event
from bot.handlers.ci import escalate_on_red_ci
from bot.handlers.commands import HELP, run_command
from bot.handlers.failures import hand_over_on_failure
from bot.handlers.tasks import cancel_task, start_task_on_label
from bot.ports.tasks import IssueTask
from bot.service.status import CONFIG_MARKER
from tests.support.fake_github import FakeGitHub, fake_context

REPO = {"name": "r", "owner": {"login": "o"}, "default_branch": "main"}
ALICE = {"login": "alice", "type": "User"}


def labeled(label: str = "tierbot:stub", sender: dict[str, str] = ALICE) -> Event:
    payload = {
        "action": "labeled",
        "label": {"name": label},
        "issue": {"number": 7, "title": "Add a stub", "body": "Create src/a.py"},
        "repository": REPO,
        "sender": sender,
    }
    return parse_event("issues", "d1", payload)


def comment(body: str, sender: dict[str, str] = ALICE) -> Event:
    payload = {
        "action": "created",
        "issue": {"number": 7, "title": "t", "body": ""},
        "comment": {"id": 1, "body": body},
        "repository": REPO,
        "sender": sender,
    }
    return parse_event("issue_comment", "d2", payload)


def writer() -> FakeGitHub:
    return FakeGitHub(roles={"alice": "write"})


def running(**fields: Any) -> IssueTask:
    base: dict[str, Any] = {"label": "tierbot:stub", "branch": "tierbot/issue-7"}
    return IssueTask("o/r", 7, **{**base, **fields})


def test_a_reader_is_refused_and_the_refusal_recorded(tmp_path):
    gh = FakeGitHub(roles={"alice": "read"})
    ctx, store, ledger, _lines = fake_context(gh, tmp_path)
    start_task_on_label(labeled(), ctx)
    assert gh.writes == [] and ledger.tasks == {}
    assert [r.reason for r in store.refused] == [
        "alice has read access; write, maintain or admin is needed"
    ]


def test_a_bot_is_refused(tmp_path):
    gh = writer()
    ctx, store, _, _ = fake_context(gh, tmp_path)
    start_task_on_label(labeled(sender={"login": "dependabot[bot]", "type": "Bot"}), ctx)
    assert gh.writes == [] and "is a bot" in store.refused[0].reason


def test_a_refusal_in_a_dry_run_is_only_said(tmp_path):
    gh = FakeGitHub(roles={"alice": "read"})
    ctx, store, _, lines = fake_context(gh, tmp_path, dry_run=True)
    start_task_on_label(labeled(), ctx)
    assert store.refused == [] and any(line.startswith("would Refuse") for line in lines)


def test_a_broken_config_gets_one_comment_and_no_task(tmp_path):
    gh = writer()
    gh.files[".github/tierbot.yml"] = "tiers: [not, a, mapping]\n"
    ctx, store, ledger, _ = fake_context(gh, tmp_path)
    start_task_on_label(labeled(), ctx)
    assert [(w[0], w[2]) for w in gh.writes] == [("upsert_comment", CONFIG_MARKER)]
    assert store.items == {} and ledger.tasks == {}


@pytest.mark.parametrize("label", ["bug", "tierbot:done", "tierbot:needs-human", "tierbot:nope"])
def test_labels_that_are_no_task_are_ignored(tmp_path, label):
    gh = writer()
    ctx, store, _, _ = fake_context(gh, tmp_path)
    start_task_on_label(labeled(label), ctx)
    assert gh.writes == [] and store.items == {} and store.refused == []


def test_a_dry_run_says_what_it_would_run_and_writes_nothing(tmp_path):
    gh = writer()
    ctx, store, ledger, lines = fake_context(gh, tmp_path, dry_run=True)
    start_task_on_label(labeled(), ctx)
    assert gh.writes == [] and store.items == {} and ledger.tasks == {}
    assert lines == [
        "would run a stub task for o/r#7 on tierbot/issue-7, from template up to junior, "
        "then open a pull request"
    ]


def test_a_duplicate_label_on_a_done_task_is_ignored(tmp_path):
    gh = writer()
    ctx, store, _, lines = fake_context(gh, tmp_path)
    store.save(running(status=Status.DONE))
    start_task_on_label(labeled(), ctx)
    assert gh.writes == [] and "ignored" in lines[-1]


def test_removing_the_label_cancels_the_running_task(tmp_path):
    gh = writer()
    ctx, store, _, _ = fake_context(gh, tmp_path)
    store.save(running())
    payload = {
        "action": "unlabeled",
        "label": {"name": "tierbot:stub"},
        "issue": {"number": 7, "title": "t", "body": ""},
        "repository": REPO,
        "sender": ALICE,
    }
    cancel_task(parse_event("issues", "d3", payload), ctx)
    item = store.get("o/r", 7)
    assert item is not None and item.status == Status.CANCELLED
    [(kind, number, marker, body)] = gh.writes
    assert (kind, number, marker) == ("upsert_comment", 7, MARKER_PREFIX)
    assert "the label tierbot:stub was removed" in body


def test_removing_another_label_cancels_nothing(tmp_path):
    gh = writer()
    ctx, store, _, _ = fake_context(gh, tmp_path)
    store.save(running())
    payload = {
        "action": "unlabeled",
        "label": {"name": "bug"},
        "issue": {"number": 7, "title": "t", "body": ""},
        "repository": REPO,
        "sender": ALICE,
    }
    cancel_task(parse_event("issues", "d3", payload), ctx)
    assert gh.writes == [] and store.get("o/r", 7).status == Status.RUNNING


def test_ci_of_a_branch_without_a_task_does_nothing(tmp_path):
    gh = writer()
    ctx, _, _, _ = fake_context(gh, tmp_path)
    payload = {
        "action": "completed",
        "workflow_run": {
            "id": 1,
            "head_branch": "tierbot/issue-7",
            "head_sha": "abc",
            "conclusion": "failure",
        },
        "repository": REPO,
    }
    escalate_on_red_ci(parse_event("workflow_run", "d4", payload), ctx)
    assert gh.writes == []


def test_an_unknown_command_gets_the_help(tmp_path):
    gh = writer()
    ctx, _, _, _ = fake_context(gh, tmp_path)
    run_command(comment("/tierbot frobnicate"), ctx)
    [(kind, number, body)] = gh.writes
    assert kind == "create_comment" and number == 7 and body.endswith(HELP)
    assert body.startswith("`/tierbot frobnicate` is not a command.")


def test_a_command_from_a_reader_is_refused(tmp_path):
    gh = FakeGitHub(roles={"alice": "triage"})
    ctx, store, _, _ = fake_context(gh, tmp_path)
    run_command(comment("/tierbot stop"), ctx)
    assert gh.writes == [] and store.refused[0].event == "issue_comment.created"


def test_stop_on_an_issue_without_a_task_says_so(tmp_path):
    gh = writer()
    ctx, _, _, _ = fake_context(gh, tmp_path)
    run_command(comment("/tierbot stop"), ctx)
    assert gh.writes == [
        ("create_comment", 7, "`/tierbot stop`: tierbot has no task for this issue.")
    ]


def test_a_failed_job_hands_the_running_task_to_a_human(tmp_path):
    gh = writer()
    ctx, store, _, _ = fake_context(gh, tmp_path)
    store.save(running(pr_number=9))
    hand_over_on_failure(labeled(), ctx, "GitHub answered 500")
    assert store.get("o/r", 7).status == Status.NEEDS_HUMAN
    kinds = [(w[0], w[1]) for w in gh.writes]
    assert kinds == [("upsert_comment", 7), ("add_labels", 7), ("add_labels", 9)]
    assert "GitHub answered 500" in gh.writes[0][3]
