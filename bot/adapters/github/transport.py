"""git over HTTPS to GitHub: clone and push with a token git gets from the askpass helper.

The token is never in a URL, a remote, argv, a log line or an exception. Only ``tierbot/*``
branches are pushed, by an explicit non-forcing refspec to the verified origin; transient
server failures are retried by the same policy as the API's.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import git

from bot.adapters.github.askpass import askpass_env
from bot.adapters.github.retry import Failure, RetryPolicy, retry_delay
from bot.ports import WorkspaceError

log = logging.getLogger(__name__)
_T = TypeVar("_T")
_REPO_NAME = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
PUSHABLE_PREFIX = "tierbot/"


class GitTransportError(WorkspaceError):
    """A clone or push failed; ``output`` is git's scrubbed output. ``auth_refused``: GitHub
    refused the installation token (expired or revoked), and the cached one was dropped.
    ``permanent``: trying again cannot help (no permission, no such repository, a refusal)."""

    def __init__(
        self,
        message: str,
        output: str = "",
        *,
        auth_refused: bool = False,
        permanent: bool = False,
    ) -> None:
        super().__init__(message, output)
        self.auth_refused = auth_refused
        self.permanent = permanent


class InvalidName(ValueError):
    """A repository or branch name GitHub would refuse; no request is made for it."""


def git_base_url(api_url: str) -> str:
    """Where git lives for an API URL: api.github.com -> github.com, ``host/api/v3`` -> host."""
    parts = urlsplit(api_url.rstrip("/"))
    path = parts.path
    host = parts.netloc
    if path.endswith("/api/v3"):
        path = path[: -len("/api/v3")]
    elif path in ("", "/") and host.startswith("api."):
        host = host[len("api.") :]
    return urlunsplit((parts.scheme, host, path, "", ""))


def check_repo(full_name: str) -> str:
    if not _REPO_NAME.match(full_name) or ".." in full_name:
        raise InvalidName(f"not an owner/name repository: {full_name!r}")
    return full_name


class GitTransport:
    """One installation's git: ``token`` mints (or reuses) its token, ``invalidate`` drops it."""

    def __init__(
        self,
        git_url: str,
        *,
        token: Callable[[], str],
        invalidate: Callable[[], None],
        retry: RetryPolicy,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
        redact: Callable[[str], str],
    ) -> None:
        self.git_url = git_url.rstrip("/")
        self._token = token
        self._invalidate = invalidate
        self.retry = retry
        self._sleep = sleep
        self._clock = clock
        self._redact = redact
        self._lock = threading.Lock()
        self.git_calls: Counter[str] = Counter()  # git clone/push processes run

    def repo_git_url(self, repo: str) -> str:
        return f"{self.git_url}/{check_repo(repo)}.git"

    def _git(self, operation: str, repo: str, run: Callable[[dict[str, str]], _T]) -> _T:
        """Run one git command with the token on hand; retries transient server failures."""
        retry = 0
        while True:
            token = self._token()
            with self._lock:
                self.git_calls[operation] += 1
            try:
                with askpass_env(token) as env:
                    return run(env)
            except git.GitCommandError as exc:
                output = self._redact(f"{exc.stdout or ''}\n{exc.stderr or ''}".strip())
            if _PERMISSION_DENIED.search(output):
                raise GitTransportError(
                    f"git {operation} {repo}: permission denied (the App needs contents: write "
                    "on the repository)",
                    output,
                    permanent=True,
                )
            if _AUTH_REFUSED.search(output):
                self._invalidate()
                raise GitTransportError(
                    f"git {operation} {repo}: GitHub refused the installation token (expired "
                    "or revoked); the next attempt requests a new one",
                    output,
                    auth_refused=True,
                )
            if "[rejected]" in output or "[remote rejected]" in output:
                raise GitTransportError(
                    f"git {operation} {repo}: rejected: the branch on GitHub has commits this "
                    "one lacks (or a hook refused it); tierbot never force-pushes",
                    output,
                )
            transient = _TRANSIENT_GIT.search(output)
            if transient is None:
                raise GitTransportError(
                    f"git {operation} {repo} failed: {_gist(output)}",
                    output,
                    permanent=bool(_GONE_GIT.search(output)),
                )
            status = int(transient.group(1)) if transient.group(1) else None
            delay = retry_delay(Failure(status, {}, output), retry, self._clock(), self.retry)
            retry += 1
            if delay is None or retry >= self.retry.tries or delay > self.retry.max_wait_s:
                raise GitTransportError(
                    f"git {operation} {repo} failed after {retry} tries: {_gist(output)}", output
                )
            log.warning("git %s %s: %s; retry in %.1f s", operation, repo, _gist(output), delay)
            self._sleep(delay)

    def clone(
        self, repo: str, dest: Path, *, branch: str | None = None, reference: Path | None = None
    ) -> Path:
        """Clone ``repo`` into ``dest`` (absent or empty). The remote URL holds no credential.

        ``reference``: a local checkout of the same repository whose objects are borrowed (and
        copied, so the clone stands alone), so only what it lacks crosses the network."""
        url = self.repo_git_url(repo)
        args = ["--quiet"]
        if reference is not None:
            args += ["--reference-if-able", str(reference), "--dissociate"]
        if branch:
            args += ["--branch", branch]
        self._git("clone", repo, lambda env: git.Git().clone(*args, "--", url, str(dest), env=env))
        return Path(dest)

    def push(self, workdir: Path, branch: str, *, force: bool = False) -> str:
        """Push ``branch`` (a ``tierbot/*`` branch) from ``workdir`` to its GitHub origin.

        Never forces: a remote branch that moved on is an error, not an overwrite. Returns the
        pushed commit.
        """
        if force:
            raise GitTransportError(
                f"refusing to force-push {branch}: tierbot never force-pushes", permanent=True
            )
        if not branch.startswith(PUSHABLE_PREFIX) or any(ch in branch for ch in "+:*?[\\ ~^"):
            raise GitTransportError(
                f"refusing to push {branch!r}: tierbot pushes only its own tierbot/* branches",
                permanent=True,
            )
        try:
            local = git.Repo(workdir)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            raise GitTransportError(f"{workdir} is not a git checkout", permanent=True) from None
        try:
            local.git.check_ref_format("--branch", branch)
            sha = str(local.git.rev_parse("--verify", f"refs/heads/{branch}^{{commit}}"))
        except git.GitCommandError:
            raise GitTransportError(
                f"no branch {branch} to push in {workdir}", permanent=True
            ) from None
        repo = self._origin_repo(local, workdir)
        url = self.repo_git_url(repo)
        refspec = f"refs/heads/{branch}:refs/heads/{branch}"  # no leading "+": never forced
        self._git("push", repo, lambda env: local.git.push("--porcelain", url, refspec, env=env))
        return sha

    def _origin_repo(self, local: Any, workdir: Path) -> str:
        """The owner/name ``origin`` points at, if it is on this forge's server (the token is
        never offered to any other host)."""
        try:
            origin = str(local.remotes.origin.url)
        except (AttributeError, IndexError, ValueError):
            raise GitTransportError(
                f"{workdir} has no origin remote to push to", permanent=True
            ) from None
        prefix = self.git_url + "/"
        if not origin.startswith(prefix):
            raise GitTransportError(
                f"refusing to push: origin of {workdir} is not on {self.git_url}",
                permanent=True,
            )
        name = origin[len(prefix) :].removesuffix("/").removesuffix(".git")
        try:
            return check_repo(name)
        except ValueError:
            raise GitTransportError(
                f"refusing to push: origin of {workdir} is not a repository URL",
                permanent=True,
            ) from None


# What git prints when the server refuses the credential (LC_ALL=C: GitPython sets it).
_AUTH_REFUSED = re.compile(
    r"Authentication failed|Invalid username or (?:token|password)"
    r"|could not read (?:Username|Password)|returned error: 401\b",
    re.I,
)
_PERMISSION_DENIED = re.compile(
    r"returned error: 403\b|Permission to \S+ denied|Write access to repository not granted",
    re.I,
)
_GONE_GIT = re.compile(r"returned error: (404|410)\b|repository '[^']*' not found", re.I)
_TRANSIENT_GIT = re.compile(
    r"returned error: (5\d\d|429)\b|(?:Failed to connect|Connection refused|Connection reset"
    r"|Could not resolve host|Operation timed out|early EOF|RPC failed)",
    re.I,
)

_GIST_STARTS = ("fatal:", "error:", "remote:", "!", "stderr:")


def _gist(output: str) -> str:
    """The line of git's output that says what went wrong."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for line in reversed(lines):
        if line.lower().startswith(
            ("fatal:", "error:", "remote:", "!", "stderr: 'fatal", "stderr:")
        ):
            return line[:300]
    return (lines[-1] if lines else "no output")[:300]
