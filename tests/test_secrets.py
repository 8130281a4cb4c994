"""Secrets stay in the process: a repository config cannot send them elsewhere, and planted
secrets reach no prompt, log line, comment, commit or ledger row.

``tierbot run`` runs in-process against the scripted model server; the GitHub path runs the
real ``serve`` and ``worker`` processes against the GitHub emulator.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.actions import Comment, OpenPull, PostReview, ReviewLine, UpsertComment
from bot.cli import EXIT_DONE, EXIT_USAGE, main
from bot.core.logs import REDACTED, Redactor
from bot.executor import Executor
from tests.support import planted
from tests.support.model_server import ScriptedModelServer, reply
from tests.support.repos import (
    CALC,
    GOOD_MUL,
    MUL_TEST,
    PYTEST_CHECK,
    WRONG_MUL,
    WRONG_MUL2,
    git,
    make_repo,
    tier_config,
)
from tests.support.server import TierbotProcesses, wait_until

GOOD, WRONG, WRONG2 = GOOD_MUL, WRONG_MUL, WRONG_MUL2


class ConnectionRecorder:
    """A loopback TCP listener that records every connection made to it and answers nothing."""

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self.connections: list[tuple[str, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, peer = self._sock.accept()
            except TimeoutError:
                continue
            self.connections.append(peer)
            conn.close()

    def __enter__(self) -> ConnectionRecorder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sock.close()


@pytest.fixture
def server() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as running:
        yield running


@pytest.fixture
def recorder() -> Iterator[ConnectionRecorder]:
    with ConnectionRecorder() as running:
        yield running


def run(capsys: pytest.CaptureFixture[str], repo: Path, *args: str) -> tuple[int, str, str]:
    code = main(["run", "--repo", str(repo), *args])
    out, err = capsys.readouterr()
    return code, out, err


def junior_on(tmp_path: Path, api_base: str, key_env: str) -> Path:
    config = f"""\
tiers:
  junior:
    model: openai/junior-model
    api_base: {api_base}
    api_key_env: {key_env}
    timeout: 5
    price: {{input_per_mtok: 0.15, output_per_mtok: 0.6}}
check:
  command: "{PYTEST_CHECK}"
