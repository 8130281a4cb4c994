"""``tierbot action`` on bad runner setups: clear errors and exit codes, nothing touched."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from bot.action import snapshot
from bot.action.run import run_action
from bot.action.store import RUN_PREFIX, CommentTaskStore, read_block
from bot.action.summary import CallLine, render, total, write_outputs
from bot.adapters.github import CommentInfo
from bot.adapters.github_tasks import IssueTask
from bot.adapters.ledger import SqlLedger
from bot.core.logs import Redactor
from bot.core.state import MARKER_PREFIX
from bot.core.types import Task
from bot.ports import CallRecord
from tests.support.action_runner import read_outputs

# Nothing listens here: a run that tried to reach GitHub would fail, not pass.
NOWHERE = "http://127.0.0.1:9/api/v3"


def runner_env(tmp_path: Path, event: str, payload: Any, **extra: str) -> dict[str, str]:
    path = tmp_path / "event.json"
    if payload is not None:
        path.write_text(json.dumps(payload))
    env = {
        "GITHUB_EVENT_NAME": event,
        "GITHUB_EVENT_PATH": str(path),
        "GITHUB_REPOSITORY": "octo/shop",
        "GITHUB_API_URL": NOWHERE,
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "RUNNER_TEMP": str(tmp_path),
        "TIERBOT_GITHUB_TOKEN": "ghs_" + "a" * 36,
    }
    env.update(extra)
    return {k: v for k, v in env.items() if v != ""}


def run(env: dict[str, str]) -> tuple[int, list[str]]:
    lines: list[str] = []
    return run_action(env, echo=lines.append), lines


def repo_payload() -> dict[str, Any]:
    return {
        "name": "shop",
        "full_name": "octo/shop",
        "owner": {"login": "octo", "type": "User"},
        "default_branch": "main",
    }


@pytest.mark.parametrize("name", ["GITHUB_EVENT_NAME", "GITHUB_EVENT_PATH", "GITHUB_REPOSITORY"])
def test_a_missing_runner_variable_is_named(tmp_path: Path, name: str) -> None:
    code, lines = run(runner_env(tmp_path, "issues", {}, **{name: ""}))
    assert code == 2
    assert len(lines) == 1 and lines[0].startswith("error: ") and name in lines[0]


def test_a_missing_token_is_named(tmp_path: Path) -> None:
    code, lines = run(runner_env(tmp_path, "issues", {}, TIERBOT_GITHUB_TOKEN=""))
    assert code == 2 and "TIERBOT_GITHUB_TOKEN is not set" in lines[0]


def test_a_missing_event_file_is_named(tmp_path: Path) -> None:
    code, lines = run(runner_env(tmp_path, "issues", None))
    assert code == 2
    assert "GITHUB_EVENT_PATH" in lines[0] and "does not exist" in lines[0]


@pytest.mark.parametrize("text", ["{not json", "[1, 2]"])
def test_an_event_file_that_is_no_json_object_is_an_error(tmp_path: Path, text: str) -> None:
    env = runner_env(tmp_path, "issues", None)
    Path(env["GITHUB_EVENT_PATH"]).write_text(text)
    code, lines = run(env)
    assert code == 2 and "GITHUB_EVENT_PATH" in lines[0]


def test_a_malformed_payload_is_an_error(tmp_path: Path) -> None:
    code, lines = run(runner_env(tmp_path, "issues", {"action": "labeled", "issue": "x"}))
    assert code == 2 and "not a issues event" in lines[0]


@pytest.mark.parametrize(
    ("event", "payload", "kind"),
    [
        ("star", {"action": "created"}, "star"),
        (
            "issues",
            {"action": "opened", "issue": {"number": 1}, "repository": repo_payload()},
            "issues.opened",
        ),
    ],
)
def test_an_event_tierbot_does_not_handle_is_one_line_and_exit_0(
    tmp_path: Path, event: str, payload: Any, kind: str
) -> None:
    env = runner_env(tmp_path, event, payload)
    code, lines = run(env)
    assert code == 0
    assert lines == [f"tierbot does not act on {kind} events; nothing to do"]
    assert read_outputs(Path(env["GITHUB_OUTPUT"]))["status"] == "ignored"
    assert "nothing to do" in Path(env["GITHUB_STEP_SUMMARY"]).read_text()


def test_a_fork_pull_request_without_secrets_is_explained_and_touches_nothing(
    tmp_path: Path,
) -> None:
    fork = {**repo_payload(), "full_name": "mallory/shop"}
    payload = {
        "action": "opened",
        "number": 7,
        "repository": repo_payload(),
        "sender": {"login": "mallory", "type": "User"},
        "pull_request": {
            "number": 7,
            "title": "x",
            "head": {"ref": "main", "sha": "a" * 40, "repo": fork},
            "base": {"ref": "main", "sha": "b" * 40, "repo": repo_payload()},
        },
    }
    env = runner_env(tmp_path, "pull_request", payload)
    code, lines = run(env)
    assert code == 0
    assert "fork mallory/shop" in lines[-1]
    assert "workflows of forks get no secrets" in Path(env["GITHUB_STEP_SUMMARY"]).read_text()
    assert read_outputs(Path(env["GITHUB_OUTPUT"]))["status"] == "skipped"


def test_outputs_are_delimited_so_a_value_cannot_set_another(tmp_path: Path) -> None:
    path = tmp_path / "output"
    write_outputs(path, {"status": "done\npull-request=666", "cost": "0.1"})
    assert read_outputs(path) == {"status": "done\npull-request=666", "cost": "0.1"}


def test_the_cost_table_sums_this_run_and_says_unknown() -> None:
    lines = [
        CallLine("intern", "openai/i", 10, 5, 0.0, "check-failed", False),
        CallLine("junior", "openai/j", 100, 50, 0.25, "green", True),
        CallLine("senior", "openai/s", None, None, None, "refused", True),
    ]
    text = render("Done.", lines)
    assert "| 2 (this run) | junior | `openai/j` | 100 | 50 | $0.2500 | green |" in text
    assert "**This run:** $0.2500 over 2 call(s)" in text
    assert total(lines) == 0.25
    assert total([*lines, CallLine("x", "m", 1, 1, None, "ok", True)]) is None


def test_a_snapshot_round_trips_and_renumbers_beside_another(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.sqlite3'}"
    ledger = SqlLedger(url)
    task = Task(type="stub", text="x", title="T", slug="issue-3", budget_key="octo/shop#3")
    task_id = ledger.start_task(repo="octo/shop", task=task, start_tier="intern", ceiling="senior")
    attempt = ledger.start_attempt(task_id, number=1, tier="intern")
    ledger.record_call(task_id, attempt, CallRecord("intern", "m", 10, 5, 0.01, 0.5, "ok"))
    data = snapshot.decode(
        snapshot.encode(
            snapshot.dump(create_engine(url), repo="octo/shop", slug="issue-3", budget_key="k")
        )
    )
    other = create_engine(f"sqlite:///{tmp_path / 'b.sqlite3'}")
    snapshot.create_tables(other)
    snapshot.load(other, data)
    snapshot.load(other, data, renumber=True)
    with other.connect() as conn:
        calls = conn.execute(select(snapshot.CALLS)).mappings().all()
    assert [(c["task_id"], c["attempt_id"], c["cost_usd"]) for c in calls] == [
        (task_id, attempt, 0.01),
        (task_id + 1, attempt + 1, 0.01),
    ]
    with pytest.raises(snapshot.SnapshotError):
        snapshot.decode("not base64 !")
    with pytest.raises(snapshot.SnapshotError):
        snapshot.load(other, {"v": 99})


class CommentsOnly:
    """The forge reads the store makes: an issue's comments, and which are the bot's own."""

    def __init__(self, comments: list[CommentInfo]) -> None:
        self.list = comments

    def comments(self, repo: str, number: int) -> list[CommentInfo]:
        return list(self.list)

    def is_own(self, comment: CommentInfo) -> bool:
        return comment.author == "tierbot[bot]"


def comment_store(tmp_path: Path, comments: list[CommentInfo]) -> tuple[Any, list[Any], list[str]]:
    written: list[Any] = []
    warnings: list[str] = []
    tmp_path.mkdir(parents=True, exist_ok=True)
    store = CommentTaskStore(
        CommentsOnly(comments),  # type: ignore[arg-type]
        act=written.append,
        ledger=create_engine(f"sqlite:///{tmp_path / 'ledger.sqlite3'}"),
        redactor=Redactor(),
        warn=warnings.append,
    )
    return store, written, warnings


STATUS = f"### tierbot\n\n{MARKER_PREFIX}{{}} -->"


def test_a_block_that_does_not_parse_is_ignored_with_a_warning_and_rewritten(
    tmp_path: Path,
) -> None:
    damaged = CommentInfo(1, "tierbot[bot]", "Bot", f"{STATUS}\n{RUN_PREFIX}!!not-base64 -->", None)
    store, written, warnings = comment_store(tmp_path, [damaged])
    assert store.get("octo/shop", 3) is None
    assert len(warnings) == 1 and "ignored" in warnings[0]
    store.save(IssueTask("octo/shop", 3, label="tierbot:stub", status="running"))
    [upsert] = written
    assert "!!not-base64" not in upsert.body
    block = read_block(upsert.body)
    assert block is not None and block["item"]["label"] == "tierbot:stub"


def test_a_block_pasted_by_someone_else_is_never_read(tmp_path: Path) -> None:
    store, _, _ = comment_store(tmp_path, [])
    good = store.body(STATUS, IssueTask("octo/shop", 3, label="tierbot:stub", status="done"))
    pasted = CommentInfo(2, "mallory", "User", good, None)
    store, _, warnings = comment_store(tmp_path / "2", [pasted])
    assert store.get("octo/shop", 3) is None and warnings == []
    own = CommentInfo(3, "tierbot[bot]", "Bot", good, None)
    store, _, _ = comment_store(tmp_path / "3", [pasted, own])
    found = store.get("octo/shop", 3)
    assert found is not None and found.status == "done" and found.comment_id == 3
