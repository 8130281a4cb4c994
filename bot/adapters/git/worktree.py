"""Git through GitPython: a separate worktree and branch per task, commits with trailers.

The user's checkout is never written: every task gets its own worktree under the repository's
git directory, on a new ``tierbot/<slug>`` branch. Commits go through ``git commit`` so the
repository's hooks run (never skipped silently); nothing is ever force-pushed or rewritten.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

import git

from bot.adapters.git.identity import BOT_EMAIL, commit_env, refused_message
from bot.adapters.git.sources import read_source
from bot.adapters.pathguard import PathGuard, UnsafePath
from bot.core.paths import path_problem
from bot.core.types import EditSet, FileEdit
from bot.ports import PathRefused, WorkspaceError


class GitError(WorkspaceError):
    """A git operation failed; the message is meant for the user."""


class NotARepository(GitError):
    pass


class CommitRefused(GitError):
    """``git commit`` failed, e.g. a hook rejected it; ``output`` holds what git printed."""


class NothingToCommit(GitError):
    pass


class PushFailed(Exception):
    """A commit could not be pushed. Not a ``WorkspaceError``: the edit was fine, so it is no
    reason to ask a model again; the job fails and is retried, or stops, by its cause."""


class UnsafeEdit(GitError, PathRefused):
    """An edit's path leaves the worktree, enters ``.git`` or passes through a symbolic link."""


def _git_failure(what: str, exc: git.GitCommandError) -> GitError:
    """A failed git command as a workspace error, so the engine records it instead of crashing."""
    output = f"{exc.stdout or ''}\n{exc.stderr or ''}".strip()
    return GitError(f"{what} failed: {output.splitlines()[-1] if output else exc}", output)


class LocalRepo:
    """A repository on disk, opened from any directory inside it."""

    def __init__(self, repo: git.Repo) -> None:
        self._repo = repo

    @classmethod
    def open(cls, path: Path) -> LocalRepo:
        try:
            repo = git.Repo(path, search_parent_directories=True)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            raise NotARepository(f"{path} is not inside a git repository") from None
        if repo.bare:
            raise NotARepository(f"{path} is a bare repository; run tierbot in a checkout")
        return cls(repo)

    @property
    def root(self) -> Path:
        return Path(self._repo.working_tree_dir or ".")

    @property
    def git_dir(self) -> Path:
        return Path(self._repo.common_dir)

    @property
    def name(self) -> str:
        return self.root.name

    def head_sha(self) -> str:
        try:
            return str(self._repo.head.commit.hexsha)
        except ValueError:
            raise GitError("the repository has no commits yet; commit something first") from None

    def resolve(self, rev: str) -> str:
        """The commit ``rev`` names (a branch, tag or sha), or a GitError saying there is none."""
        try:
            return str(self._repo.git.rev_parse("--verify", "--quiet", f"{rev}^{{commit}}"))
        except git.GitCommandError:
            raise GitError(f"no commit named {rev!r} in {self.root}") from None

    def branch_exists(self, name: str) -> bool:
        return any(h.name == name for h in self._repo.heads)

    def unique_branch(self, slug: str) -> str:
        """``tierbot/<slug>``; an earlier run's branch of the same task is replaced, so a rerun
        does not pile up ``-2``, ``-3``. A branch someone else committed to, or one a running
        task has checked out, is kept, and the next free numbered name is used instead."""
        base = f"tierbot/{slug}"
        name, n = base, 1
        while self.branch_exists(name) and not self._replace(name):
            n += 1
            name = f"{base}-{n}"
        return name

    def _replace(self, branch: str) -> bool:
        if not self.only_bot_commits(branch, "HEAD", since_only=True):
            return False
        try:
            self._repo.git.worktree("prune")
            self._repo.git.branch("-D", branch)  # refused while a worktree has it checked out
        except git.GitCommandError:
            return False
        return True

    def only_bot_commits(self, branch: str, base: str, *, since_only: bool = False) -> bool:
        """Whether every commit of ``branch`` since ``base`` is tierbot's, and (unless
        ``since_only``) ``base`` is where ``branch`` started."""
        try:
            if not since_only:
                self._repo.git.merge_base("--is-ancestor", base, branch)
            authors = self._repo.git.log(f"{base}..{branch}", "--format=%ae").split()
        except git.GitCommandError:
            return False
        return all(author == BOT_EMAIL for author in authors)

    def add_worktree(
        self, branch: str, *, base: str = "HEAD", existing: bool = False
    ) -> GitWorkspace:
        """A worktree on a new ``branch`` from ``base``, or on the ``existing`` branch."""
        start = None if existing else self.resolve(base)
        directory = self.drop_worktree(branch)
        directory.parent.mkdir(parents=True, exist_ok=True)
        try:
            if start is None:
                self._repo.git.worktree("add", "--quiet", str(directory), branch)
            else:
                self._repo.git.worktree("add", "--quiet", "-b", branch, str(directory), start)
        except git.GitCommandError as exc:
            detail = exc.stderr.strip()
            raise GitError(f"could not create worktree for {branch}: {detail}") from None
        return GitWorkspace(git.Repo(directory), branch)

    def drop_worktree(self, branch: str) -> Path:
        """Remove tierbot's worktree of ``branch`` (a killed run's, say); the directory it used."""
        directory = self.git_dir / "tierbot" / "worktrees" / branch.replace("/", "-")
        if directory.exists():
            shutil.rmtree(directory)
        self._repo.git.worktree("prune")
        return directory

    def remove_worktree(self, workspace: GitWorkspace) -> None:
        try:
            self._repo.git.worktree("remove", "--force", str(workspace.root))
        except git.GitCommandError:
            shutil.rmtree(workspace.root, ignore_errors=True)
            self._repo.git.worktree("prune")

    def delete_branch(self, name: str) -> None:
        """Delete one of tierbot's own branches (one that never got a commit)."""
        if not name.startswith("tierbot/"):
            raise GitError(f"refusing to delete {name}: not a tierbot branch")
        self._repo.git.branch("-D", name)


