"""The GitHub forge: every read and write the bot makes on GitHub, through PyGithub and git.

``GitHubForge`` acts as one App installation. Its methods return small frozen dataclasses,
never PyGithub objects, so the rest of the bot neither depends on PyGithub nor can trigger a
hidden request by touching an attribute. PyGithub runs ``lazy`` (a ``repo.get_pull(n)`` costs
nothing until used) and without its own urllib3 retries: every operation goes through
``_call``, which retries by the policy in ``github_auth`` (5xx, 429, secondary limits,
``retry-after``, ``x-ratelimit-reset``), fetches a new token once on a 401, and turns any other
failure into ``GitHubError`` naming the operation. ``calls`` counts the API requests made per
operation (retries included; ``installation_token`` for token exchanges).

Clones and pushes go through the installation's git transport (``transport.py``).
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from contextvars import ContextVar
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import quote

import requests
from github import Auth, Github, GithubException
from github.GithubObject import NotSet
from github.PaginatedList import PaginatedList
from github.WorkflowJob import WorkflowJob

from bot.adapters.git import PushingWorkspace
from bot.adapters.github.auth import DEFAULT_API_URL, USER_AGENT, GitHubApp, GitHubConfigError
from bot.adapters.github.retry import (
    Failure,
    HttpFailure,
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
    CheckRunInfo,
    CommentInfo,
    GitHubError,
    GitHubRateLimited,
    InlineComment,
    IssueInfo,
    JobInfo,
    PullFile,
    PullInfo,
    WorkflowRunInfo,
)

__all__ = [
    "DEFAULT_API_URL",
    "CheckRunInfo",
    "CommentInfo",
    "GitHubApp",
    "GitHubConfigError",
    "GitHubError",
    "GitHubForge",
    "GitHubRateLimited",
    "GitTransportError",
    "InlineComment",
    "IssueInfo",
    "JobInfo",
    "PullFile",
    "PullInfo",
    "RetryPolicy",
    "WorkflowRunInfo",
    "git_base_url",
]

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

    def __init__(self, forge: GitHubForge) -> None:
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


class GitHubForge:
    """One App installation's view of GitHub. No I/O until a method is called."""

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

    def __repr__(self) -> str:
        return f"GitHubForge(installation_id={self.installation_id}, api_url={self.api_url!r})"

    def close(self) -> None:
        self._gh.close()
        if self._download is not None:
            self._download.close()
            self._download = None

    def __enter__(self) -> GitHubForge:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- plumbing ---------------------------------------------------------------------------

    def _count(self, operation: str, n: int = 1) -> None:
        with self._lock:
            self.calls[operation] += n

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

    # -- issues, labels, comments -----------------------------------------------------------

    def issue(self, repo: str, number: int) -> IssueInfo:
        def attempt() -> IssueInfo:
            item = self._repo(repo).get_issue(number)
            return IssueInfo(
                number=item.number,
                title=item.title or "",
                body=item.body or "",
                state=item.state,
                author=item.user.login,
                labels=tuple(label.name for label in item.labels),
                is_pull=item.pull_request is not None,
                url=item.html_url,
            )

        return self._call("issue", f"{repo}#{number}", attempt)

    def add_labels(self, repo: str, number: int, labels: Sequence[str]) -> None:
        if not labels:
            return
        self._call(
            "add_labels",
            f"{repo}#{number}",
            lambda: self._repo(repo).get_issue(number).add_to_labels(*labels),
        )

    def remove_label(self, repo: str, number: int, label: str) -> None:
        """Remove ``label``; a label the issue does not carry is not an error."""
        try:
            self._call(
                "remove_label",
                f"{repo}#{number} {label}",
                lambda: self._repo(repo).get_issue(number).remove_from_labels(label),
            )
        except GitHubError as exc:
            if exc.status != 404:
                raise

    def _list_comments(self, repo: str, number: int) -> list[CommentInfo]:
        out = []
        for c in self._repo(repo).get_issue(number).get_comments():
            app = c.performed_via_github_app
            out.append(
                CommentInfo(
                    id=c.id,
                    author=c.user.login,
                    author_type=c.user.type or "User",
                    body=c.body or "",
                    app_id=app.id if app is not None else None,
                )
            )
        return out

    def comments(self, repo: str, number: int) -> list[CommentInfo]:
        """Every comment on an issue or PR, oldest first."""
        return self._call("comments", f"{repo}#{number}", lambda: self._list_comments(repo, number))

    def _post_comment(self, repo: str, number: int, body: str) -> int:
        return int(self._repo(repo).get_issue(number).create_comment(body).id)

    def _patch_comment(self, repo: str, comment_id: int, body: str) -> None:
        self._requester.requestJsonAndCheck(
            "PATCH",
            f"/repos/{check_repo(repo)}/issues/comments/{int(comment_id)}",
            input={"body": body},
        )

    def create_comment(self, repo: str, number: int, body: str) -> int:
        return self._call(
            "create_comment", f"{repo}#{number}", lambda: self._post_comment(repo, number, body)
        )

    def edit_comment(self, repo: str, comment_id: int, body: str) -> None:
        self._call(
            "edit_comment",
            f"{repo} comment {comment_id}",
            lambda: self._patch_comment(repo, comment_id, body),
        )

    def _is_own(self, comment: CommentInfo) -> bool:
        if comment.app_id is not None:
            return comment.app_id == self.app.app_id
        if comment.author_type != "Bot":
            return False
        if self._bot_login is None:
            # Only when a bot comment carries the marker without naming its App (once).
            self._bot_login = self.app.bot_login(counter=self.calls)
        return comment.author == self._bot_login

    def upsert_comment(self, repo: str, number: int, marker: str, body: str) -> int:
        """Edit the bot's own comment holding ``marker`` in place, else create it; its id.

        Idempotent: the same call twice leaves one comment, and an unchanged body is not sent
        again. ``body`` must contain ``marker`` so the next call finds the comment.
        """
        if not marker or marker not in body:
            raise ValueError("upsert_comment: the body must contain the marker")

        def attempt() -> int:
            for comment in self._list_comments(repo, number):
                if marker in comment.body and self._is_own(comment):
                    if comment.body != body:
                        self._patch_comment(repo, comment.id, body)
                    return comment.id
            return self._post_comment(repo, number, body)

        return self._call("upsert_comment", f"{repo}#{number}", attempt)

    # -- pull requests ----------------------------------------------------------------------

    @staticmethod
    def _pull_info(pr: Any) -> PullInfo:
        return PullInfo(
            number=pr.number,
            title=pr.title or "",
            body=pr.body or "",
            state=pr.state,
            head_ref=pr.head.ref,
            head_sha=pr.head.sha,
            base_ref=pr.base.ref,
            author=pr.user.login,
            url=pr.html_url,
            draft=bool(pr.draft),
        )

    def find_pull(self, repo: str, head_branch: str) -> PullInfo | None:
        """The open PR from ``head_branch`` of this repository, if there is one."""
        owner = check_repo(repo).split("/")[0]

        def attempt() -> PullInfo | None:
            pulls = self._repo(repo).get_pulls(state="open", head=f"{owner}:{head_branch}")
            for pr in pulls:
                return self._pull_info(pr)
            return None

        return self._call("find_pull", f"{repo} {head_branch}", attempt)

    def create_pull(
        self, repo: str, head: str, base: str, title: str, body: str, *, draft: bool = False
    ) -> PullInfo:
        return self._call(
            "create_pull",
            f"{repo} {head}->{base}",
            lambda: self._pull_info(
                self._repo(repo).create_pull(
                    title=title, body=body, head=head, base=base, draft=draft
                )
            ),
        )

    def pull(self, repo: str, number: int) -> PullInfo:
        return self._call(
            "pull", f"{repo}#{number}", lambda: self._pull_info(self._repo(repo).get_pull(number))
        )

    def pull_files(self, repo: str, number: int) -> list[PullFile]:
        def attempt() -> list[PullFile]:
            return [
                PullFile(
                    path=f.filename,
                    status=f.status,
                    additions=f.additions,
                    deletions=f.deletions,
                    patch=f.patch,
                    previous_path=f.previous_filename,
                )
                for f in self._repo(repo).get_pull(number).get_files()
            ]

        return self._call("pull_files", f"{repo}#{number}", attempt)

    def pull_diff(self, repo: str, number: int) -> str:
        """The PR's unified diff (``application/vnd.github.diff``)."""

        def attempt() -> str:
            status, headers, output = self._raw(
                "GET", f"/repos/{check_repo(repo)}/pulls/{int(number)}", accept=_DIFF
            )
            if status >= 300:
                raise HttpFailure(Failure(status, headers, _describe_text(output)))
            return output

        return self._call("pull_diff", f"{repo}#{number}", attempt)

    def create_review(
        self,
        repo: str,
        number: int,
        commit_id: str,
        body: str,
        comments: Iterable[InlineComment],
        *,
        event: str = "COMMENT",
    ) -> int:
        """One review of the PR at ``commit_id`` with inline comments; its id.

        GitHub refuses the whole review (422) if any comment sits outside the diff.
        """
        payload = [c.payload() for c in comments]

        def attempt() -> int:
            handle = self._repo(repo)
            review = handle.get_pull(number).create_review(
                commit=handle.get_commit(commit_id), body=body, event=event, comments=payload
            )
            return int(review.id)

        return self._call("create_review", f"{repo}#{number}", attempt)

    # -- CI ---------------------------------------------------------------------------------

    def check_runs(self, repo: str, ref: str) -> list[CheckRunInfo]:
        def attempt() -> list[CheckRunInfo]:
            return [
                CheckRunInfo(
                    id=run.id,
                    name=run.name,
                    status=run.status,
                    conclusion=run.conclusion,
                    head_sha=run.head_sha,
                    url=run.html_url or run.details_url or "",
                )
                for run in self._repo(repo).get_commit(ref).get_check_runs()
            ]

        return self._call("check_runs", f"{repo}@{ref}", attempt)

    def workflow_runs(
        self,
        repo: str,
        *,
        branch: str | None = None,
        head_sha: str | None = None,
        limit: int = 30,
    ) -> list[WorkflowRunInfo]:
        """The newest ``limit`` workflow runs (of ``branch`` / ``head_sha`` if given)."""

        def attempt() -> list[WorkflowRunInfo]:
            runs = self._repo(repo).get_workflow_runs(
                branch=branch if branch else NotSet, head_sha=head_sha if head_sha else NotSet
            )
            out: list[WorkflowRunInfo] = []
            for run in runs:
                if len(out) >= limit:
                    break
                out.append(
                    WorkflowRunInfo(
                        id=run.id,
                        name=run.name or "",
                        status=run.status,
                        conclusion=run.conclusion,
                        head_sha=run.head_sha,
                        head_branch=run.head_branch or "",
                        event=run.event,
                        url=run.html_url,
                    )
                )
            return out

        return self._call("workflow_runs", f"{repo} {branch or head_sha or ''}".strip(), attempt)

    def jobs(self, repo: str, run_id: int) -> list[JobInfo]:
        # Built here rather than by WorkflowRun.jobs(), which first fetches the run for its URL.
        def attempt() -> list[JobInfo]:
            return [
                JobInfo(
                    id=job.id,
                    run_id=job.run_id,
                    name=job.name,
                    status=job.status,
                    conclusion=job.conclusion,
                    head_sha=job.head_sha,
                    url=job.html_url,
                )
                for job in PaginatedList(
                    WorkflowJob,
                    self._requester,
                    f"/repos/{check_repo(repo)}/actions/runs/{int(run_id)}/jobs",
                    None,
                    list_item="jobs",
                )
            ]

        return self._call("jobs", f"{repo} run {run_id}", attempt)

    def job_log(self, repo: str, job_id: int) -> str:
        """A job's plain-text log. The API answers 302 to a short-lived signed URL; that URL is
        fetched without the token (it is another host on github.com)."""

        def attempt() -> str:
            status, headers, output = self._raw(
                "GET", f"/repos/{check_repo(repo)}/actions/jobs/{int(job_id)}/logs"
            )
            if status == 200:
                return output
            location = str(headers.get("location") or "")
            if status not in (301, 302, 307) or not location:
                raise HttpFailure(Failure(status, headers, _describe_text(output)))
            response = self._downloads().get(location, timeout=60, allow_redirects=True)
            if response.status_code >= 300:
                raise HttpFailure(Failure.from_response(response))
            response.encoding = response.encoding or "utf-8"
            return response.text

        return self._call("job_log", f"{repo} job {job_id}", attempt)

    def _downloads(self) -> requests.Session:
        with self._lock:
            if self._download is None:
                self._download = requests.Session()
                self._download.trust_env = False
            return self._download

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


_DIFF = "application/vnd.github.diff"


def _describe_text(output: str) -> str:
    try:
        return describe_body(json.loads(output))
    except ValueError:
        return output[:400]


# Statuses of a final GitHub answer that a later try may not get: the rest of 4xx is final.
_RETRYABLE_4XX = frozenset({401, 408, 409, 429})


def is_permanent(exc: BaseException) -> bool:
    """Whether a job that raised ``exc`` fails for good now rather than being tried again.

    Permanent: GitHub's 4xx answers (404 gone, 422 invalid, 403 forbidden; never a rate limit,
    which ``GitHubRateLimited`` or a retry-after marks), git refusals and missing repositories,
    names GitHub would refuse, unusable App settings. Transient: 5xx, timeouts, dropped
    connections, rate limits, a token GitHub refused, a push racing another one. A cause
    (``raise ... from``) is looked at as well.
    """
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, GitHubRateLimited):
            return False
        if isinstance(seen, GitHubError) and seen.status is not None:
            return 400 <= seen.status < 500 and seen.status not in _RETRYABLE_4XX
        if isinstance(seen, GitTransportError):
            return seen.permanent
        if isinstance(seen, InvalidName | GitHubConfigError):
            return True
        seen = seen.__cause__
    return False
