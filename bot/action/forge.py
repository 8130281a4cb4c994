"""The GitHub forge of an Action run: the runner's token instead of an App's, its own comments
known by the account the token acts as, and clones that borrow the runner's checkout."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

from bot.adapters.github import (
    CommentInfo,
    GitHubConfigError,
    GitHubError,
    GitHubForge,
    RetryPolicy,
)
from bot.core.logs import Redactor

# A token given to the action is not minted per installation; the forge's cache keys on this.
NO_INSTALLATION = 0


class TokenCredentials:
    """What ``GitHubForge`` asks of an App, answered with one fixed token."""

    def __init__(
        self,
        token: str,
        *,
        api_url: str,
        redactor: Redactor,
        app_id: int | None = None,
        login: str | None = None,
    ) -> None:
        redactor.add(token)
        self._token = token
        self.api_url = api_url.rstrip("/")
        self.redact = redactor
        self.app_id = app_id
        self.login = login
        self.retry = RetryPolicy()
        self.sleep = time.sleep
        self.clock = time.time

    def installation_token(
        self, installation_id: int, *, counter: Counter[str] | None = None
    ) -> str:
        return self._token

    def invalidate(self, installation_id: int) -> None:
        """A refused token cannot be renewed from here: the next request fails the same way."""

    def bot_login(self, *, counter: Counter[str] | None = None) -> str:
        if self.login is None:
            raise GitHubConfigError("the account the token acts as is not known")
        return self.login


class ActionForge(GitHubForge):
    """``GitHubForge`` acting with the runner's token; no App, no installation."""

    def __init__(
        self, credentials: TokenCredentials, *, workspace: Path | None = None, **kwargs: Any
    ) -> None:
        super().__init__(credentials, NO_INSTALLATION, **kwargs)  # type: ignore[arg-type]
        self.credentials = credentials
        self._workspace = workspace

    def whoami(self) -> str:
        """The login of a personal access token's owner (``GET /user``)."""

        def attempt() -> str:
            _, data = self._requester.requestJsonAndCheck("GET", "/user")
            return str(data["login"])

        return self._call("whoami", "user", attempt)

    def _is_own(self, comment: CommentInfo) -> bool:
        """Written by the account this token acts as (and by its App, when one is known):
        markers in anyone else's comments are never read."""
        creds = self.credentials
        if creds.login is None or comment.author != creds.login:
            return False
        if creds.app_id is not None and comment.app_id is not None:
            return comment.app_id == creds.app_id
        return True

    def is_own(self, comment: CommentInfo) -> bool:
        return self._is_own(comment)

    def clone(self, repo: str, dest: Path, *, branch: str | None = None) -> Path:
        """A clone from GitHub that takes what objects it can from the runner's checkout, so
        only what the checkout lacks (task branches, a shallow history) crosses the network."""
        if self._workspace is None or not (self._workspace / ".git").exists():
            return super().clone(repo, dest, branch=branch)
        return self.git.clone(repo, dest, branch=branch, reference=self._workspace)

    def repo_comments(self, repo: str) -> list[tuple[int, CommentInfo]]:
        """Every comment on ``repo``'s issues and pull requests with its number, oldest first.

        Issues are listed first and only those with comments are read (the repository-wide
        comment list is not in every GitHub-compatible server).
        """

        def numbers() -> list[int]:
            issues = self._repo(repo).get_issues(state="all", sort="created", direction="asc")
            return [i.number for i in issues if i.comments]

        out: list[tuple[int, CommentInfo]] = []
        for number in self._call("repo_issues", repo, numbers):
            out += [(number, c) for c in self.comments(repo, number)]
        return out


__all__ = ["ActionForge", "GitHubError", "TokenCredentials"]
