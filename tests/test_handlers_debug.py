"""CI diagnosis end to end: red CI in the GitHub emulator, the scripted model, a SQL ledger."""

from __future__ import annotations

import json
import logging

import pytest

from bot.adapters.git import CliGit
from bot.core.diagnosis import DIAGNOSIS_MARKER, Fix
from bot.core.types import Status
from bot.handlers.debug import debug_on_label
from bot.service.diagnosis import diagnose_pull
from bot.service.fix import fix_edits
from tests.support.github_emulator import server_error
from tests.support.handlers import REPO, SENIOR, Bench, repo_config
from tests.support.model_server import garbage, reply

pytest_plugins = ["tests.support.github_emulator.fixtures", "tests.support.handler_fixtures"]

CALC = "def add(a, b):\n    return a + b\n"
BROKEN = "def add(a, b):\n    return a - b\n"
CI = (
    "from calc import add\n\n"
    "total = add(20, 22)\n"
    'assert total == 42, f"total is {total}, expected 42"\n'
    'print("ok")\n'
)
SECRETS = {
    "password": "hunter2-swordfish",
    "github": "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8",
    "aws": "AKIAIOSFODNN7EXAMPLE",
    "openai": "sk-proj-Zx9Yw8Vu7Ts6Rq5Po4Nm3",
}
LEAKY_CI = (
    "import os\n"
    f"print('connecting with password={SECRETS['password']}')\n"
    f"print('export GITHUB_TOKEN={SECRETS['github']}')\n"
    f"print('aws key {SECRETS['aws']} loaded')\n"
    f"print('Authorization: Bearer {SECRETS['openai']}')\n" + CI
)


def diagnosis(fix: object = None, evidence: tuple[str, ...] = ()) -> str:
    body = {
        "likely_cause": "add() subtracts, so total is -2 instead of 42.",
        "evidence": list(evidence or ("AssertionError: total is -2, expected 42",)),
        "fix": fix,
    }
    return "```json\n" + json.dumps(body) + "\n```\n"


ONE_LINE = {"path": "calc.py", "line": 2, "suggestion": "    return a + b"}


def red_pull(
    bench: Bench, *, branch: str = "feature", ci: str = CI, extra: str = "", **files: str
) -> int:
    bench.make_repo(
        {"calc.py": CALC, "ci.py": CI},
        config=repo_config(bench.models.url, check="python ci.py", extra=extra),
    )
    number = bench.open_pull(branch, {"calc.py": BROKEN, "ci.py": ci, **files}, title="Refactor")
    bench.emulator.wait_for_ci()
    return number


def diagnosis_comments(bench: Bench, number: int) -> list[str]:
    return [c.body for c in bench.bot_comments(number) if DIAGNOSIS_MARKER in c.body]


