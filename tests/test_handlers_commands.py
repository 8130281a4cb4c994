"""Comment commands end to end: parsing, the permission gate, and each command's effect."""

from __future__ import annotations

import pytest

from bot.adapters.github_tasks import IssueTask
from bot.core.budget import scope_for
from bot.core.state import decode_marker as decode_status
from bot.core.types import Outcome, Status, Task
from bot.handlers.commands import HELP, Command, parse_command, run_command
from bot.handlers.tasks import start_task_on_label
from tests.support.handlers import JUNIOR, REPO, SENIOR, Bench, repo_config
from tests.support.model_server import reply

pytest_plugins = ["tests.support.github_emulator.fixtures", "tests.support.handler_fixtures"]

CALC = "def add(a, b):\n    return a + b\n"
CI = "from calc import add\n\nassert add(20, 22) == 42\n"
MUL = (
    "### calc.py\n```python\ndef add(a, b):\n    return a + b\n\n\n"
    "def mul(a, b):\n    return a * b\n```\n"
)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("/tierbot review", Command("review", "")),
        ("  /TierBot   Debug  ", Command("debug", "")),
        ("Thanks!\n\n/tierbot retry\n/tierbot stop", Command("retry", "")),
        ("/tierbot review --tier junior", Command("review", "--tier junior")),
        ("/tierbot", Command("", "")),
        ("/tierbot frobnicate now", Command("frobnicate", "now")),
        ("/tierbotx review", None),
        ("please /tierbot review", None),
        ("> /tierbot stop\n\nno, keep going", None),
        ("```\n/tierbot stop\n```", None),
        ("<!-- /tierbot stop -->", None),
        ("", None),
        (HELP, None),  # the bot's own help reply is no command
    ],
)
def test_parse_command(body, expected):
    assert parse_command(body) == expected


def make(bench: Bench, *, extra: str = "") -> None:
    bench.make_repo(
        {"calc.py": CALC, "ci.py": CI},
        config=repo_config(bench.models.url, check="python ci.py", extra=extra),
    )


def replies(bench: Bench, number: int) -> list[str]:
    return [c.body for c in bench.bot_comments(number)]


# -- the gate and the help -------------------------------------------------------------------


@pytest.mark.parametrize("body", ["/tierbot", "/tierbot frobnicate"])
def test_unknown_commands_get_a_short_help_reply(bench: Bench, body):
    make(bench)
    issue = bench.emulator.open_issue(REPO, "Something").number

    run_command(bench.say(issue, body), bench.ctx)

    (answer,) = replies(bench, issue)
    assert answer.endswith(HELP)
    assert ("`/tierbot frobnicate` is not a command." in answer) is (body != "/tierbot")
    # The reply itself arrives as a comment event; it is no command and no refusal.
    run_command(bench.event("issue_comment", "created"), bench.ctx)
    assert len(replies(bench, issue)) == 1 and bench.store.refusals(REPO) == []


@pytest.mark.parametrize(
    ("user", "why"),
    [("rita", "rita has read access"), ("ci-helper[bot]", "ci-helper[bot] is a bot")],
)
def test_commands_from_readers_and_bots_are_ignored_and_recorded(bench: Bench, user, why):
    make(bench)
    bench.emulator.user(user, type="Bot" if user.endswith("[bot]") else "User")
    issue = bench.emulator.open_issue(REPO, "Something").number

    run_command(bench.say(issue, "/tierbot stop", user=user), bench.ctx)
    run_command(bench.say(issue, "/tierbot frobnicate", user=user), bench.ctx)

    assert replies(bench, issue) == []
    refusals = bench.store.refusals(REPO)
    assert [(r.number, r.sender, r.event) for r in refusals] == [
        (issue, user, "issue_comment.created")
    ] * 2
    assert all(why in r.reason for r in refusals)


def test_plain_comments_cost_nothing(bench: Bench):
    make(bench)
    issue = bench.emulator.open_issue(REPO, "Something").number
    calls_before = sum(bench.forge.calls.values())
    run_command(bench.say(issue, "Looks good, thanks", user="rita"), bench.ctx)
    assert sum(bench.forge.calls.values()) == calls_before
    assert bench.store.refusals(REPO) == []


# -- review and debug ------------------------------------------------------------------------


