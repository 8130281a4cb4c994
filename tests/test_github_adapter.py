"""The GitHub forge adapter against the GitHub emulator over real HTTP and real git pushes."""

from __future__ import annotations

import logging
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.git import LocalRepo
from bot.adapters.github import (
    GitHubApp,
    GitHubConfigError,
    GitHubError,
    GitHubForge,
    GitHubRateLimited,
    GitTransportError,
    InlineComment,
    RetryPolicy,
    git_base_url,
)
from bot.adapters.github.retry import Failure, retry_delay
from bot.core.types import EditSet, FileEdit
from tests.support.github_emulator import (
    GitHubEmulator,
    rate_limited,
    secondary_rate_limited,
    server_error,
    slow,
)
from tests.support.github_emulator.faults import Fault

pytest_plugins = ["tests.support.github_emulator.fixtures"]

REPO = "octo/demo"
MARKER = "<!-- tierbot:status -->"


class FakeClock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


class Sleeps(list[float]):
    """An injected sleep that records instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def app(github_emulator: GitHubEmulator, clock: FakeClock, sleeps: Sleeps) -> Iterator[GitHubApp]:
    app = GitHubApp(
        github_emulator.app_id,
        github_emulator.private_key_pem,
        api_url=github_emulator.api_url,
        clock=clock,
        sleep=sleeps,
    )
    yield app
    app.close()


@pytest.fixture
def forge(
    github_emulator: GitHubEmulator, emulator_repo: Any, app: GitHubApp
) -> Iterator[GitHubForge]:
    installation = github_emulator.installation_for(REPO).id
    with GitHubForge(app, installation, pace_requests_s=None, pace_writes_s=None) as forge:
        yield forge


def minted(github_emulator: GitHubEmulator) -> list[str]:
    store = github_emulator.store
    assert store is not None
    with store.lock:
        return list(store.tokens)


def task_branch(forge: GitHubForge, tmp_path: Path, branch: str, files: dict[str, str]) -> Path:
    """Clone, commit ``files`` on ``branch`` in a worktree the way the engine does; its root."""
    clone = forge.clone(REPO, tmp_path / "clone")
    workspace = LocalRepo.open(clone).add_worktree(branch)
    workspace.apply(EditSet(tuple(FileEdit(p, c) for p, c in files.items())))
    workspace.commit(f"tierbot: {branch}", {"Tierbot-Tier": "template"})
    return workspace.root


# -- settings at the edge --------------------------------------------------------------------


def test_from_env_reads_id_key_and_url(github_emulator: GitHubEmulator, tmp_path: Path) -> None:
    key_file = tmp_path / "app.pem"
    key_file.write_bytes(github_emulator.private_key_pem)
    env = {
        "TIERBOT_APP_ID": str(github_emulator.app_id),
        "TIERBOT_PRIVATE_KEY_PATH": str(key_file),
        "TIERBOT_GITHUB_API_URL": github_emulator.api_url,
    }
    app = GitHubApp.from_env(env)
    assert (app.app_id, app.api_url) == (github_emulator.app_id, github_emulator.api_url)
    # A key flattened to one line with "\n" escapes, as secret stores often hold it.
    flat = github_emulator.private_key_pem.decode().strip().replace("\n", "\\n")
    app = GitHubApp.from_env({"TIERBOT_APP_ID": "7", "TIERBOT_PRIVATE_KEY": flat})
    assert app.api_url == "https://api.github.com"


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({}, "TIERBOT_APP_ID"),
        ({"TIERBOT_APP_ID": "tierbot"}, "TIERBOT_APP_ID"),
        ({"TIERBOT_APP_ID": "7"}, "TIERBOT_PRIVATE_KEY_PATH"),
        (
            {"TIERBOT_APP_ID": "7", "TIERBOT_PRIVATE_KEY_PATH": "/nonexistent/app.pem"},
            "/nonexistent",
        ),
        (
            {"TIERBOT_APP_ID": "7", "TIERBOT_PRIVATE_KEY": "ghs_notakeyatall123456"},
            "TIERBOT_PRIVATE_KEY",
        ),
        (
            {
                "TIERBOT_APP_ID": "7",
                "TIERBOT_PRIVATE_KEY": "-----BEGIN RSA PRIVATE KEY-----\nc2VjcmV0\n"
                "-----END RSA PRIVATE KEY-----",
            },
            "TIERBOT_PRIVATE_KEY",
        ),
        (
            {"TIERBOT_APP_ID": "7", "TIERBOT_PRIVATE_KEY_PATH": "/", "TIERBOT_GITHUB_API_URL": "x"},
            "TIERBOT_",
        ),
    ],
)
def test_from_env_errors_name_the_variable_not_the_key(env: dict[str, str], names: str) -> None:
    with pytest.raises(GitHubConfigError) as info:
        GitHubApp.from_env(env)
    message = str(info.value)
    assert names in message
    assert "c2VjcmV0" not in message and "notakeyatall" not in message


@pytest.mark.parametrize(
    ("api", "git"),
    [
        ("https://api.github.com", "https://github.com"),
        ("https://api.github.com/", "https://github.com"),
        ("https://ghe.example.com/api/v3", "https://ghe.example.com"),
        ("http://127.0.0.1:8766/api/v3/", "http://127.0.0.1:8766"),
    ],
)
def test_git_base_url(api: str, git: str) -> None:
    assert git_base_url(api) == git


# -- the retry policy, as a table -------------------------------------------------------------

NOW = 1_800_000_000.0
POLICY = RetryPolicy()
SECONDARY = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
)


@pytest.mark.parametrize(
    ("status", "headers", "message", "retry", "expected"),
    [
        (502, {}, "Server Error", 0, 1.0),
        (500, {}, "", 2, 4.0),
        (503, {}, "", 9, 30.0),  # capped
        (None, {}, "ConnectionError", 1, 2.0),
        (429, {"retry-after": "7"}, "API rate limit exceeded", 0, 7.0),
        (429, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 42)}, "", 0, 43.0),
        (429, {}, "", 1, 2.0),
        (403, {"retry-after": "3"}, SECONDARY, 0, 3.0),
        (403, {}, SECONDARY, 0, 60.0),
        (
            403,
            {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 600)},
            "API rate limit exceeded for installation.",
            0,
            601.0,
        ),
        (429, {"retry-after": "Wed, 15 Jan 2027 08:00:05 GMT"}, "", 0, None),  # date: see below
        (403, {}, "Resource not accessible by integration", 0, None),
        (404, {}, "Not Found", 0, None),
        (422, {}, "Validation Failed", 0, None),
        (401, {}, "Bad credentials", 0, None),
    ],
)
def test_retry_delay(
    status: int | None, headers: dict[str, str], message: str, retry: int, expected: float | None
) -> None:
    delay = retry_delay(Failure(status, headers, message), retry, NOW, POLICY)
    if "retry-after" in headers and not headers["retry-after"].isdigit():
        assert delay is not None and delay > 0  # an HTTP date in the future
        return
    assert delay == expected


# -- installation tokens -----------------------------------------------------------------------


def test_token_is_cached_then_refreshed_before_expiry(
    forge: GitHubForge, github_emulator: GitHubEmulator, clock: FakeClock
) -> None:
    github_emulator.user("alice")
    assert forge.permission(REPO, "octo") == "admin"
    assert forge.permission(REPO, "alice") == "none"
    assert forge.calls["installation_token"] == 1
    # 56 minutes on: the hour-long token is inside the 5-minute margin, so a new one is minted
    # before the request, and the request itself is not refused first.
    clock.now += 3600 - 299
    assert forge.permission(REPO, "octo") == "admin"
    assert forge.calls["installation_token"] == 2
    assert forge.calls["permission"] == 3


def test_token_expired_at_github_is_replaced_and_the_call_completes(
    forge: GitHubForge, github_emulator: GitHubEmulator
) -> None:
    number = github_emulator.open_issue(REPO, "Add mul", "please").number
    assert forge.issue(REPO, number).title == "Add mul"
    github_emulator.expire_tokens()  # GitHub's hour passed, our clock did not notice
    assert forge.issue(REPO, number).title == "Add mul"
    assert forge.calls["installation_token"] == 2
    assert forge.calls["issue"] == 3  # one refused with 401, then the retry


def test_push_with_revoked_token_fails_clearly_without_the_token(
    forge: GitHubForge, github_emulator: GitHubEmulator, tmp_path: Path
) -> None:
    root = task_branch(
        forge, tmp_path, "tierbot/issue-1", {"mul.py": "def mul(a, b):\n    return a * b\n"}
    )
    for token in minted(github_emulator):
        github_emulator.revoke_token(token)
    with pytest.raises(GitTransportError) as info:
        forge.push(root, "tierbot/issue-1")
    error = info.value
    assert error.auth_refused
    assert "refused the installation token" in str(error)
    for token in minted(github_emulator):
        assert token not in str(error) and token not in error.output
        assert token not in repr(error.args)
    # The refused token was dropped: the next push gets a fresh one and goes through.
    sha = forge.push(root, "tierbot/issue-1")
    assert github_emulator.repo(REPO).path.exists()
    remote = subprocess.run(
        [
            "git",
            "--git-dir",
            str(github_emulator.repo(REPO).path),
            "rev-parse",
            "refs/heads/tierbot/issue-1",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert remote.stdout.strip() == sha


def test_suspended_installation_is_a_clear_error(
    forge: GitHubForge, github_emulator: GitHubEmulator
) -> None:
    github_emulator.installation_for(REPO).suspended = True
    with pytest.raises(GitHubError) as info:
        forge.permission(REPO, "octo")
    assert info.value.status == 403
    assert "installation_token" in str(info.value) and "suspended" in str(info.value)


# -- faults are retried --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "times", "waits"),
    [
        (server_error(502), 2, [1.0, 2.0]),
        (server_error(503), 1, [1.0]),
        (rate_limited(retry_after=3), 1, [3.0]),
        (secondary_rate_limited(retry_after=2), 1, [2.0]),
    ],
)
def test_transient_faults_are_retried_and_the_operation_completes(
    forge: GitHubForge,
    github_emulator: GitHubEmulator,
    sleeps: Sleeps,
    fault: Fault,
    times: int,
    waits: list[float],
) -> None:
    number = github_emulator.open_issue(REPO, "Flaky", "").number
    github_emulator.faults.add(
        "POST", f"/repos/{REPO}/issues/{number}/comments", fault, times=times
    )
    comment_id = forge.create_comment(REPO, number, "hello")
    assert sleeps == waits
    assert forge.calls["create_comment"] == times + 1
    assert [c.id for c in forge.comments(REPO, number)] == [comment_id]


def test_primary_rate_limit_waits_for_the_reset(
    forge: GitHubForge, github_emulator: GitHubEmulator, sleeps: Sleeps, clock: FakeClock
) -> None:
    # 403 with x-ratelimit-remaining 0 and x-ratelimit-reset, no retry-after.
    fault = Fault(
        "rate_limit",
        status=403,
        retry_after=None,
        message="API rate limit exceeded for installation.",
    )
    github_emulator.faults.add("GET", f"/repos/{REPO}/collaborators/*", fault, times=1)
    clock.now = time.time()
    assert forge.permission(REPO, "octo") == "admin"
    assert len(sleeps) == 1 and 1.0 <= sleeps[0] <= 3.0


def test_a_long_rate_limit_is_not_slept_through(
    forge: GitHubForge, github_emulator: GitHubEmulator, sleeps: Sleeps
) -> None:
    github_emulator.faults.add(
        "GET", f"/repos/{REPO}/collaborators/*", rate_limited(retry_after=3600)
    )
    with pytest.raises(GitHubRateLimited) as info:
        forge.permission(REPO, "octo")
    assert info.value.retry_after == 3600
    assert sleeps == []


def test_slow_answer_times_out_and_is_retried(
    github_emulator: GitHubEmulator, emulator_repo: Any, app: GitHubApp, sleeps: Sleeps
) -> None:
    installation = github_emulator.installation_for(REPO).id
    forge = GitHubForge(app, installation, timeout=1, pace_requests_s=None, pace_writes_s=None)
    github_emulator.faults.add("GET", f"/repos/{REPO}/collaborators/*", slow(2.5), times=1)
    assert forge.permission(REPO, "octo") == "admin"
    assert sleeps == [1.0]
    forge.close()


def test_persistent_5xx_gives_up_after_the_bounded_tries(
    forge: GitHubForge, github_emulator: GitHubEmulator, sleeps: Sleeps
) -> None:
    github_emulator.faults.add(
        "GET", f"/repos/{REPO}/collaborators/*", server_error(500), times=None
    )
    with pytest.raises(GitHubError) as info:
        forge.permission(REPO, "octo")
    assert info.value.status == 500
    assert "gave up after 4 tries" in str(info.value)
    assert sleeps == [1.0, 2.0, 4.0]
    assert forge.calls["permission"] == 4


def test_git_push_retries_a_server_error(
    forge: GitHubForge, github_emulator: GitHubEmulator, sleeps: Sleeps, tmp_path: Path
) -> None:
    root = task_branch(forge, tmp_path, "tierbot/flaky", {"a.py": "A = 1\n"})
    github_emulator.faults.add("*", f"/{REPO}.git/*", server_error(502), times=1)
    forge.push(root, "tierbot/flaky")
    assert sleeps == [1.0]
    assert forge.git_calls["push"] == 2


# -- permanent failures end at once --------------------------------------------------------------


def test_permanent_404_is_a_clear_error_without_retries(forge: GitHubForge, sleeps: Sleeps) -> None:
    with pytest.raises(GitHubError) as info:
        forge.issue(REPO, 999)
    assert info.value.status == 404
    assert str(info.value) == f"issue {REPO}#999: GitHub answered 404: Not Found"
    assert sleeps == [] and forge.calls["issue"] == 1


def test_permanent_403_is_a_clear_error_without_retries(
    forge: GitHubForge, github_emulator: GitHubEmulator, sleeps: Sleeps
) -> None:
    github_emulator.faults.add(
        "POST",
        f"/repos/{REPO}/issues/*/labels",
        server_error(403, "Resource not accessible by integration"),
    )
    number = github_emulator.open_issue(REPO, "x").number
    with pytest.raises(GitHubError) as info:
        forge.add_labels(REPO, number, ["tierbot:stub"])
    assert info.value.status == 403
    assert "add_labels" in str(info.value) and "Resource not accessible" in str(info.value)
    assert sleeps == [] and forge.calls["add_labels"] == 1


def test_repository_of_another_installation_is_404(
    forge: GitHubForge, github_emulator: GitHubEmulator
) -> None:
    github_emulator.create_repo("someone/else")
    with pytest.raises(GitHubError) as info:
        forge.issue("someone/else", 1)
    assert info.value.status == 404


# -- issues, labels, comments ------------------------------------------------------------------


def test_issue_labels_and_permission(forge: GitHubForge, github_emulator: GitHubEmulator) -> None:
    github_emulator.add_collaborator(REPO, "bob", "maintain")
    github_emulator.add_collaborator(REPO, "carol", "triage")
    github_emulator.user("alice")
    assert [forge.permission(REPO, u) for u in ("octo", "bob", "carol", "alice")] == [
        "admin",
        "maintain",
        "triage",
        "none",
    ]
    number = github_emulator.open_issue(REPO, "Stub it", "body text", user="bob").number
    forge.add_labels(REPO, number, ["tierbot:stub", "tierbot:running"])
    forge.remove_label(REPO, number, "tierbot:stub")
    forge.remove_label(REPO, number, "never-there")  # 404 from GitHub, not an error here
    issue = forge.issue(REPO, number)
    assert (issue.title, issue.body, issue.author, issue.is_pull) == (
        "Stub it",
        "body text",
        "bob",
        False,
    )
    assert issue.labels == ("tierbot:running",)


def test_file_text(forge: GitHubForge) -> None:
    assert "check:" in (forge.file_text(REPO, ".github/tierbot.yml") or "")
    assert forge.file_text(REPO, ".github/tierbot.yml", "main") == forge.file_text(
        REPO, ".github/tierbot.yml"
    )
    assert forge.file_text(REPO, "missing.yml") is None


def test_upsert_comment_is_idempotent(forge: GitHubForge, github_emulator: GitHubEmulator) -> None:
    number = github_emulator.open_issue(REPO, "Task").number
    # A person quoting the marker does not make their comment the bot's.
    github_emulator.comment(REPO, number, f"what is {MARKER}?", user="alice")
    first = forge.upsert_comment(REPO, number, MARKER, f"{MARKER}\n⏳ running")
    second = forge.upsert_comment(REPO, number, MARKER, f"{MARKER}\n✅ done")
    assert first == second
    comments = forge.comments(REPO, number)
    ours = [c for c in comments if c.app_id == github_emulator.app_id]
    assert len(comments) == 2 and len(ours) == 1
    assert ours[0].body.endswith("✅ done") and ours[0].author == "tierbot[bot]"
    forge.calls.clear()
    assert forge.upsert_comment(REPO, number, MARKER, f"{MARKER}\n✅ done") == first
    assert dict(forge.calls) == {"upsert_comment": 1}  # unchanged: listed, not edited
    with pytest.raises(ValueError):
        forge.upsert_comment(REPO, number, MARKER, "no marker here")


def test_upsert_finds_its_bot_comment_without_an_app_id(
    forge: GitHubForge, github_emulator: GitHubEmulator
) -> None:
    # GitHub does not always fill performed_via_github_app; the bot's login then decides,
    # learnt once from GET /app with the App's JWT.
    number = github_emulator.open_issue(REPO, "Task").number
    old = github_emulator.comment(REPO, number, f"{MARKER} old", user="tierbot[bot]")
    assert forge.upsert_comment(REPO, number, MARKER, f"{MARKER} new") == old
    assert [c.body for c in forge.comments(REPO, number)] == [f"{MARKER} new"]
    assert forge.calls["app"] == 1


def test_an_unusable_key_is_a_config_error_naming_the_app(github_emulator: GitHubEmulator) -> None:
    app = GitHubApp(5, "-----BEGIN RSA PRIVATE KEY-----\nc2VjcmV0\n-----END RSA PRIVATE KEY-----")
    with pytest.raises(GitHubConfigError, match="GitHub App 5 cannot sign") as info:
        app.installation_token(1)
    assert "c2VjcmV0" not in str(info.value)


def test_constructors_do_no_io() -> None:
    app = GitHubApp(1, "not even a key", api_url="http://127.0.0.1:9/api/v3")
    forge = GitHubForge(app, 2)
    assert forge.git_url == "http://127.0.0.1:9"
    assert not forge.calls and not app.calls


def test_edit_comment(forge: GitHubForge, github_emulator: GitHubEmulator) -> None:
    number = github_emulator.open_issue(REPO, "Task").number
    comment_id = forge.create_comment(REPO, number, "one")
    forge.edit_comment(REPO, comment_id, "two")
    assert [c.body for c in forge.comments(REPO, number)] == ["two"]


# -- pull requests and reviews -----------------------------------------------------------------


def test_find_pull_and_create_pull(forge: GitHubForge, tmp_path: Path) -> None:
    root = task_branch(
        forge, tmp_path, "tierbot/issue-7", {"mul.py": "def mul(a, b):\n    return a * b\n"}
    )
    sha = forge.push(root, "tierbot/issue-7")
    assert forge.find_pull(REPO, "tierbot/issue-7") is None
    created = forge.create_pull(REPO, "tierbot/issue-7", "main", "Add mul", "Closes #7")
    assert (created.head_ref, created.head_sha, created.base_ref) == (
        "tierbot/issue-7",
        sha,
        "main",
    )
    assert created.author == "tierbot[bot]" and created.state == "open"
    assert forge.find_pull(REPO, "tierbot/issue-7") == created
    assert forge.pull(REPO, created.number) == created
    assert forge.find_pull(REPO, "tierbot/other") is None
    # A retry pushes another commit to the same branch: a fast-forward, and the PR follows.
    (root / "mul.py").write_text("def mul(a, b):\n    return b * a\n")
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qam", "again"],
        cwd=root,
        check=True,
    )
    again = forge.push(root, "tierbot/issue-7")
    assert again != sha and forge.pull(REPO, created.number).head_sha == again
    with pytest.raises(GitHubError) as info:
        forge.create_pull(REPO, "tierbot/issue-7", "main", "Again", "")
    assert info.value.status == 422 and "already exists" in str(info.value)


def test_pull_files_diff_and_review(
    forge: GitHubForge, github_emulator: GitHubEmulator, tmp_path: Path
) -> None:
    root = task_branch(
        forge, tmp_path, "tierbot/review", {"app.py": "def add(a, b):\n    return a + b + 0\n"}
    )
    sha = forge.push(root, "tierbot/review")
    pr = forge.create_pull(REPO, "tierbot/review", "main", "Tweak add", "")
    files = forge.pull_files(REPO, pr.number)
    assert [(f.path, f.status, f.additions, f.deletions) for f in files] == [
        ("app.py", "modified", 1, 1)
    ]
    diff = forge.pull_diff(REPO, pr.number)
    assert diff.startswith("diff --git a/app.py b/app.py") and "+    return a + b + 0" in diff
    review_id = forge.create_review(
        REPO, pr.number, sha, "Looks fine", [InlineComment("app.py", 2, "why + 0?")]
    )
    assert review_id > 0
    outside = [InlineComment("app.py", 40, "no such line in the diff")]
    with pytest.raises(GitHubError) as info:
        forge.create_review(REPO, pr.number, sha, "Bad anchor", outside)
    assert info.value.status == 422
    assert str(info.value).startswith(f"create_review {REPO}#{pr.number}: GitHub answered 422")
    assert forge.calls["create_review"] == 2  # the 422 was not retried


# -- CI --------------------------------------------------------------------------------------


def test_check_runs_workflow_runs_jobs_and_job_log(
    forge: GitHubForge, github_emulator: GitHubEmulator, tmp_path: Path
) -> None:
    root = task_branch(forge, tmp_path, "tierbot/ci", {"b.py": "B = 2\n"})
    sha = forge.push(root, "tierbot/ci")
    forge.create_pull(REPO, "tierbot/ci", "main", "CI please", "")
    github_emulator.wait_for_ci()
    checks = forge.check_runs(REPO, sha)
    assert checks and all(c.head_sha == sha and c.status == "completed" for c in checks)
    runs = forge.workflow_runs(REPO, branch="tierbot/ci")
    assert runs and runs[0].head_sha == sha and runs[0].conclusion == "success"
    jobs = forge.jobs(REPO, runs[0].id)
    assert jobs and jobs[0].run_id == runs[0].id
    log = forge.job_log(REPO, jobs[0].id)
    assert "42" in log  # the emulator repo's check command prints 42


def test_each_operation_is_one_request(
    forge: GitHubForge, github_emulator: GitHubEmulator, tmp_path: Path
) -> None:
    root = task_branch(
        forge, tmp_path, "tierbot/count", {"app.py": "def add(a, b):\n    return b + a\n"}
    )
    sha = forge.push(root, "tierbot/count")
    number = forge.create_pull(REPO, "tierbot/count", "main", "Count", "").number
    github_emulator.wait_for_ci()
    forge.calls.clear()
    forge.permission(REPO, "octo")
    forge.file_text(REPO, "app.py", sha)
    forge.issue(REPO, number)
    forge.comments(REPO, number)
    forge.create_comment(REPO, number, "hi")
    forge.find_pull(REPO, "tierbot/count")
    forge.pull(REPO, number)
    forge.pull_files(REPO, number)
    forge.pull_diff(REPO, number)
    forge.create_review(REPO, number, sha, "ok", [InlineComment("app.py", 2, "order?")])
    forge.check_runs(REPO, sha)
    run = forge.workflow_runs(REPO, head_sha=sha)[0]
    job = forge.jobs(REPO, run.id)[0]
    forge.job_log(REPO, job.id)  # the 302 only: the signed download is not an API call
    assert set(forge.calls.values()) == {1} and len(forge.calls) == 14


def test_default_branch_sha(forge: GitHubForge, github_emulator: GitHubEmulator) -> None:
    head = subprocess.run(
        ["git", "--git-dir", str(github_emulator.repo(REPO).path), "rev-parse", "refs/heads/main"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert forge.default_branch_sha(REPO) == head
    assert forge.default_branch_sha(REPO) == head
    assert forge.calls["default_branch"] == 1  # the name is cached
    assert forge.calls["default_branch_sha"] == 2


# -- git transport rules -----------------------------------------------------------------------


def test_clone_leaves_no_credential_behind(
    forge: GitHubForge, github_emulator: GitHubEmulator, tmp_path: Path
) -> None:
    clone = forge.clone(REPO, tmp_path / "c")
    assert (clone / "app.py").exists()
    config = (clone / ".git" / "config").read_text()
    assert github_emulator.git_url(REPO) in config
    for token in minted(github_emulator):
        assert token not in config
    assert "@" not in github_emulator.git_url(REPO).split("//", 1)[1]


def test_push_refuses_other_branches_and_force(forge: GitHubForge, tmp_path: Path) -> None:
    root = task_branch(forge, tmp_path, "tierbot/rules", {"c.py": "C = 3\n"})
    with pytest.raises(GitTransportError, match="only its own tierbot"):
        forge.push(root, "main")
    with pytest.raises(GitTransportError, match="only its own tierbot"):
        forge.push(root, "+tierbot/rules")
    with pytest.raises(GitTransportError, match="never force-pushes"):
        forge.push(root, "tierbot/rules", force=True)
    assert forge.git_calls["push"] == 0


def test_push_never_overwrites_a_branch_that_moved(
    forge: GitHubForge, github_emulator: GitHubEmulator, tmp_path: Path
) -> None:
    root = task_branch(forge, tmp_path, "tierbot/moved", {"d.py": "D = 4\n"})
    forge.push(root, "tierbot/moved")
    theirs = github_emulator.push_files(REPO, "tierbot/moved", {"d.py": "D = 5\n"}, user="alice")
    (root / "d.py").write_text("D = 6\n")
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qam", "six"],
        cwd=root,
        check=True,
    )
    with pytest.raises(GitTransportError) as info:
        forge.push(root, "tierbot/moved")
    assert "rejected" in str(info.value) and "never force-pushes" in str(info.value)
    remote = subprocess.run(
        [
            "git",
            "--git-dir",
            str(github_emulator.repo(REPO).path),
            "rev-parse",
            "refs/heads/tierbot/moved",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert remote.stdout.strip() == theirs


def test_push_refuses_an_origin_on_another_host(forge: GitHubForge, tmp_path: Path) -> None:
    root = task_branch(forge, tmp_path, "tierbot/elsewhere", {"e.py": "E = 5\n"})
    subprocess.run(
        ["git", "remote", "set-url", "origin", "https://evil.example/octo/demo.git"],
        cwd=root,
        check=True,
    )
    with pytest.raises(GitTransportError, match="not on"):
        forge.push(root, "tierbot/elsewhere")
    assert forge.git_calls["push"] == 0


# -- call counts and secrecy -------------------------------------------------------------------


def test_api_calls_are_counted_per_operation(
    forge: GitHubForge, github_emulator: GitHubEmulator
) -> None:
    number = github_emulator.open_issue(REPO, "Count me").number
    forge.issue(REPO, number)
    forge.add_labels(REPO, number, ["a"])
    forge.upsert_comment(REPO, number, MARKER, f"{MARKER} one")
    forge.upsert_comment(REPO, number, MARKER, f"{MARKER} two")
    assert dict(forge.calls) == {
        "installation_token": 1,
        "issue": 1,
        "add_labels": 1,
        "upsert_comment": 4,  # list + create, then list + edit
    }


def test_a_planted_token_never_appears_in_logs_errors_or_results(
    forge: GitHubForge,
    github_emulator: GitHubEmulator,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    for name in ("github", "urllib3", "git", "bot", ""):
        caplog.set_level(logging.DEBUG, logger=name)
    results: list[Any] = []
    errors: list[str] = []
    number = github_emulator.open_issue(REPO, "Secret", "body").number
    results.append(forge.issue(REPO, number))
    results.append(forge.upsert_comment(REPO, number, MARKER, f"{MARKER} hi"))
    results.append(forge.comments(REPO, number))
    results.append(forge.permission(REPO, "octo"))
    root = task_branch(forge, tmp_path, "tierbot/secret", {"s.py": "S = 1\n"})
    results.append(forge.push(root, "tierbot/secret"))
    results.append(forge.create_pull(REPO, "tierbot/secret", "main", "Secret", ""))
    github_emulator.wait_for_ci()
    runs = forge.workflow_runs(REPO, branch="tierbot/secret")
    results += [runs, forge.jobs(REPO, runs[0].id)]
    results.append(forge.job_log(REPO, forge.jobs(REPO, runs[0].id)[0].id))
    github_emulator.expire_tokens()  # a 401 and a new token, at DEBUG
    results.append(forge.pull_diff(REPO, number + 1))
    for token in minted(github_emulator):
        github_emulator.revoke_token(token)
    (root / "s.py").write_text("S = 2\n")
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qam", "two"],
        cwd=root,
        check=True,
    )
    # A credential echoed in an error body is scrubbed from the error. (PyGithub's own DEBUG
    # line still holds the body it received: only the edge's log handlers can scrub that.)
    planted = "ghs_" + "P1antedT0ken" * 3
    github_emulator.faults.add(
        "GET", f"/repos/{REPO}/issues/404", server_error(403, f"token {planted} not allowed")
    )
    for attempt in (lambda: forge.push(root, "tierbot/secret"), lambda: forge.issue(REPO, 404)):
        try:
            attempt()
        except (GitHubError, GitTransportError) as exc:
            errors += [str(exc), repr(exc), getattr(exc, "output", "")]
    assert len(errors) == 6
    out, err = capfd.readouterr()
    haystacks = {
        "logs": caplog.text + "".join(str(r.args) for r in caplog.records),
        "errors": "\n".join(errors),
        "results": repr(results),
        "output": out + err,
        "reprs": repr(forge) + repr(forge.app),
        "clone config": (tmp_path / "clone" / ".git" / "config").read_text(),
    }
    tokens = minted(github_emulator)
    assert len(tokens) >= 2
    assert "github.Requester" in caplog.text and "git.cmd" in caplog.text  # DEBUG was on
    for token in tokens:
        for where, text in haystacks.items():
            assert token not in text, f"an installation token leaked into {where}"
    assert planted not in haystacks["errors"] and "[REDACTED]" in haystacks["errors"]
