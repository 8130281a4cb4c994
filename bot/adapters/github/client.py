"""The REST client under the GitHub forge: installation auth, bounded retries, request counts.

PyGithub runs ``lazy`` (a ``repo.get_pull(n)`` costs nothing until used) and without its own
urllib3 retries: every operation goes through ``_call``, which retries by the policy in
``retry.py`` (5xx, 429, secondary limits, ``retry-after``, ``x-ratelimit-reset``), fetches a
new token once on a 401, and turns any other failure into ``GitHubError`` naming the
operation. ``calls`` counts the API requests made per operation (retries included;
``installation_token`` for token exchanges).
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import requests
from github import Auth, Github, GithubException
from github.GithubObject import NotSet

from bot import metrics
from bot.adapters.git import PushingWorkspace
from bot.adapters.github.auth import USER_AGENT, GitHubApp
from bot.adapters.github.retry import (
    Failure,
    RetryPolicy,
    classify_requests_error,
    describe_body,
    run_with_retries,
)
from bot.adapters.github.transport import (
    GitTransport,
    check_repo,
    git_base_url,
)
from bot.adapters.github.transport import (
    GitTransportError as GitTransportError,
)
from bot.adapters.github.transport import (
    InvalidName as InvalidName,
)
from bot.ports.github import (
    GitHubError,
)

log = logging.getLogger(__name__)
_T = TypeVar("_T")
ROLES = ("admin", "maintain", "write", "triage", "read", "none")
# The operation a PyGithub request belongs to, for ``calls``; set by ``_call`` per thread.
_operation: ContextVar[str] = ContextVar("tierbot_github_operation", default="unattributed")


def _classify(exc: BaseException) -> Failure | None:
    if isinstance(exc, GithubException):
        headers = {str(k).lower(): str(v) for k, v in (exc.headers or {}).items()}
        return Failure(exc.status, headers, describe_body(exc.data))
    return classify_requests_error(exc)


class _InstallationAuth(Auth.Auth):
    """PyGithub auth asking the forge for a live token per request, and counting each request."""

    def __init__(self, forge: RestClient) -> None:
        self._forge = forge

    @property
    def token_type(self) -> str:
        return "token"

    @property
    def token(self) -> str:
        return self._forge._token()

    def authentication(self, headers: dict[str, str]) -> None:
        self._forge._count(_operation.get())
        super().authentication(headers)

    @property
    def _masked_token(self) -> str:
        return "token (installation token removed)"


# -- the forge -------------------------------------------------------------------------------


class RestClient:
    """One App installation's REST client: auth, retries, counting. No I/O until a call."""

    def __init__(
        self,
        app: GitHubApp,
        installation_id: int,
        *,
        api_url: str | None = None,
        git_url: str | None = None,
        timeout: int = 15,
        per_page: int = 100,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] | None = None,
        bot_login: str | None = None,
        pace_requests_s: float | None = 0.25,
        pace_writes_s: float | None = 1.0,
    ) -> None:
        """``pace_*``: PyGithub's spacing between requests and between writes, GitHub's advice
        for staying clear of secondary rate limits (None: no spacing, for tests)."""
        self.app = app
        self.installation_id = int(installation_id)
        self.api_url = (api_url or app.api_url).rstrip("/")
        self.retry = retry or app.retry
        self._sleep = sleep or app.sleep
        self._clock = clock or app.clock
        self._bot_login = bot_login
        self.calls: Counter[str] = Counter()  # API requests by operation
        self.git = GitTransport(
            git_url or git_base_url(self.api_url),
            token=self._token,
            invalidate=lambda: self.app.invalidate(self.installation_id),
            retry=self.retry,
            sleep=self._sleep,
            clock=self._clock,
            redact=app.redact,
        )
        self._lock = threading.Lock()
        self._default_branch: dict[str, str] = {}
        self._download: requests.Session | None = None
        self._gh = Github(
            auth=_InstallationAuth(self),
            base_url=self.api_url,
            timeout=timeout,
            user_agent=USER_AGENT,
            per_page=per_page,
            retry=None,  # retries are ours: bounded, counted, with an injectable sleep
            lazy=True,
            seconds_between_requests=pace_requests_s,
            seconds_between_writes=pace_writes_s,
        )
        self._requester = self._gh.requester

    def close(self) -> None:
        self._gh.close()
        if self._download is not None:
            self._download.close()
            self._download = None

    # -- plumbing ---------------------------------------------------------------------------

    def _count(self, operation: str, n: int = 1) -> None:
        with self._lock:
            self.calls[operation] += n
        requester = getattr(self, "_requester", None)  # None while __init__ runs
        metrics.github_request(operation, n, requester.rate_limiting[0] if requester else None)

    def _token(self) -> str:
        return self.app.installation_token(self.installation_id, counter=self.calls)

    def _reauthorize(self) -> bool:
        self.app.invalidate(self.installation_id)
        return True

    def _on_retry(self, operation: str, failure: Failure, delay: float, retry: int) -> None:
        what = failure.status if failure.status is not None else failure.message
        log.warning(
            "%s: GitHub answered %s; retry %d/%d in %.1f s",
            operation,
            what,
            retry,
            self.retry.tries - 1,
            delay,
        )

    def _call(self, operation: str, target: str, attempt: Callable[[], _T]) -> _T:
        reset = _operation.set(operation)
        try:
            return run_with_retries(
                f"{operation} {target}",
                attempt,
                classify=_classify,
                policy=self.retry,
                sleep=self._sleep,
                clock=self._clock,
                redact=self.app.redact,
                on_retry=self._on_retry,
                on_unauthorized=self._reauthorize,
            )
        finally:
            _operation.reset(reset)

    def _repo(self, full_name: str) -> Any:
        return self._gh.get_repo(check_repo(full_name))

    def _raw(
        self, method: str, path: str, *, accept: str | None = None, body: Any = None
    ) -> tuple[int, dict[str, Any], str]:
        """One request through PyGithub's requester, for what it has no method for."""
        headers = {"Accept": accept} if accept else None
        status, headers_out, output = self._requester.requestJson(
            method, path, headers=headers, input=body
        )
        return status, {str(k).lower(): v for k, v in headers_out.items()}, output

    # -- people and configuration -----------------------------------------------------------

    def permission(self, repo: str, user: str) -> str:
        """``user``'s role on ``repo``: admin, maintain, write, triage, read or none."""

        def attempt() -> str:
            _, data = self._requester.requestJsonAndCheck(
                "GET", f"/repos/{check_repo(repo)}/collaborators/{quote(user, safe='')}/permission"
            )
            role = str(data.get("role_name") or "")
            # Custom organisation roles have their own names; fall back to the base level.
            return role if role in ROLES else str(data.get("permission") or "none")

        return self._call("permission", f"{repo} {user}", attempt)

    def file_text(self, repo: str, path: str, ref: str | None = None) -> str | None:
        """A file's text at ``ref`` (default branch if None); None if absent or not a file."""

        def attempt() -> str | None:
            content = self._repo(repo).get_contents(path, ref=ref if ref else NotSet)
            if isinstance(content, list) or content.type != "file":
                return None
            try:
                return bytes(content.decoded_content).decode("utf-8")
            except UnicodeDecodeError:
                return None

        try:
            return self._call("file_text", f"{repo}:{path}@{ref or 'default'}", attempt)
        except GitHubError as exc:
            if exc.status == 404:
                return None
            raise

    # -- branches ---------------------------------------------------------------------------

    def default_branch(self, repo: str) -> str:
        key = check_repo(repo).lower()
        with self._lock:
            known = self._default_branch.get(key)
        if known is not None:
            return known
        name = str(self._call("default_branch", repo, lambda: self._repo(repo).default_branch))
        with self._lock:
            self._default_branch[key] = name
        return name

    def default_branch_sha(self, repo: str) -> str:
        name = self.default_branch(repo)
        return str(
            self._call(
                "default_branch_sha",
                f"{repo}@{name}",
                lambda: self._repo(repo).get_branch(name).commit.sha,
            )
        )

    # -- git, through the transport ---------------------------------------------------------

    @property
    def git_url(self) -> str:
        return self.git.git_url

    @property
    def git_calls(self) -> Counter[str]:
        """git clone/push processes run, by operation."""
        return self.git.git_calls

    def repo_git_url(self, repo: str) -> str:
        return self.git.repo_git_url(repo)

    def clone(self, repo: str, dest: Path, *, branch: str | None = None) -> Path:
        return self.git.clone(repo, dest, branch=branch)

    def push(self, workdir: Path, branch: str, *, force: bool = False) -> str:
        return self.git.push(workdir, branch, force=force)

    def checkout(self, repo: str, dest: Path, *, branch: str, base: str) -> PushingWorkspace:
        """Clone ``repo`` into ``dest`` and check out ``branch`` (continued if it exists, else
        started from ``base``); the workspace pushes through this forge."""
        clone = self.clone(repo, dest)
        return PushingWorkspace.on_branch(clone, branch, base, self.push)


def describe_text(output: str) -> str:
    try:
        return describe_body(json.loads(output))
    except ValueError:
        return output[:400]