def test_a_secret_in_a_ci_log_never_reaches_the_prompt_the_comment_or_the_logs(
    bench: Bench, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    number = red_pull(bench, ci=LEAKY_CI)
    raw = "".join(job.log for job in bench.emulator.repo(REPO).jobs.values())
    assert all(secret in raw for secret in SECRETS.values())  # CI really printed them
    # A model that echoes a secret-shaped line back must not get it into the comment either.
    bench.models.script(
        SENIOR,
        [reply(diagnosis(ONE_LINE, evidence=(f"password={SECRETS['password']}", "total is -2")))],
    )

    debug_on_label(bench.label(number, "tierbot:debug"), bench.ctx)

    prompt = "\n".join(bench.prompts())
    assert "AssertionError: total is -2, expected 42" in prompt  # the error made it
    assert "[REDACTED]" in prompt
    (comment,) = diagnosis_comments(bench, number)
    assert "**Likely cause:** add() subtracts" in comment and "[REDACTED]" in comment
    task = bench.ledger.report_rows(repo=REPO).tasks[0]
    stored = [task.reason, *(a.detail for a in bench.ledger.attempts(task.id))]
    stored += [c.record.error for c in bench.ledger.calls(task.id)]
    for where, text in [
        ("prompt", prompt),
        ("comment", comment),
        ("logs", caplog.text),
        ("ledger", "\n".join(stored)),
    ]:
        for name, secret in SECRETS.items():
            assert secret not in text, f"the {name} secret leaked into the {where}"


def test_the_diagnosis_gives_cause_evidence_and_a_suggestion_on_the_changed_line(bench: Bench):
    number = red_pull(bench)
    bench.models.script(SENIOR, [reply(diagnosis(ONE_LINE))])

    debug_on_label(bench.label(number, "tierbot:debug"), bench.ctx)

    (comment,) = diagnosis_comments(bench, number)
    assert "### tierbot diagnosis" in comment
    assert "**Evidence** from the logs of `check`:" in comment
    assert "AssertionError: total is -2, expected 42" in comment
    assert "**Proposed fix** in `calc.py`, line 2:" in comment
    assert "```suggestion\n    return a + b\n```" in comment
    assert "_Cost: $" in comment and "senior `openai/senior-model`: 1 call" in comment
    (suggestion,) = bench.review_comments(number)
    assert (suggestion.path, suggestion.line) == ("calc.py", 2)
    assert "```suggestion\n    return a + b\n```" in suggestion.body
    # Nothing was pushed: fix commits are off by default.
    assert bench.issue(number).pull.head_sha == bench.reviews(number)[0].commit_id
    (task,) = bench.ledger.report_rows(repo=REPO).tasks
    assert (task.type, task.status, task.start_tier) == ("debug", Status.DONE, "senior")
    (call,) = bench.ledger.calls(task.id)
    assert call.record.cost_usd and call.record.prompt_tokens


def test_a_second_diagnosis_edits_the_comment_in_place(bench: Bench):
    number = red_pull(bench)
    bench.models.script(SENIOR, [reply(diagnosis()), reply(diagnosis(ONE_LINE))])
    event = bench.label(number, "tierbot:debug")
    debug_on_label(event, bench.ctx)
    config = bench.ctx.repo_config(event)
    diagnose_pull(bench.ctx, event.repo, number, config)  # type: ignore[arg-type]
    (comment,) = diagnosis_comments(bench, number)
    assert "**Proposed fix** in `calc.py`" in comment


def test_green_ci_is_not_sent_to_a_model(bench: Bench):
    bench.make_repo(
        {"calc.py": CALC, "ci.py": CI},
        config=repo_config(bench.models.url, check="python ci.py"),
    )
    number = bench.open_pull("feature", {"README.md": "# calc\n"})
    bench.emulator.wait_for_ci()

    debug_on_label(bench.label(number, "tierbot:debug"), bench.ctx)

    assert bench.models.requests == []
    (comment,) = diagnosis_comments(bench, number)
    assert "Nothing to diagnose: CI on `" in comment and "is not red" in comment
    assert bench.ledger.report_rows(repo=REPO).tasks == ()


def test_garbage_is_a_clear_failure_and_nothing_of_it_is_posted(bench: Bench):
    number = red_pull(bench)
    bench.models.script(SENIOR, [garbage("<html>upstream confused</html>")])

    debug_on_label(bench.label(number, "tierbot:debug"), bench.ctx)

    (comment,) = diagnosis_comments(bench, number)
    assert "No diagnosis was posted: the senior tier failed." in comment
    assert "Likely cause" not in comment and bench.reviews(number) == []
    (task,) = bench.ledger.report_rows(repo=REPO).tasks
    assert task.status == Status.NEEDS_HUMAN


def test_a_truncated_diagnosis_quotes_none_of_the_answer(bench: Bench):
    number = red_pull(bench)
    bench.models.script(SENIOR, [reply('```json\n{"likely_cause": "add() subtra')])

    debug_on_label(bench.label(number, "tierbot:debug"), bench.ctx)

    (comment,) = diagnosis_comments(bench, number)
    assert "No diagnosis was posted" in comment and "subtra" not in comment


def test_a_reader_cannot_trigger_a_diagnosis(bench: Bench):
    number = red_pull(bench)
    debug_on_label(bench.label(number, "tierbot:debug", sender="rita"), bench.ctx)
    assert bench.models.requests == [] and diagnosis_comments(bench, number) == []
    (refusal,) = bench.store.refusals(REPO)
    assert refusal.sender == "rita" and "read access" in refusal.reason


# -- fix commits -----------------------------------------------------------------------------

FIX_ON = "debug: {fix_commit: true}\n"


def test_the_fix_is_committed_to_tierbots_own_branch_when_the_config_allows(bench: Bench):
    number = red_pull(bench, branch="tierbot/issue-9", extra=FIX_ON)
    diagnosed = bench.issue(number).pull.head_sha
    bench.models.script(SENIOR, [reply(diagnosis(ONE_LINE))])

    debug_on_label(bench.label(number, "tierbot:debug"), bench.ctx)

    head = bench.issue(number).pull.head_sha
    assert head != diagnosed
    (comment,) = diagnosis_comments(bench, number)
    assert f"Pushed the fix to `tierbot/issue-9` as `{head[:7]}`" in comment
    assert bench.review_comments(number) == []  # committed: no suggestion to click
    bench.emulator.wait_for_ci()
    runs = bench.emulator.repo(REPO).workflow_runs.values()
    assert [r.conclusion for r in runs if r.head_sha == head] == ["success"]
    (task,) = bench.ledger.report_rows(repo=REPO).tasks
    (attempt,) = bench.ledger.attempts(task.id)
    assert attempt.commit_sha == head


@pytest.mark.parametrize(
    ("branch", "extra", "fix", "note"),
    [
        ("feature", FIX_ON, ONE_LINE, "`feature` is not one of tierbot's branches"),
        ("tierbot/issue-9", "", ONE_LINE, None),
        (
            "tierbot/issue-9",
            FIX_ON,
            {"path": ".github/workflows/ci.yml", "line": 1, "suggestion": "on: []"},
            "The fix was not committed: `.github/workflows/ci.yml`",
        ),
        (
            "tierbot/issue-9",
            FIX_ON,
            {"path": "calc.py", "line": 2, "suggestion": "    return (a +"},
            "The fix was not committed: it does not parse",
        ),
        ("tierbot/issue-9", FIX_ON, {"description": "Add instead."}, "described in prose"),
    ],
    ids=["human-branch", "config-off", "protected-path", "syntax-error", "prose"],
)
def test_no_fix_commit_outside_the_rules(bench: Bench, branch, extra, fix, note):
    number = red_pull(bench, branch=branch, extra=extra)
    head = bench.issue(number).pull.head_sha
    bench.models.script(SENIOR, [reply(diagnosis(fix))])

    debug_on_label(bench.label(number, "tierbot:debug"), bench.ctx)

    assert bench.issue(number).pull.head_sha == head
    (comment,) = diagnosis_comments(bench, number)
    if note is None:
        assert "not committed" not in comment and "Pushed" not in comment
    else:
        assert note in comment


def test_no_fix_commit_while_the_branchs_task_is_running(bench: Bench):
    from bot.adapters.github_tasks import IssueTask

    number = red_pull(bench, branch="tierbot/issue-9", extra=FIX_ON)
    head = bench.issue(number).pull.head_sha
    bench.store.save(IssueTask(REPO, 9, label="tierbot:stub", branch="tierbot/issue-9"))
    bench.models.script(SENIOR, [reply(diagnosis(ONE_LINE))])

    debug_on_label(bench.label(number, "tierbot:debug"), bench.ctx)

    assert bench.issue(number).pull.head_sha == head
    assert "the task of #9 is still running" in diagnosis_comments(bench, number)[0]


@pytest.mark.parametrize(
    ("fix", "expected"),
    [
        (Fix(path="calc.py", line=2, suggestion="    return a + b"), CALC),
        (Fix(path="calc.py", line=2, suggestion="    c = a + b\n    return c"), None),
        (Fix(path="calc.py", line=9, suggestion="x"), "has no line 9"),
        (Fix(path="nope.py", line=1, suggestion="x"), "is not a text file"),
        (
            Fix(
                path="calc.py",
                diff="--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,2 @@\n def add(a, b):\n"
                "-    return a - b\n+    return a + b\n",
            ),
            CALC,
        ),
        (Fix(diff="--- a/calc.py\n+++ b/calc.py\n@@ -1 +1 @@\n-nothing like it\n+x\n"), "apply"),
        (Fix(description="Add."), "prose"),
    ],
)
def test_fix_edits(fix, expected):
    files = {"calc.py": BROKEN}
    edits = fix_edits(fix, files.get, CliGit().apply_patch)
    if expected is None:
        assert edits.edits[0].content == "def add(a, b):\n    c = a + b\n    return c\n"
    elif isinstance(edits, str):
        assert expected in edits
    else:
        assert edits.edits[0].content == expected


def test_expired_logs_are_said_not_guessed_at(bench: Bench):
    number = red_pull(bench)
    bench.emulator.faults.add(
        "GET", f"/repos/{REPO}/actions/jobs/*/logs", server_error(410, "Gone"), times=None
    )

    debug_on_label(bench.label(number, "tierbot:debug"), bench.ctx)

    assert bench.models.requests == []
    (comment,) = diagnosis_comments(bench, number)
    assert "The logs of `check` could not be read" in comment