"""
    files = {"calc.py": CALC, "tests/test_calc.py": MUL_TEST, ".github/tierbot.yml": config}
    return make_repo(tmp_path / "repo", files)


# -- a repository config cannot choose where keys go -----------------------------------------------


def test_the_connection_recorder_sees_a_connection_to_all_interfaces(recorder):
    # The negative control: a request to http://0.0.0.0:<port> would reach the recorder.
    socket.create_connection(("0.0.0.0", recorder.port), timeout=2).close()
    threading.Event().wait(0.3)
    assert len(recorder.connections) == 1


@pytest.mark.parametrize(
    ("host", "key_env", "setting"),
    [
        ("127.0.0.1", "TIERBOT_WEBHOOK_SECRET", "TIERBOT_ALLOWED_KEY_ENVS"),
        ("127.0.0.1", "TIERBOT_PRIVATE_KEY", "TIERBOT_ALLOWED_KEY_ENVS"),
        ("127.0.0.1", "AWS_SECRET_ACCESS_KEY", "TIERBOT_ALLOWED_KEY_ENVS"),
        ("0.0.0.0", "OPENAI_API_KEY", "TIERBOT_ALLOWED_API_BASES"),
        ("0.0.0.0", "null", "TIERBOT_ALLOWED_API_BASES"),
    ],
)
def test_a_config_naming_an_unlisted_variable_or_host_is_refused_before_any_request(
    tmp_path, capsys, monkeypatch, recorder, host, key_env, setting
):
    for name, value in planted.ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TIERBOT_PRIVATE_KEY", planted.private_key_pem(0))
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-secret-27182818")
    repo = junior_on(tmp_path, f"http://{host}:{recorder.port}/v1", key_env)

    code, out, err = run(
        capsys, repo, "Implement mul(a, b) in calc.py", "--type", "feature", "--no-plan"
    )

    assert code == EXIT_USAGE
    assert ".github/tierbot.yml: tiers.junior." in err and setting in err
    assert out == "" and recorder.connections == []
    assert "tierbot/" not in git(repo, "branch", "--list")  # nothing was started


def test_the_operator_allowlist_lets_a_named_variable_and_host_through(
    tmp_path, capsys, monkeypatch, server
):
    server.script("junior-model", [reply(GOOD)])
    monkeypatch.setenv("CORP_LLM_KEY", "corp-llm-key-31415926")
    monkeypatch.setenv("TIERBOT_ALLOWED_KEY_ENVS", "CORP_LLM_KEY")
    # 0.0.0.0 is not loopback but reaches the scripted server on this machine.
    monkeypatch.setenv("TIERBOT_ALLOWED_API_BASES", f"http://0.0.0.0:{server.port}")
    repo = junior_on(tmp_path, f"http://0.0.0.0:{server.port}/v1", "CORP_LLM_KEY")

    code, _, err = run(
        capsys, repo, "Implement mul(a, b) in calc.py", "--type", "feature", "--no-plan"
    )

    assert code == EXIT_DONE, err
    [request] = server.requests_for("junior-model")
    assert request.headers["authorization"] == "Bearer corp-llm-key-31415926"


def test_a_malformed_operator_setting_stops_the_run(tmp_path, capsys, monkeypatch, recorder):
    monkeypatch.setenv("TIERBOT_ALLOWED_API_BASES", "collector.evil.example")
    repo = junior_on(tmp_path, f"http://127.0.0.1:{recorder.port}/v1", "null")

    code, _, err = run(
        capsys, repo, "Implement mul(a, b) in calc.py", "--type", "feature", "--no-plan"
    )

    assert code == EXIT_USAGE and "TIERBOT_ALLOWED_API_BASES" in err
    assert recorder.connections == []


# -- the executor writes nothing secret ------------------------------------------------------------


class RecordingGitHub:
    """Records each write the executor makes (this test needs no GitHub behaviour)."""

    def __init__(self) -> None:
        self.writes: list[tuple[object, ...]] = []

    def upsert_comment(self, *args: object) -> int:
        self.writes.append(args)
        return 1

    def create_comment(self, *args: object) -> int:
        self.writes.append(args)
        return 2

    def create_pull(self, *args: object) -> object:
        self.writes.append(args)
        return None

    def create_review(self, repo: str, number: int, sha: str, body: str, comments: list) -> None:
        self.writes.append((repo, number, sha, body, *[c.body for c in comments]))


def test_every_github_write_of_the_executor_is_redacted():
    known = {"OPENAI_API_KEY": planted.ENV["OPENAI_API_KEY"]}
    gh = RecordingGitHub()
    executor = Executor(github=gh, dry_run=False, redactor=Redactor(known.values()))
    leak = planted.issue_text(known)
    for action in (
        UpsertComment("o/r", 1, "<!-- m -->", leak),
        Comment("o/r", 1, leak),
        OpenPull("o/r", "tierbot/x", "main", leak, leak),
        PostReview("o/r", 2, "abc", leak, (ReviewLine("a.py", 1, "RIGHT", leak),)),
    ):
        executor.apply(action)

    written = json.dumps(gh.writes)
    assert len(gh.writes) == 4 and planted.leaks(written, known) == []
    assert REDACTED in written
    assert planted.leaks(json.dumps([repr(a.action) for a in executor.log]), known) == []


def test_a_failed_jobs_stored_error_holds_no_secret(tmp_path):
    from bot.adapters.ledger import SqlLedger
    from bot.adapters.queue_sql import SqlQueue
    from bot.dispatch import Router
    from bot.worker import Worker

    known = {"OPENAI_API_KEY": planted.ENV["OPENAI_API_KEY"]}
    router = Router()

    @router.on("issues.opened")
    def explode(event: object, ctx: object) -> None:
        raise RuntimeError(f"request failed: {planted.issue_text(known)}")

    url = f"sqlite:///{tmp_path / 'q.sqlite3'}"
    with SqlLedger(url) as ledger:
        queue = SqlQueue(ledger)
        payload = {"action": "opened", "issue": {"number": 1, "title": "t"}}
        queue.accept(
            delivery_id="d1", event="issues", action="opened", key="o/r#1", payload=payload
        )
        worker = Worker(
            queue=queue,
            router=router,
            context=lambda _event, **_kw: None,
            name="w",
            redact=Redactor(known.values()),
        )
        assert worker.run_once() is not None
    with sqlite3.connect(tmp_path / "q.sqlite3") as conn:
        [(error,)] = conn.execute("SELECT error FROM jobs").fetchall()
    assert "request failed" in error and planted.leaks(error, known) == []


def test_the_saved_task_state_holds_no_secret_value(tmp_path):
    from bot.adapters.github_tasks import IssueTask, IssueTaskStore, Refusal
    from bot.adapters.ledger import SqlLedger

    known = {"OPENAI_API_KEY": planted.ENV["OPENAI_API_KEY"]}
    text = planted.issue_text(known)
    url = f"sqlite:///{tmp_path / 'l.sqlite3'}"
    with SqlLedger(url, redactor=Redactor(known.values())) as ledger:
        store = IssueTaskStore(ledger)
        store.save(IssueTask("o/r", 1, state={"task": {"text": text}, "feedback": [text]}))
        store.refuse(Refusal("o/r", 1, "mallory", "issues.labeled", text))
        saved = store.get("o/r", 1)
    assert saved is not None and saved.state is not None
    assert saved.state["task"]["text"].startswith("Add mul(a, b) to calc.py")
    with sqlite3.connect(tmp_path / "l.sqlite3") as conn:
        rows = repr(conn.execute("SELECT state_json FROM issue_tasks").fetchall())
        rows += repr(conn.execute("SELECT reason FROM refusals").fetchall())
    assert REDACTED in rows and planted.leaks(rows, known) == []


# -- planted secrets, end to end on the local path -------------------------------------------------


def local_known() -> dict[str, str]:
    return {**planted.ENV, "TIERBOT_PRIVATE_KEY": planted.private_key_pem(0)}


def ledger_text(repo: Path) -> str:
    chunks = [p.read_bytes() for p in (repo / ".git" / "tierbot").glob("ledger.sqlite3*")]
    return b"".join(chunks).decode("utf-8", "replace")


def test_planted_secrets_reach_no_prompt_log_commit_or_ledger_row(
    tmp_path, capsys, monkeypatch, server, caplog
):
    known = local_known()
    for name, value in known.items():
        monkeypatch.setenv(name, value)
    log = tmp_path / "planted.log"
    log.write_text(planted.log_text(known))
    issue = tmp_path / "issue.md"
    issue.write_text(planted.issue_text(known))
    # The junior model echoes a key it should never have known into the file it writes.
    echoed = GOOD.replace("def mul", f"# configured with {known['OPENAI_API_KEY']}\ndef mul")
    server.script("intern-model", [reply(WRONG), reply(WRONG2)])
    server.script("junior-model", [reply(echoed)])
    config = tier_config(server.url, check=f"cat {log} && {PYTEST_CHECK}")
    repo = make_repo(
        tmp_path / "repo",
        {"calc.py": CALC, "tests/test_calc.py": MUL_TEST, ".github/tierbot.yml": config},
    )

    code, out, err = run(
        capsys, repo, "--issue-file", str(issue), "--type", "boilerplate", "--json"
    )

    assert code == EXIT_DONE, err
    prompts = [json.dumps(r.body) for r in server.requests]
    assert len(prompts) == 3
    assert planted.MARKER in prompts[1] and REDACTED in prompts[1]  # the log reached the model
    assert REDACTED in prompts[0]  # so did the issue, without its secrets
    branch = json.loads(out)["branch"]
    commits = git(repo, "log", "-p", "--format=%B%n%(trailers)", f"main..{branch}")
    assert f"# configured with {REDACTED}" in commits
    stored = ledger_text(repo)
    assert planted.MARKER in stored  # the check excerpt is in the ledger
    for where, text in {
        "prompts": "\n".join(prompts),
        "stdout": out,
        "stderr": err,
        "log records": caplog.text,
        "commits": commits,
        "ledger": stored,
    }.items():
        assert planted.leaks(text, known) == [], where


# -- planted secrets, end to end on GitHub ---------------------------------------------------------

pytest_plugins = ["tests.support.github_emulator.fixtures"]
REPO = "octo/shop"


@pytest.fixture
def tierbot(tmp_path: Path, github_emulator: Any) -> Iterator[TierbotProcesses]:
    procs = TierbotProcesses(
        tmp_path,
        {
            **planted.ENV,
            "TIERBOT_APP_ID": str(github_emulator.app_id),
            "TIERBOT_PRIVATE_KEY": github_emulator.private_key_pem.decode(),
            "TIERBOT_GITHUB_API_URL": github_emulator.api_url,
        },
    )
    github_emulator.set_webhook(procs.url, planted.ENV["TIERBOT_WEBHOOK_SECRET"])
    procs.start_web()
    try:
        yield procs
    finally:
        procs.stop()


def stored_rows(db: Path) -> str:
    """Every ledger and queue row, the stored webhook payloads included."""
    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        rows = []
        for table in tables:
            columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
            rows += conn.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall()
    return "\n".join(map(repr, rows))


def written_on(emulator: Any, repo: str) -> str:
    """Every comment, pull request and review on ``repo``, and each issue's title."""
    texts = []
    for issue in emulator.repo(repo).issues.values():
        texts += [issue.title, *[c.body for c in issue.comments]]
        if issue.pull is not None:
            texts += [issue.body or "", *[r.body for r in issue.pull.reviews]]
            texts += [c.body for c in issue.pull.review_comments]
    return "\n".join(texts)


