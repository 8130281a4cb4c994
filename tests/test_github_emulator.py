"""The GitHub emulator acts as GitHub where tierbot can tell: auth, git, CI, webhooks, faults."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import git
import httpx
import pytest
from github import Auth, Github, GithubIntegration

from tests.support.github_emulator import (
    DEFAULT_SECRET,
    GitHubEmulator,
    rate_limited,
    secondary_rate_limited,
    server_error,
    slow,
)
from tests.support.github_emulator.receiver import WebhookReceiver
from tests.support.github_emulator.state import Repo

pytest_plugins = ["tests.support.github_emulator.fixtures"]

REPO = "octo/demo"
IDENTITY = ["-c", "user.name=Test", "-c", "user.email=test@example.com"]


# PyGithub spaces requests 0.25 s apart (writes 1 s) by default; the emulator needs no pacing.
UNTHROTTLED = {"seconds_between_requests": 0, "seconds_between_writes": 0}


def api(emulator: GitHubEmulator, token: str | None = None) -> httpx.Client:
    headers = {"Accept": "application/vnd.github+json"}
    if token:
        headers["Authorization"] = f"token {token}"
    return httpx.Client(base_url=emulator.api_url, headers=headers, timeout=30)


def basic_header(token: str) -> str:
    credential = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return f"http.extraHeader=Authorization: Basic {credential}"


def run_git(
    *args: str, cwd: Path | None = None, token: str | None = None
) -> subprocess.CompletedProcess[str]:
    auth = ["-c", basic_header(token)] if token else []
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    return subprocess.run(
        ["git", *IDENTITY, *auth, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def askpass(tmp_path: Path, token: str) -> dict[str, str]:
    """An askpass helper as an adapter would use: the token never enters a URL or argv."""
    script = tmp_path / "askpass.sh"
    script.write_text(
        '#!/bin/sh\ncase "$1" in Username*) echo x-access-token;; '
        '*) echo "$TIERBOT_TEST_TOKEN";; esac\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return {"GIT_ASKPASS": str(script), "TIERBOT_TEST_TOKEN": token, "GIT_TERMINAL_PROMPT": "0"}


def verify_signature(headers: dict[str, str], body: bytes) -> bool:
    expected = "sha256=" + hmac.new(DEFAULT_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers["X-Hub-Signature-256"], expected)


# -- App auth ---------------------------------------------------------------------------------


def test_app_jwt_buys_an_installation_token_through_pygithub(
    github_emulator: GitHubEmulator, emulator_repo: Repo
) -> None:
    integration = GithubIntegration(
        auth=Auth.AppAuth(github_emulator.app_id, github_emulator.private_key_pem.decode()),
        base_url=github_emulator.api_url,
        **UNTHROTTLED,
    )
    installation = integration.get_repo_installation("octo", "demo")
    token = integration.get_access_token(installation.id)
    assert token.token.startswith("ghs_")
    assert token.expires_at.timestamp() > time.time() + 3000

    gh = Github(auth=Auth.Token(token.token), base_url=github_emulator.api_url, **UNTHROTTLED)
    repo = gh.get_repo(REPO)
    assert (repo.full_name, repo.default_branch, repo.private) == (REPO, "main", True)
    # The installation-auth path PyGithub's adapter will use end to end.
    app_gh = Github(
        auth=Auth.AppAuth(
            github_emulator.app_id, github_emulator.private_key_pem.decode()
        ).get_installation_auth(installation.id),
        base_url=github_emulator.api_url,
        **UNTHROTTLED,
    )
    assert app_gh.get_repo(REPO).get_issues().totalCount == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"iss": "999"}, "Integration not found"),
        ({"lifetime": 660}, "too far in the future"),
        ({"iat_offset": -900}, "'Expiration time' claim"),  # expired
        ({"iat_offset": 600}, "'Issued at' claim"),
    ],
    ids=["wrong-iss", "over-ten-minutes", "expired", "issued-in-the-future"],
)
def test_bad_app_jwts_get_401(
    github_emulator: GitHubEmulator,
    emulator_repo: Repo,
    kwargs: dict[str, object],
    message: str,
) -> None:
    inst = github_emulator.installation_for(REPO)
    jwt = github_emulator.app_jwt(**kwargs)  # type: ignore[arg-type]
    with api(github_emulator) as client:
        response = client.post(
            f"/app/installations/{inst.id}/access_tokens",
            headers={"Authorization": f"Bearer {jwt}"},
        )
    assert response.status_code == 401
    assert message in response.json()["message"]


def test_jwt_signed_with_another_key_is_refused(
    github_emulator: GitHubEmulator, emulator_repo: Repo
) -> None:
    from tests.support.github_emulator.auth import generate_key_pair

    other_key, _ = generate_key_pair()
    jwt = github_emulator.app_jwt(key=other_key)
    with api(github_emulator) as client:
        response = client.get("/app", headers={"Authorization": f"Bearer {jwt}"})
    assert response.status_code == 401
    assert response.json()["message"] == "A JSON web token could not be decoded"


def test_expired_token_gets_bad_credentials(emulator_repo: Repo) -> None:
    with GitHubEmulator() as emulator:
        emulator.create_repo(REPO)
        inst = emulator.installation_for(REPO)
        with api(emulator) as client:
            issued = client.post(
                f"/app/installations/{inst.id}/access_tokens",
                headers={"Authorization": f"Bearer {emulator.app_jwt()}"},
            )
        token = issued.json()["token"]
        with api(emulator, token) as client:
            assert client.get(f"/repos/{REPO}").status_code == 200
            emulator.expire_tokens()  # as if the token's hour had passed
            response = client.get(f"/repos/{REPO}")
        assert response.status_code == 401
        assert response.json() == {
            "message": "Bad credentials",
            "documentation_url": "https://docs.github.com/rest",
            "status": "401",
        }


def test_unknown_and_other_installation_tokens(
    github_emulator: GitHubEmulator, emulator_repo: Repo
) -> None:
    github_emulator.create_repo("someone/else")
    foreign = github_emulator.issue_token("someone/else")
    with api(github_emulator, "ghs_made_up") as client:
        assert client.get(f"/repos/{REPO}").status_code == 401
    with api(github_emulator, foreign) as client:
        # Another installation's token cannot see the repository at all.
        assert client.get(f"/repos/{REPO}").status_code == 404
    with api(github_emulator) as client:
        assert client.get(f"/repos/{REPO}").status_code == 404  # private, anonymous


# -- git over smart HTTP ----------------------------------------------------------------------


def test_clone_and_push_with_gitpython_and_an_askpass_helper(
    github_emulator: GitHubEmulator, emulator_repo: Repo, tmp_path: Path
) -> None:
    token = github_emulator.issue_token(REPO)
    env = askpass(tmp_path, token)
    work = git.Repo.clone_from(github_emulator.git_url(REPO), tmp_path / "work", env=env)
    assert (tmp_path / "work" / "app.py").exists()
    with work.config_writer() as config:
        config.set_value("user", "name", "Bot").set_value("user", "email", "bot@example.com")
    work.git.checkout("-b", "tierbot/issue-7")
    (tmp_path / "work" / "stub.py").write_text("def stub():\n    pass\n")
    work.index.add(["stub.py"])
    sha = work.index.commit("Add stub").hexsha
    with work.git.custom_environment(**env):
        work.remote().push("tierbot/issue-7")
    with api(github_emulator, token) as client:
        ref = client.get(f"/repos/{REPO}/git/ref/heads/tierbot/issue-7").json()
    assert ref["object"]["sha"] == sha
    pushes = github_emulator.deliveries("push")
    assert pushes == []  # no webhook URL configured: nothing is sent


def test_push_without_or_with_a_revoked_token_fails(
    github_emulator: GitHubEmulator, emulator_repo: Repo, tmp_path: Path
) -> None:
    token = github_emulator.issue_token(REPO)
    assert (
        run_git(
            "clone", "-q", github_emulator.git_url(REPO), str(tmp_path / "w"), token=token
        ).returncode
        == 0
    )
    work = tmp_path / "w"
    (work / "new.txt").write_text("x\n")
    run_git("add", "new.txt", cwd=work)
    run_git("commit", "-qm", "new", cwd=work)

    anonymous = run_git("push", "origin", "HEAD:refs/heads/anon", cwd=work)
    assert anonymous.returncode != 0
    github_emulator.revoke_token(token)
    revoked = run_git("push", "origin", "HEAD:refs/heads/revoked", cwd=work, token=token)
    # git answers the 401 by asking for credentials, which prompts are off to refuse.
    assert revoked.returncode != 0
    assert token not in revoked.stderr
    with api(github_emulator, token) as client:
        assert client.get(f"/repos/{REPO}").status_code == 401
    fresh = github_emulator.issue_token(REPO)
    assert (
        run_git("push", "-q", "origin", "HEAD:refs/heads/ok", cwd=work, token=fresh).returncode == 0
    )


def test_private_clone_needs_a_token_but_public_does_not(
    github_emulator: GitHubEmulator, emulator_repo: Repo, tmp_path: Path
) -> None:
    denied = run_git("clone", "-q", github_emulator.git_url(REPO), str(tmp_path / "a"))
    assert denied.returncode != 0
    github_emulator.create_repo("octo/open", private=False)
    allowed = run_git("clone", "-q", github_emulator.git_url("octo/open"), str(tmp_path / "b"))
    assert allowed.returncode == 0, allowed.stderr


# -- PR, CI, webhooks -------------------------------------------------------------------------


def test_pr_push_runs_ci_and_delivers_signed_webhooks(
    github_emulator: GitHubEmulator, webhook_receiver: WebhookReceiver, tmp_path: Path
) -> None:
    # No check command configured: the default `python -m pytest -q` runs the repo's tests.
    github_emulator.create_repo(
        REPO,
        {
            "calc.py": "def add(a, b):\n    return a + b\n",
            "test_calc.py": (
                "from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"
            ),
        },
    )
    token = github_emulator.issue_token(REPO)
    run_git("clone", "-q", github_emulator.git_url(REPO), str(tmp_path / "w"), token=token)
    work = tmp_path / "w"
    run_git("checkout", "-qb", "tierbot/issue-1", cwd=work)
    (work / "calc.py").write_text(
        "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n"
    )
    run_git("commit", "-qam", "Add sub", cwd=work)
    assert run_git("push", "-q", "origin", "tierbot/issue-1", cwd=work, token=token).returncode == 0
    gh = Github(auth=Auth.Token(token), base_url=github_emulator.api_url, **UNTHROTTLED)
    pr = gh.get_repo(REPO).create_pull(
        title="Add sub", body="Closes #1", head="tierbot/issue-1", base="main"
    )
    github_emulator.wait_for_ci()

    # Red: a breaking commit pushed to the same PR runs CI again and fails.
    (work / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    run_git("commit", "-qam", "Break add", cwd=work)
    assert run_git("push", "-q", "origin", "tierbot/issue-1", cwd=work, token=token).returncode == 0
    github_emulator.wait_for_ci()

    head = gh.get_repo(REPO).get_pull(pr.number).head.sha
    runs = list(gh.get_repo(REPO).get_commit(head).get_check_runs())
    assert [(r.name, r.status, r.conclusion) for r in runs] == [("check", "completed", "failure")]
    events = [(d.event, d.action) for d in github_emulator.deliveries()]
    assert events == [
        ("push", None),
        ("pull_request", "opened"),
        ("workflow_job", "completed"),
        ("check_run", "completed"),
        ("check_suite", "completed"),
        ("workflow_run", "completed"),
        ("push", None),
        ("pull_request", "synchronize"),
        ("workflow_job", "completed"),
        ("check_run", "completed"),
        ("check_suite", "completed"),
        ("workflow_run", "completed"),
    ]
    conclusions = [
        d.payload["check_run"]["conclusion"] for d in github_emulator.deliveries("check_run")
    ]
    assert conclusions == ["success", "failure"]
    for received in webhook_receiver.received:
        assert verify_signature(received.headers, received.body)
        assert received.headers["X-GitHub-Event"] != ""
    assert len({r.headers["X-GitHub-Delivery"] for r in webhook_receiver.received}) == 12
    first = github_emulator.deliveries("check_run")[0].payload
    assert first["check_run"]["pull_requests"][0]["number"] == pr.number
    assert first["installation"]["id"] == github_emulator.installation_for(REPO).id

    run = gh.get_repo(REPO).get_workflow_runs(head_sha=head)[0]
    job = run.jobs()[0]
    with api(github_emulator, token) as client:
        log = client.get(f"/repos/{REPO}/actions/jobs/{job.id}/logs", follow_redirects=True)
    assert log.status_code == 200
    assert "1 failed" in log.text and "##[error]Process completed with exit code 1." in log.text


def test_review_on_a_line_outside_the_diff_is_422(
    github_emulator: GitHubEmulator, emulator_repo: Repo
) -> None:
    github_emulator.push_files(
        REPO, "feature", {"app.py": "def add(a, b):\n    return a + b\n\n\nX = 1\n"}
    )
    number = github_emulator.open_pull(REPO, "feature").number
    token = github_emulator.issue_token(REPO)
    pr = (
        Github(auth=Auth.Token(token), base_url=github_emulator.api_url, **UNTHROTTLED)
        .get_repo(REPO)
        .get_pull(number)
    )
    review = pr.create_review(
        body="ok", event="COMMENT", comments=[{"path": "app.py", "line": 5, "body": "inline"}]
    )
    assert review.state == "COMMENTED"
    (comment,) = list(pr.get_review_comments())
    assert (comment.path, comment.line, comment.side, comment.position) == ("app.py", 5, "RIGHT", 5)
    assert comment.diff_hunk.startswith("@@ -1,2 +1,5 @@")
    with api(github_emulator, token) as client:
        bad = client.post(
            f"/repos/{REPO}/pulls/{number}/reviews",
            json={
                "body": "x",
                "event": "COMMENT",
                "comments": [{"path": "app.py", "line": 99, "body": "?"}],
            },
        )
        left = client.post(
            f"/repos/{REPO}/pulls/{number}/reviews",
            json={
                "event": "COMMENT",
                "body": "x",
                "comments": [{"path": "app.py", "line": 5, "side": "LEFT", "body": "?"}],
            },
        )
        missing = client.post(
            f"/repos/{REPO}/pulls/{number}/reviews",
            json={
                "event": "COMMENT",
                "body": "x",
                "comments": [{"path": "nope.py", "line": 1, "body": "?"}],
            },
        )
    assert bad.status_code == 422
    assert bad.json()["message"] == "Unprocessable Entity"
    assert bad.json()["errors"] == ["Line could not be resolved"]
    assert left.status_code == 422  # the old file has no line 5
    assert missing.status_code == 422


def test_labels_comments_and_permissions_through_pygithub(
    github_emulator: GitHubEmulator, emulator_repo: Repo, webhook_receiver: WebhookReceiver
) -> None:
    github_emulator.add_collaborator(REPO, "alice", "maintain")
    github_emulator.user("eve")
    number = github_emulator.open_issue(REPO, "Stub it", user="alice").number
    github_emulator.label_issue(REPO, number, "tierbot:stub", sender="alice")
    token = github_emulator.issue_token(REPO)
    repo = Github(auth=Auth.Token(token), base_url=github_emulator.api_url, **UNTHROTTLED).get_repo(
        REPO
    )
    issue = repo.get_issue(number)
    issue.add_to_labels("tierbot:working")
    issue.remove_from_labels("tierbot:stub")
    comment = issue.create_comment("<!-- tierbot:state {} --> started")
    comment.edit("<!-- tierbot:state {} --> done")
    assert [c.body for c in issue.get_comments()] == ["<!-- tierbot:state {} --> done"]
    assert [lab.name for lab in repo.get_issue(number).labels] == ["tierbot:working"]
    assert repo.get_collaborator_permission("alice") == "write"
    assert repo.get_collaborator_permission("eve") == "none"
    assert repo.get_collaborator_permission("octo") == "admin"
    github_emulator.wait_for_webhooks()
    labeled = [
        (d.action, d.payload["label"]["name"], d.payload["sender"]["login"])
        for d in github_emulator.deliveries("issues")
        if d.action != "opened"
    ]
    assert labeled == [
        ("labeled", "tierbot:stub", "alice"),
        ("labeled", "tierbot:working", "tierbot[bot]"),
        ("unlabeled", "tierbot:stub", "tierbot[bot]"),
    ]
    (created,) = github_emulator.deliveries("issue_comment")
    assert created.payload["comment"]["performed_via_github_app"]["slug"] == "tierbot"


def test_lists_are_paginated_with_a_link_header(
    github_emulator: GitHubEmulator, emulator_repo: Repo
) -> None:
    number = github_emulator.open_issue(REPO, "chatty").number
    for i in range(5):
        github_emulator.comment(REPO, number, f"comment {i}")
    token = github_emulator.issue_token(REPO)
    with api(github_emulator, token) as client:
        first = client.get(f"/repos/{REPO}/issues/{number}/comments", params={"per_page": 2})
    assert len(first.json()) == 2
    assert 'rel="next"' in first.headers["link"] and "page=3" in first.headers["link"]
    repo = Github(
        auth=Auth.Token(token), base_url=github_emulator.api_url, per_page=2, **UNTHROTTLED
    ).get_repo(REPO)
    assert [c.body for c in repo.get_issue(number).get_comments()] == [
        f"comment {i}" for i in range(5)
    ]


def test_existing_pr_for_a_branch_is_refused(
    github_emulator: GitHubEmulator, emulator_repo: Repo
) -> None:
    github_emulator.push_files(REPO, "tierbot/issue-3", {"x.py": "x = 1\n"})
    token = github_emulator.issue_token(REPO)
    with api(github_emulator, token) as client:
        body = {"title": "t", "head": "tierbot/issue-3", "base": "main"}
        assert client.post(f"/repos/{REPO}/pulls", json=body).status_code == 201
        again = client.post(f"/repos/{REPO}/pulls", json=body)
        found = client.get(f"/repos/{REPO}/pulls", params={"head": "octo:tierbot/issue-3"})
    assert again.status_code == 422
    assert (
        again.json()["errors"][0]["message"]
        == "A pull request already exists for octo:tierbot/issue-3."
    )
    assert [p["number"] for p in found.json()] == [1]


# -- faults, redelivery -----------------------------------------------------------------------


def test_faults_fail_throttle_and_stall_the_named_route(
    github_emulator: GitHubEmulator, emulator_repo: Repo
) -> None:
    token = github_emulator.issue_token(REPO)
    faults = github_emulator.faults
    faults.add("GET", "/repos/octo/demo", server_error(502), times=2)
    faults.add("POST", "/repos/*/*/issues/*/comments", rate_limited(retry_after=7))
    faults.add("POST", "/repos/*/*/issues/*/labels", secondary_rate_limited(retry_after=3))
    faults.add("GET", "/repos/*/*/issues/*", slow(0.3))
    number = github_emulator.open_issue(REPO, "x").number
    with api(github_emulator, token) as client:
        statuses = [client.get(f"/repos/{REPO}").status_code for _ in range(3)]
        throttled = client.post(f"/repos/{REPO}/issues/{number}/comments", json={"body": "a"})
        retried = client.post(f"/repos/{REPO}/issues/{number}/comments", json={"body": "a"})
        secondary = client.post(f"/repos/{REPO}/issues/{number}/labels", json=["x"])
        start = time.monotonic()
        stalled = client.get(f"/repos/{REPO}/issues/{number}")
        took = time.monotonic() - start
    assert statuses == [502, 502, 200]
    assert throttled.status_code == 429
    assert throttled.headers["retry-after"] == "7"
    assert throttled.headers["x-ratelimit-remaining"] == "0"
    assert retried.status_code == 201
    assert secondary.status_code == 403
    assert secondary.headers["retry-after"] == "3"
    assert "secondary rate limit" in secondary.json()["message"]
    assert stalled.status_code == 200 and took >= 0.3


def test_a_fault_on_the_git_route_fails_one_push(
    github_emulator: GitHubEmulator, emulator_repo: Repo, tmp_path: Path
) -> None:
    token = github_emulator.issue_token(REPO)
    cloned = run_git("clone", "-q", github_emulator.git_url(REPO), str(tmp_path / "w"), token=token)
    assert cloned.returncode == 0, cloned.stderr
    work = tmp_path / "w"
    (work / "f.txt").write_text("f\n")
    run_git("add", "f.txt", cwd=work)
    run_git("commit", "-qm", "f", cwd=work)
    github_emulator.faults.add("POST", "/octo/demo.git/git-receive-pack", server_error(500))
    assert (
        run_git("push", "-q", "origin", "HEAD:refs/heads/f", cwd=work, token=token).returncode != 0
    )
    assert (
        run_git("push", "-q", "origin", "HEAD:refs/heads/f", cwd=work, token=token).returncode == 0
    )


def test_dropped_delivery_is_logged_and_redelivery_keeps_its_id(
    github_emulator: GitHubEmulator, emulator_repo: Repo, webhook_receiver: WebhookReceiver
) -> None:
    github_emulator.faults.drop_webhooks(event="issues", times=1)
    github_emulator.open_issue(REPO, "lost")
    github_emulator.wait_for_webhooks()
    (lost,) = github_emulator.deliveries("issues")
    assert lost.dropped and lost.status_code is None
    assert webhook_receiver.received == []

    again = github_emulator.redeliver(lost.guid)
    github_emulator.wait_for_webhooks()
    assert again.redelivery and again.guid == lost.guid and again.status_code == 202
    (received,) = webhook_receiver.received
    assert received.headers["X-GitHub-Delivery"] == lost.guid
    assert received.body == lost.body
    assert verify_signature(received.headers, received.body)
    assert json.loads(received.body)["action"] == "opened"


def test_log_urls_are_signed_and_expire(
    github_emulator: GitHubEmulator, emulator_repo: Repo
) -> None:
    github_emulator.push_files(REPO, "feature", {"y.py": "y = 1\n"})
    github_emulator.open_pull(REPO, "feature")
    github_emulator.wait_for_ci()
    token = github_emulator.issue_token(REPO)
    with api(github_emulator, token) as client:
        job_id = next(iter(github_emulator.repo(REPO).jobs))
        location = client.get(f"/repos/{REPO}/actions/jobs/{job_id}/logs").headers["location"]
        assert client.get(location).text.rstrip().endswith("##[endgroup]")
        forged = client.get(location.replace("sig=", "sig=0"))
    assert forged.status_code == 403


def test_runnable_by_hand(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.github_emulator", "--port", "0"],
        cwd=Path(__file__).parent.parent,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        api_url = first.split()[-1]
        assert api_url.startswith("http://127.0.0.1:") and api_url.endswith("/api/v3")
        response = httpx.get(f"{api_url}/repos/octo/demo")
        assert response.status_code == 404  # private without a token, as on GitHub
    finally:
        proc.terminate()
        assert proc.wait(timeout=15) == 0
