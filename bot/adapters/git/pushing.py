"""A workspace on a clone of a forge's repository, whose commits reach the forge by ``push``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import git

from bot.adapters.git.worktree import GitError, GitWorkspace, PushFailed
from bot.ports import ATTEMPT_TRAILER


class PushingWorkspace(GitWorkspace):
    """A workspace on a clone of a forge's repository: a commit counts (and CI runs) only once
    the executor's ``Push`` has sent it to the remote branch."""

    def __init__(
        self,
        repo: git.Repo,
        branch: str,
        push: Callable[[Path, str], object],
        *,
        base: str = "HEAD",
        pushed: str | None = None,
    ) -> None:
        super().__init__(repo, branch)
        self._push = push
        self._base = base
        self._pushed = pushed  # the remote branch's commit as last seen (None: no branch yet)

    @classmethod
    def on_branch(
        cls, clone: Path, branch: str, base: str, push: Callable[[Path, str], object]
    ) -> PushingWorkspace:
        """Check out ``branch`` from the remote if it exists, else start it from ``base``.

        An existing branch is continued, never restarted: new commits go on top of what it
        holds, so they push without forcing.
        """
        if not branch.startswith("tierbot/"):
            raise GitError(f"refusing to work on {branch}: tierbot only writes tierbot/* branches")
        repo = git.Repo(clone)
        remote_refs = {ref.remote_head for ref in repo.remotes.origin.refs}
        on_remote = branch in remote_refs
        start = f"origin/{branch}" if on_remote else f"origin/{base}"
        repo.git.checkout("--quiet", "-B", branch, start)
        pushed = str(repo.head.commit.hexsha) if on_remote else None
        return cls(repo, branch, push, base=f"origin/{base}", pushed=pushed)

    def committed(self, attempt: str) -> str | None:
        """The commit on this branch (since its base) whose attempt trailer is ``attempt``."""
        out = self._repo.git.log(
            f"{self._base}..HEAD",
            f"--format=%H%x09%(trailers:key={ATTEMPT_TRAILER},valueonly,separator=%x2C)",
        )
        for line in out.splitlines():
            sha, _, values = line.partition("\t")
            if attempt in values.split(","):
                return str(sha)
        return None

    def commit(self, message: str, trailers: Mapping[str, str]) -> str:
        attempt = trailers.get(ATTEMPT_TRAILER)
        found = self.committed(attempt) if attempt else None
        if found is not None:  # a stopped worker pushed this attempt's commit already
            self.discard()
            return found
        return super().commit(message, trailers)

    def push(self) -> None:
        """Send the branch to the remote when it holds a commit the remote has not seen."""
        head = self.head_sha()
        if head == self._pushed:
            return
        try:
            self._push(self.root, self.branch)
        except Exception as exc:
            raise PushFailed(f"the commit could not be pushed: {exc}") from exc
        self._pushed = head