def test_planted_secrets_reach_no_prompt_comment_commit_log_or_row_on_github(
    github_emulator, tierbot, server
):
    known = {k: tierbot.env[k] for k in [*planted.ENV, "TIERBOT_PRIVATE_KEY"]}
    # The senior model quotes a token in its diagnosis, as a model may quote a log.
    diagnosis = {"likely_cause": "mul adds.", "evidence": [planted.GH_TOKEN], "fix": None}
    server.script("intern-model", [reply(WRONG), reply(WRONG2)])
    server.script(
        "junior-model",
        [reply(GOOD.replace("a * b", "a ** b")), reply(GOOD.replace("a * b", "a // b"))],
    )
    server.script("senior-model", [reply("```json\n" + json.dumps(diagnosis) + "\n```")])
    check = f"cat ci/planted.log && {PYTEST_CHECK}"
    github_emulator.create_repo(
        REPO,
        {
            "calc.py": CALC,
            "tests/test_calc.py": MUL_TEST,
            "ci/planted.log": planted.log_text(known),  # what a leaky CI step prints
            ".github/tierbot.yml": tier_config(server.url, check=check),
        },
    )
    github_emulator.add_collaborator(REPO, "alice", "write")
    issue = github_emulator.open_issue(REPO, "Add mul(a, b) to calc.py", planted.issue_text(known))
    tierbot.start_worker()
    github_emulator.label_issue(REPO, issue.number, "tierbot:boilerplate", sender="alice")

    def diagnosed() -> bool:
        pulls = [i for i in github_emulator.repo(REPO).issues.values() if i.pull is not None]
        return bool(pulls) and any("mul adds." in c.body for c in pulls[0].comments)

    wait_until(diagnosed, timeout=180, what=lambda: f"the diagnosis\n{tierbot.logs()}")
    prompts = "\n".join(json.dumps(r.body) for r in server.requests)
    assert planted.MARKER in prompts and REDACTED in prompts  # the CI log reached the models
    commits = subprocess.run(
        ["git", "log", "-p", "--format=%B", f"main..tierbot/issue-{issue.number}"],
        cwd=github_emulator.repo(REPO).path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "calc.py" in commits
    for where, text in {
        "prompts": prompts,
        "comments, pull request and reviews": written_on(github_emulator, REPO),
        "commits": commits,
        "process logs": tierbot.logs(),
        "ledger and queue rows": stored_rows(tierbot.workdir / "tierbot.sqlite3"),
    }.items():
        assert planted.leaks(text, known) == [], where


def test_a_config_naming_the_webhook_secret_gets_one_comment_and_no_request(
    github_emulator, tierbot, recorder
):
    config = tier_config(
        f"http://127.0.0.1:{recorder.port}/v1", junior_key_env="TIERBOT_WEBHOOK_SECRET"
    )
    github_emulator.create_repo(REPO, {"calc.py": CALC, ".github/tierbot.yml": config})
    github_emulator.add_collaborator(REPO, "alice", "write")
    issue = github_emulator.open_issue(REPO, "Implement mul(a, b) in calc.py")
    tierbot.start_worker()
    github_emulator.label_issue(REPO, issue.number, "tierbot:change", sender="alice")

    def commented() -> list[Any]:
        comments = github_emulator.repo(REPO).issues[issue.number].comments
        return [c for c in comments if "tierbot:config-error" in c.body]

    wait_until(commented, timeout=60, what=lambda: f"the config comment\n{tierbot.logs()}")
    [comment] = commented()
    assert "`tiers.junior.api_key_env`" in comment.body
    assert "TIERBOT_ALLOWED_KEY_ENVS" in comment.body
    assert planted.ENV["TIERBOT_WEBHOOK_SECRET"] not in comment.body
    assert recorder.connections == []
    assert [i for i in github_emulator.repo(REPO).issues.values() if i.pull is not None] == []
