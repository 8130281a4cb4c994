"""``tierbot jobs``: the queue's jobs as the operator sees them, on the embedded queue (SQLite)
and on procrastinate (PostgreSQL), and ``tierbot jobs retry`` running a failed job again."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import update

from bot.adapters.ledger import SqlLedger
from bot.adapters.queue_rows import DeliveryORM, Incoming, Job, JobORM
from bot.cli import cli
from bot.cli.jobs import COLUMNS
from bot.queue_port import JobQuery, job_board, open_queue, uses_procrastinate
from tests.support.databases import database_url
from tests.test_migrations import make_release_schema

WORKER = "box:4242"
BOOM = "RuntimeError: GitHub said 422\nTraceback (most recent call last): ..."
# delivery id -> (key, event, action, what its first run does)
DELIVERIES = {
    "d-done": ("octo/shop#1", "issues", "labeled", "done"),
    "d-fail": ("octo/shop#2", "issue_comment", "created", "fail"),
    "d-retry": ("octo/Other_repo#7", "pull_request", "closed", "retry"),
    "d-wait": ("octo/shop#3", "issues", "opened", "wait"),
}


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from database_url(request.param, tmp_path)


def accept(ledger: SqlLedger, names: list[str]) -> dict[str, int]:
    queue = open_queue(ledger)
    items = []
    for d in names:
        key, event, action, _ = DELIVERIES[d]
        items.append(Incoming(d, event, action, key, {"delivery": d}))
    return {d: a.job_id for d, a in zip(names, queue.accept_many(items), strict=True)}  # type: ignore[misc]


def run_sqlite(ledger: SqlLedger, plan: dict[str, str]) -> list[list[str]]:
    """Claim every runnable job and end it as ``plan`` says; what was running at each run."""
    from bot.adapters.queue_sql import SqlQueue

    queue, seen = SqlQueue(ledger), []
    while (job := queue.claim(WORKER)) is not None:
        seen.append(running(ledger))
        if plan[job.delivery_id] == "done":
            queue.complete(job)
        elif plan[job.delivery_id] == "fail":
            queue.fail(job, BOOM)
        else:
            queue.fail(job, "flaky", retry_in_s=3600)
    return seen


def run_postgresql(ledger: SqlLedger, plan: dict[str, str]) -> list[list[str]]:
    """procrastinate's worker until no job is due, reporting through tierbot's job outcomes."""
    from procrastinate import RetryStrategy

    from bot.adapters.queue_procrastinate import MAX_ATTEMPTS, QUEUE, TASK, RetryLater, make_app
    from bot.adapters.queue_procrastinate import ProcrastinateJobs as Outcomes

    app, outcomes, seen = make_app(ledger.url), Outcomes(ledger, lease_s=60), []
    later = RetryStrategy(max_attempts=MAX_ATTEMPTS, wait=3600, retry_exceptions={RetryLater})

    @app.task(name=TASK, queue=QUEUE, pass_context=True, retry=later)  # type: ignore[untyped-decorator,unused-ignore]
    def run_delivery(context: Any, delivery_id: str, event: str, key: str, payload: Any) -> None:
        ran = int(context.job.attempts or 0)
        job = Job(int(context.job.id), delivery_id, event, key, payload, ran + 1, WORKER, ran)
        with ledger.write() as session:  # as tierbot's worker does when it starts a job
            session.execute(
                update(DeliveryORM)
                .where(DeliveryORM.delivery_id == delivery_id)
                .values(worker=WORKER)
            )
        seen.append(running(ledger))
        if plan[delivery_id] == "done":
            outcomes.complete(job)
        elif plan[delivery_id] == "fail":
            outcomes.fail(job, BOOM)
        else:
            outcomes.fail(job, "flaky", retry_in_s=3600)

    app.run_worker(queues=[QUEUE], wait=False, install_signal_handlers=False)
    return seen


def running(ledger: SqlLedger) -> list[str]:
    board = job_board(open_queue(ledger), ledger)
    return [job.delivery_id for job in board.jobs(JobQuery(states=("running",)))]


def run(url: str, plan: dict[str, str]) -> list[list[str]]:
    with SqlLedger(url) as ledger:
        return (run_postgresql if uses_procrastinate(url) else run_sqlite)(ledger, plan)


def fill(url: str) -> dict[str, int]:
    """Four jobs: one done, one failed, one waiting to retry (each seen running while it ran),
    and one that came after the worker stopped."""
    first = ["d-done", "d-fail", "d-retry"]
    with SqlLedger(url) as ledger:
        ids = accept(ledger, first)
    assert run(url, {d: DELIVERIES[d][3] for d in first}) == [[d] for d in first]
    with SqlLedger(url) as ledger:
        return ids | accept(ledger, ["d-wait"])


def tierbot(url: str, *args: str) -> Result:
    return CliRunner().invoke(cli, ["jobs", *args], env={"TIERBOT_DB_URL": url})


def listed(url: str, *args: str) -> list[dict[str, Any]]:
    result = tierbot(url, "--json", *args)
    assert result.exit_code == 0, result.output
    jobs: list[dict[str, Any]] = json.loads(result.output)["jobs"]
    return jobs


def test_the_listing_is_newest_first_with_a_summary(url: str):
    ids = fill(url)
    result = tierbot(url)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert re.fullmatch(r"4 jobs: 2 waiting \(the oldest for \d+s\), 1 done, 1 failed", lines[0])
    assert lines[1].split() == list(COLUMNS)
    rows = [line.split(None, 8) for line in lines[2:]]
    assert [int(r[0]) for r in rows] == [ids[d] for d in reversed(DELIVERIES)]
    by_delivery = {r[4]: r for r in rows}
    assert by_delivery["d-fail"][:7] == [
        str(ids["d-fail"]), "failed", "octo/shop#2", "issue_comment.created", "d-fail", "1", WORKER
    ]  # fmt: skip
    assert re.fullmatch(r"\d+s", by_delivery["d-fail"][7])
    assert by_delivery["d-fail"][8] == "RuntimeError: GitHub said 422"  # its first line
    assert by_delivery["d-retry"][1:4] == ["retrying", "octo/Other_repo#7", "pull_request.closed"]
    assert by_delivery["d-done"][1] == "done" and by_delivery["d-done"][5:7] == ["1", WORKER]
    assert by_delivery["d-wait"][1] == "queued" and by_delivery["d-wait"][5:7] == ["0", "-"]


def test_json_filters_and_limit(url: str):
    ids = fill(url)
    result = tierbot(url, "--json")
    data = json.loads(result.output)
    assert data["summary"] == {
        "by_state": {"queued": 2, "done": 1, "failed": 1},
        "waiting": 2,
        "oldest_waiting_s": data["summary"]["oldest_waiting_s"],
    }
    [failed] = [job for job in data["jobs"] if job["state"] == "failed"]
    assert set(failed) == {
        "id", "state", "key", "event", "action", "delivery_id", "attempts", "worker",
        "created_at", "age_s", "error",
    }  # fmt: skip
    assert (failed["id"], failed["error"], failed["worker"]) == (ids["d-fail"], BOOM, WORKER)
    assert [j["error"] for j in data["jobs"] if j["state"] != "failed"] == [None] * 3
    assert [j["delivery_id"] for j in listed(url, "--state", "failed", "--state", "retrying")] == [
        "d-retry",
        "d-fail",
    ]
    assert [j["delivery_id"] for j in listed(url, "--state", "queued")] == ["d-wait"]
    assert listed(url, "--state", "running") == []
    assert [j["delivery_id"] for j in listed(url, "--repo", "OCTO/shop")] == [
        "d-wait",
        "d-fail",
        "d-done",
    ]
    assert [j["delivery_id"] for j in listed(url, "--repo", "octo/other_repo")] == ["d-retry"]
    assert listed(url, "--repo", "octo/Other%repo") == []  # LIKE's wildcards are literal
    assert len(listed(url, "--limit", "2")) == 2


def test_retry_runs_a_failed_job_again(url: str):
    ids = fill(url)
    result = tierbot(url, "retry", str(ids["d-fail"]))
    assert result.exit_code == 0, result.output
    assert result.output == (
        f"job {ids['d-fail']} (octo/shop#2 issue_comment.created) is queued to run again\n"
    )
    [job] = listed(url, "--state", "retrying", "--repo", "octo/shop")
    assert (job["id"], job["error"]) == (ids["d-fail"], None)
    with SqlLedger(url) as ledger:
        assert open_queue(ledger).delivery_status("d-fail") == "queued"
        if not uses_procrastinate(url):  # its failures are forgotten: it gets every retry again
            with ledger.read() as session:
                assert session.get(JobORM, ids["d-fail"]).failures == 0  # type: ignore[union-attr]
    # It runs again (the waiting job too), and this time it succeeds.
    assert sorted(run(url, {"d-fail": "done", "d-wait": "done"})) == [["d-fail"], ["d-wait"]]
    [again] = [j for j in listed(url) if j["id"] == ids["d-fail"]]
    assert (again["state"], again["attempts"]) == ("done", 2)
    with SqlLedger(url) as ledger:
        assert open_queue(ledger).delivery_status("d-fail") == "done"


def test_retry_refuses_an_unknown_job_or_one_that_did_not_fail(url: str):
    ids = fill(url)
    result = tierbot(url, "retry", "999999")
    assert result.exit_code == 2
    assert "no job 999999 in the queue" in result.output
    result = tierbot(url, "retry", str(ids["d-done"]))
    assert result.exit_code == 2
    assert f"job {ids['d-done']} is done: only a failed job can be retried" in result.output
    result = tierbot(url, "retry", str(ids["d-retry"]))
    assert result.exit_code == 2 and "is retrying: only a failed job" in result.output
    assert [j["state"] for j in listed(url)] == ["queued", "retrying", "failed", "done"]


def test_a_cancelled_job_is_listed_as_cancelled_and_not_retried(url: str):
    ids = fill(url)
    if uses_procrastinate(url):
        from bot.adapters.queue_procrastinate import make_app

        app = make_app(url)
        with app.open():
            assert app.job_manager.cancel_job_by_id(ids["d-wait"])
        [job] = listed(url, "--state", "cancelled")
        assert (job["id"], job["key"]) == (ids["d-wait"], "octo/shop#3")
        result = tierbot(url, "retry", str(ids["d-wait"]))
        assert result.exit_code == 2 and "is cancelled: only a failed job" in result.output
    else:
        assert listed(url, "--state", "cancelled") == []  # the embedded queue cancels nothing


def test_env_file_names_the_database(url: str, tmp_path: Path):
    ids = fill(url)
    env_file = tmp_path / "app.env"
    env_file.write_text(f"TIERBOT_DB_URL={url}\n")
    runner, env = CliRunner(), {"TIERBOT_DB_URL": None}
    result = runner.invoke(cli, ["jobs", "--env-file", str(env_file), "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.output)["jobs"]) == 4
    # The group's --env-file reaches retry; so does retry's own (refused: it is retried now).
    results = [
        runner.invoke(cli, ["jobs", *args, str(ids["d-fail"])], env=env)
        for args in (["--env-file", str(env_file), "retry"], ["retry", "--env-file", str(env_file)])
    ]
    assert [r.exit_code for r in results] == [0, 2], results[0].output
    assert "is retrying: only a failed job" in results[1].output
    result = runner.invoke(cli, ["jobs", "--env-file", str(tmp_path / "nope.env")], env=env)
    assert result.exit_code == 2 and "nope.env" in result.output


def test_an_empty_queue_says_so(url: str):
    with SqlLedger(url) as ledger:
        open_queue(ledger).stats()  # first use makes the tables
    result = tierbot(url)
    assert result.exit_code == 0, result.output
    assert result.output == "0 jobs: 0 waiting\n"


def test_a_schema_behind_gets_the_message_serve_gives(url: str):
    make_release_schema(url)
    result = tierbot(url)
    assert result.exit_code == 1
    assert "run `tierbot db upgrade` (with the same TIERBOT_DB_URL) first" in result.output


@pytest.mark.parametrize(
    ("db", "says"),
    [
        ("postgresql+psycopg://postgres@127.0.0.1:1/none", "cannot open postgresql+psycopg"),
        ("sqlite:///{tmp}/missing.db", "missing.db: there is no such file"),
        ("sqlite:///{tmp}/empty.db", "no tierbot tables in this database"),
    ],
)
def test_a_database_that_cannot_be_read_is_an_error(tmp_path: Path, db: str, says: str):
    (tmp_path / "empty.db").write_bytes(b"")
    result = tierbot(db.format(tmp=tmp_path))
    assert result.exit_code == 1
    assert says in result.output
    assert not (tmp_path / "missing.db").exists()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--state", "pending"], "'pending' is not one of 'queued', 'retrying', 'running'"),
        (["--repo", "shop"], "'shop' is not OWNER/REPO"),
        (["--limit", "0"], "0 is not in the range x>=1"),
    ],
)
def test_bad_options_are_usage_errors(tmp_path: Path, args: list[str], says: str):
    result = tierbot(f"sqlite:///{tmp_path}/ledger.db", *args)
    assert result.exit_code == 2
    assert says in result.output