def test_review_on_a_pull_request_and_arguments_never_change_the_tier(bench: Bench):
    make(bench, extra="budget: {per_task_usd: 2.0}\n")
    bench.emulator.ci.enabled = False  # type: ignore[union-attr]
    number = bench.open_pull(
        "feature", {"calc.py": CALC + "\n\ndef sub(a, b):\n    return a - b\n"}
    )
    bench.models.script(SENIOR, [reply("[]")])

    event = bench.say(number, "/tierbot review --tier junior --budget 100")
    run_command(event, bench.ctx)

    assert [r.model for r in bench.models.requests] == [SENIOR]
    notes = [b for b in replies(bench, number) if b.startswith("Ignored")]
    assert notes == [
        "Ignored `--tier junior --budget 100`: commands take no arguments. Tiers, budgets and "
        "paths come only from `.github/tierbot.yml` on the default branch."
    ]
    (summary,) = bench.summaries(number)
    assert "Reviewed 1 of 1 changed files" in summary.body

    run_command(bench.say(number, "/tierbot review"), bench.ctx)
    assert len(bench.summaries(number)) == 1 and len(bench.models.requests) == 2


@pytest.mark.parametrize("name", ["review", "debug"])
def test_review_and_debug_need_a_pull_request(bench: Bench, name):
    make(bench)
    issue = bench.emulator.open_issue(REPO, "Something").number
    run_command(bench.say(issue, f"/tierbot {name}"), bench.ctx)
    assert replies(bench, issue) == [f"`/tierbot {name}` works on pull requests."]
    assert bench.models.requests == []


def test_debug_on_a_red_pull_request(bench: Bench):
    make(bench)
    number = bench.open_pull("feature", {"calc.py": CALC.replace("+", "-")})
    bench.emulator.wait_for_ci()
    bench.models.script(
        SENIOR,
        [reply('```json\n{"likely_cause": "add() subtracts.", "evidence": [], "fix": null}\n```')],
    )

    run_command(bench.say(number, "/tierbot debug"), bench.ctx)

    (comment,) = [b for b in replies(bench, number) if "tierbot diagnosis" in b]
    assert "**Likely cause:** add() subtracts." in comment


# -- stop, retry, escalate -------------------------------------------------------------------


def finished_task(bench: Bench, issue: int, tiers: list[str], status: Status) -> int:
    """A task of ``issue`` that ran at ``tiers`` and ended with ``status``, as the ledger has it."""
    task = Task("stub", "Add mul to calc.py", "Add mul", f"issue-{issue}")
    task_id = bench.ledger.start_task(repo=REPO, task=task, start_tier="template", ceiling="junior")
    for number, tier in enumerate(tiers, start=1):
        attempt = bench.ledger.start_attempt(task_id, number=number, tier=tier)
        bench.ledger.finish_attempt(
            attempt,
            outcome=Outcome.CHECK_FAILED,
            detail="",
            commit_sha=None,
            senior_cost_usd=0.0,
        )
    running = status == Status.RUNNING
    if not running:
        bench.ledger.finish_task(
            task_id, status=status, reason="", branch=None, cost_usd=0.0, senior_cost_usd=0.0
        )
    bench.store.save(
        IssueTask(
            REPO,
            issue,
            task_id=task_id,
            label="tierbot:stub",
            branch=f"tierbot/issue-{issue}",
            status=status,
        )
    )
    return task_id


def status_of(bench: Bench, issue: int) -> dict:
    (comment,) = [c for c in bench.bot_comments(issue) if decode_status(c.body)]
    state = decode_status(comment.body)
    assert state is not None
    return {**state, "body": comment.body}


def test_stop_cancels_the_running_task_of_the_issue(bench: Bench):
    make(bench)
    issue = bench.emulator.open_issue(REPO, "Add mul", "Add mul to calc.py").number
    task_id = finished_task(bench, issue, ["intern"], Status.RUNNING)

    run_command(bench.say(issue, "/tierbot stop"), bench.ctx)

    assert bench.store.get(REPO, issue).status == Status.CANCELLED
    assert bench.ledger.get_task(task_id).status == Status.CANCELLED
    assert "Cancelled: stopped by @alice with /tierbot stop." in status_of(bench, issue)["body"]

    run_command(bench.say(issue, "/tierbot stop"), bench.ctx)
    assert replies(bench, issue)[-1] == f"The task of #{issue} is not running (cancelled)."


def test_stop_on_a_tierbot_pull_request_stops_the_issue_it_closes(bench: Bench):
    make(bench)
    bench.emulator.ci.enabled = False  # type: ignore[union-attr]
    issue = bench.emulator.open_issue(REPO, "Add mul", "Add mul to calc.py").number
    finished_task(bench, issue, ["intern"], Status.RUNNING)
    number = bench.open_pull(f"tierbot/issue-{issue}", {"calc.py": CALC + "\n"})

    run_command(bench.say(number, "/tierbot stop"), bench.ctx)

    assert bench.store.get(REPO, issue).status == Status.CANCELLED


