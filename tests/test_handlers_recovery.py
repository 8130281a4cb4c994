"""A task whose worker stops before any of its writes resumes where it was; one that cannot
finish hands over to a human. The task handlers against the GitHub emulator, in process."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, cast

from bot.adapters.github_tasks import IssueTaskStore
from bot.events import Event
from bot.executor import Executor
from bot.handlers.ci import escalate_on_red_ci
from bot.handlers.failures import hand_over_on_failure
from bot.handlers.tasks import start_task_on_label
from bot.lease import Guarded, LeaseLost
from bot.ports import Ledger, Models
from bot.service.context import Context
from bot.wiring import GUARDED_LEDGER, GUARDED_STORE
from tests.support.github_emulator.state import Issue
from tests.support.handlers import REPO, Bench, repo_config
from tests.support.model_server import reply
from tests.support.recovery import unfinished_rows
from tests.test_e2e_github import CALC, CHECK, GOOD, MUL_TEST

pytest_plugins = ["tests.support.github_emulator.fixtures", "tests.support.handler_fixtures"]


class StopAfter:
    """A lease that is lost after ``allowed`` guarded operations (writes and paid calls)."""

    def __init__(self, allowed: int) -> None:
        self.left = allowed

    def __call__(self) -> None:
        if self.left <= 0:
            raise LeaseLost("stopped for the test")
        self.left -= 1


def stopping(ctx: Context, allowed: int) -> Context:
    """``ctx`` guarded the way a worker guards it, with a lease lost after ``allowed`` uses."""
    guard = StopAfter(allowed)
    store = Guarded(ctx.store, guard, GUARDED_STORE)
    return replace(
        ctx,
        executor=Executor(github=ctx.github, refusals=store, dry_run=False, guard=guard),
        store=store,
        ledger=cast(Ledger, Guarded(ctx.ledger, guard, GUARDED_LEDGER)),
        models=cast(Models, Guarded(ctx.models, guard, ("complete",))),
    )


def run_until_done(handler: Any, event: Event, ctx: Context) -> int:
    """Run the job again and again as workers would, each run stopped one write later than the
    one before, until a run finishes; returns how many runs were stopped."""
    for allowed in range(200):
        try:
            handler(event, stopping(ctx, allowed))
        except LeaseLost:
            continue
        return allowed
    raise AssertionError("the job never finished")


def feature_issue(bench: Bench) -> tuple[Issue, Event]:
    """An issue asking for ``mul``, labelled for a feature task the junior model answers."""
    bench.models.script("junior-model", [reply(GOOD)])
    bench.make_repo(
        {"calc.py": CALC, "tests/test_calc.py": MUL_TEST},
        config=repo_config(bench.models.url, check=CHECK),
    )
    issue = bench.emulator.open_issue(REPO, "Add mul(a, b) to calc.py")
    return issue, bench.label(issue.number, "tierbot:change")


def test_a_task_stopped_before_each_of_its_writes_in_turn_ends_with_one_pr(bench: Bench):
    issue, labeled = feature_issue(bench)

    stops = run_until_done(start_task_on_label, labeled, bench.ctx)
    bench.emulator.wait_for_ci()
    suite = bench.event("check_suite", "completed")
    stops += run_until_done(escalate_on_red_ci, suite, bench.ctx)

    assert stops > 10
    labels = {label.name for label in bench.issue(issue.number).labels}
    assert "tierbot:done" in labels
    pulls = [i for i in bench.emulator.repo(REPO).issues.values() if i.pull is not None]
    assert [p.pull.head_ref for p in pulls] == [f"tierbot/issue-{issue.number}"]
    status = [c for c in bench.bot_comments(issue.number) if "tierbot:state" in c.body]
    assert len(status) == 1 and "done" in status[0].body
    # A model is paid again only when a run stopped before the edit was saved.
    assert 1 <= len(bench.models.requests) <= 3
    item = IssueTaskStore(bench.ledger).get(REPO, issue.number)
    assert item is not None and item.status == "done" and item.task_id is not None
    outcomes = [a.outcome for a in bench.ledger.attempts(item.task_id)]
    assert outcomes[-1] == "green" and set(outcomes[:-1]) <= {"interrupted"}
    assert unfinished_rows(bench.ledger.url) == {"tasks": 0, "attempts": 0, "issue_tasks": 0}


def test_a_failed_job_hands_over_only_the_task_it_was_driving(bench: Bench):
    issue, labeled = feature_issue(bench)
    start_task_on_label(labeled, bench.ctx)  # committed, waiting for CI

    hand_over_on_failure(labeled, bench.ctx, "GitHub answered 502 five times")
    item = IssueTaskStore(bench.ledger).get(REPO, issue.number)
    assert item is not None and item.status == "running"  # not the job CI waits on: unharmed

    bench.emulator.wait_for_ci()
    suite = bench.event("check_suite", "completed")
    hand_over_on_failure(suite, bench.ctx, "GitHubError: get job log: GitHub answered 404")
    item = IssueTaskStore(bench.ledger).get(REPO, issue.number)
    assert item is not None and item.status == "needs-human"
    labels = {label.name for label in bench.issue(issue.number).labels}
    assert "tierbot:needs-human" in labels
    [status] = [c for c in bench.bot_comments(issue.number) if "tierbot:state" in c.body]
    assert "could not finish this task: GitHubError: get job log: GitHub answered 404" in (
        status.body
    )
    assert "| junior |" in status.body  # the steps taken so far stay visible
    assert unfinished_rows(bench.ledger.url) == {"tasks": 0, "attempts": 0, "issue_tasks": 0}