class GitWorkspace:
    """One task's worktree: reads, writes and commits stay inside it."""

    def __init__(self, repo: git.Repo, branch: str) -> None:
        self._repo = repo
        self._branch = branch
        self._root = Path(repo.working_tree_dir or ".").resolve()
        self._guard = PathGuard(self._root)

    @property
    def root(self) -> Path:
        return self._root

    @property
    def branch(self) -> str:
        return self._branch

    def head_sha(self) -> str:
        return str(self._repo.head.commit.hexsha)

    def list_files(self) -> list[str]:
        out = self._repo.git.ls_files("--cached", "--others", "--exclude-standard")
        return sorted(set(out.splitlines()))

    def read(self, path: str) -> str | None:
        return read_source(self._guard, path)

    def apply(self, edits: EditSet) -> None:
        """Write and stage ``edits``; every path is checked first, so a refusal writes nothing,
        and a write that fails midway is rolled back."""
        for edit in edits.edits:
            self._check(edit)
        try:
            for edit in edits.edits:
                self._apply_one(edit)
        except UnsafePath as exc:  # a link made after the check: still never written through
            self.discard()
            raise UnsafeEdit(str(exc)) from None
        except OSError as exc:
            self.discard()
            raise GitError(f"could not write {exc.filename or 'a file'}: {exc.strerror}") from None
        except git.GitCommandError as exc:
            self.discard()
            raise _git_failure("staging the edit", exc) from None

    def _check(self, edit: FileEdit) -> None:
        problem = path_problem(edit.path)
        if problem is not None:
            raise UnsafeEdit(f"refusing path outside the worktree: {problem}")
        try:
            if edit.content is None:
                self._guard.mode(edit.path)
            else:
                self._guard.check_write(edit.path)
        except UnsafePath as exc:
            raise UnsafeEdit(str(exc)) from None

    def _apply_one(self, edit: FileEdit) -> None:
        if edit.content is None:
            # git rm removes a link itself, never its target; the guard vetted the parents.
            if self._guard.mode(edit.path) is not None:
                self._repo.git.rm("--quiet", "--", edit.path)
            return
        self._guard.write_text(edit.path, edit.content)
        self._repo.git.add("--", edit.path)

    def commit(self, message: str, trailers: Mapping[str, str]) -> str:
        try:
            staged = self._repo.git.diff("--cached", "--name-only")
        except git.GitCommandError as exc:
            raise _git_failure("reading the staged changes", exc) from None
        if not staged:
            raise NothingToCommit("the edit leaves every file as it was")
        args = ["--quiet", "-m", message]
        for key, value in trailers.items():
            args += ["--trailer", f"{key}: {value}"]
        try:
            self._repo.git.commit(*args, env=commit_env(os.environ))
        except git.GitCommandError as exc:
            output = f"{exc.stdout or ''}\n{exc.stderr or ''}".strip()
            raise CommitRefused(refused_message(output), output) from None
        return self.head_sha()

    def discard(self) -> None:
        try:
            self._repo.git.reset("--quiet", "--hard", "HEAD")
            self._repo.git.clean("-fdq")
        except git.GitCommandError as exc:
            raise _git_failure("discarding the edit", exc) from None


class CheckoutView:
    """Read-only view of the user's checkout, for planning (``--dry-run``) without a worktree."""

    def __init__(self, repo: LocalRepo) -> None:
        self._repo = repo
        self._guard = PathGuard(repo.root)

    @property
    def root(self) -> Path:
        return self._repo.root

    @property
    def branch(self) -> str:
        return "(dry run)"

    def list_files(self) -> list[str]:
        out = self._repo._repo.git.ls_files("--cached", "--others", "--exclude-standard")
        return sorted(set(out.splitlines()))

    def read(self, path: str) -> str | None:
        return read_source(self._guard, path)

    def apply(self, edits: EditSet) -> None:
        raise GitError("the checkout view is read-only")

    def commit(self, message: str, trailers: Mapping[str, str]) -> str:
        raise GitError("the checkout view is read-only")

    def discard(self) -> None:
        return None