@pytest.mark.parametrize("name", ["stop", "retry", "escalate"])
def test_task_commands_without_a_task_say_so(bench: Bench, name):
    make(bench)
    issue = bench.emulator.open_issue(REPO, "Something").number
    run_command(bench.say(issue, f"/tierbot {name}"), bench.ctx)
    assert replies(bench, issue) == [f"`/tierbot {name}`: tierbot has no task for this issue."]


@pytest.mark.parametrize(
    ("name", "tiers", "status", "model"),
    [
        ("retry", ["template", "intern"], Status.NEEDS_HUMAN, "intern-model"),
        ("escalate", ["template", "intern"], Status.NEEDS_HUMAN, JUNIOR),
        ("escalate", ["template", "intern"], Status.RUNNING, JUNIOR),
    ],
    ids=["retry", "escalate", "escalate-running"],
)
def test_retry_and_escalate_restart_the_task(bench: Bench, name, tiers, status, model):
    make(bench)
    issue = bench.emulator.open_issue(REPO, "Add mul", "Add mul(a, b) to calc.py").number
    bench.emulator.label_issue(REPO, issue, "tierbot:needs-human")
    old = finished_task(bench, issue, tiers, status)
    bench.models.script(model, [reply(MUL)])

    run_command(bench.say(issue, f"/tierbot {name}"), bench.ctx)

    assert [r.model for r in bench.models.requests] == [model]
    item = bench.store.get(REPO, issue)
    assert item.status == Status.RUNNING and item.task_id != old and item.pr_number
    new = bench.ledger.get_task(item.task_id)
    assert new.start_tier == model.removesuffix("-model") and new.ceiling == "junior"
    assert bench.ledger.get_task(old).status in (Status.NEEDS_HUMAN, Status.CANCELLED)
    assert "tierbot:needs-human" not in {label.name for label in bench.issue(issue).labels}
    pull = bench.issue(item.pr_number)
    assert pull.pull.head_ref == f"tierbot/issue-{issue}" and f"Closes #{issue}" in pull.body
    assert "waiting for CI" in status_of(bench, issue)["body"]
    bench.emulator.wait_for_ci()


def test_escalate_stops_at_the_ceiling(bench: Bench):
    make(bench)
    issue = bench.emulator.open_issue(REPO, "Add mul", "Add mul to calc.py").number
    finished_task(bench, issue, ["intern", "junior"], Status.NEEDS_HUMAN)

    run_command(bench.say(issue, "/tierbot escalate"), bench.ctx)

    assert bench.models.requests == []
    assert replies(bench, issue) == [
        f"The task of #{issue} already ran at junior, the ceiling of stub tasks "
        "(`task_types.stub.ceiling`); `/tierbot retry` runs it there again."
    ]


@pytest.mark.parametrize("body", ["/tierbot retry", "/tierbot stop", "/tierbot review"])
def test_a_dry_run_writes_nothing(bench: Bench, body):
    make(bench)
    issue = bench.emulator.open_issue(REPO, "Add mul", "Add mul to calc.py").number
    finished_task(bench, issue, ["intern"], Status.RUNNING)
    lines: list[str] = []
    bench.dry_run(lines.append)

    run_command(bench.say(issue, body), bench.ctx)

    assert bench.bot_comments(issue) == [] and bench.models.requests == []
    assert bench.store.get(REPO, issue).status == Status.RUNNING
    assert lines and lines[-1].startswith("would ")


def test_retry_carries_the_issues_spend_into_the_new_run(bench: Bench):
    make(bench)
    bench.emulator.ci.enabled = False  # type: ignore[union-attr]
    issue = bench.emulator.open_issue(REPO, "Add mul", "Add mul(a, b) to calc.py").number
    bench.models.script(JUNIOR, [reply(MUL)])
    bench.models.script(SENIOR, [reply(MUL)])
    start_task_on_label(bench.label(issue, "tierbot:change"), bench.ctx)
    first = bench.store.get(REPO, issue).task_id

    run_command(bench.say(issue, "/tierbot retry"), bench.ctx)

    second = bench.store.get(REPO, issue).task_id
    assert first is not None and second is not None and first != second
    costs = [
        [c.record.cost_usd or 0.0 for c in bench.ledger.calls(task)] for task in (first, second)
    ]
    assert all(costs)  # both runs made paid calls
    # Both runs spent under the issue's one budget key: the per-task cap sees their total.
    spent = bench.ledger.spent(scope_for(REPO, f"{REPO}#{issue}")).task_usd
    assert spent == pytest.approx(sum(costs[0]) + sum(costs[1]))
