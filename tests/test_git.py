"""GitPython adapter on temporary real repositories."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from bot.adapters.git import (
    BOT_NAME,
    CheckoutView,
    CommitRefused,
    GitError,
    LocalRepo,
    NotARepository,
    NothingToCommit,
    PushFailed,
    PushingWorkspace,
    UnsafeEdit,
)
from bot.core.types import EditSet, FileEdit
from bot.ports import PathRefused, WorkspaceError
from tests.support.repos import git, make_repo


@pytest.fixture
def repo(tmp_path: Path) -> LocalRepo:
    return LocalRepo.open(make_repo(tmp_path / "r", {"a.py": "A = 1\n", "pkg/b.py": "B = 2\n"}))


def test_open_from_a_subdirectory(repo: LocalRepo):
    assert LocalRepo.open(repo.root / "pkg").root == repo.root


def test_not_a_repository(tmp_path: Path):
    with pytest.raises(NotARepository, match="not inside a git repository"):
        LocalRepo.open(tmp_path)


def test_worktree_branch_commit_with_trailers(repo: LocalRepo):
    ws = repo.add_worktree(repo.unique_branch("add-c"))
    assert ws.branch == "tierbot/add-c"
    assert ws.root.is_relative_to(repo.git_dir)
    ws.apply(EditSet((FileEdit("c.py", "C = 3\n"), FileEdit("a.py", None))))
    sha = ws.commit("Add c", {"Tierbot-Tier": "intern", "Tierbot-Task": "add-c"})
    log = git(repo.root, "log", "-1", "--format=%an%n%(trailers:only)", sha)
    assert log.splitlines()[0] == BOT_NAME
    assert "Tierbot-Tier: intern" in log and "Tierbot-Task: add-c" in log
    assert git(repo.root, "ls-tree", "--name-only", "-r", "tierbot/add-c").split() == [
        "c.py",
        "pkg/b.py",
    ]
    assert (repo.root / "a.py").exists()  # the user's checkout is untouched
    repo.remove_worktree(ws)
    assert not ws.root.exists()


def test_unique_branch_never_reuses_a_name(repo: LocalRepo):
    first = repo.add_worktree(repo.unique_branch("x"))
    assert repo.unique_branch("x") == "tierbot/x-2"
    repo.remove_worktree(first)


def test_nothing_to_commit(repo: LocalRepo):
    ws = repo.add_worktree(repo.unique_branch("same"))
    ws.apply(EditSet((FileEdit("a.py", "A = 1\n"),)))
    with pytest.raises(NothingToCommit):
        ws.commit("no-op", {})


def test_hooks_run_and_a_refusal_is_reported(repo: LocalRepo):
    hook = repo.git_dir / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho 'lint says no' >&2\nexit 1\n")
    hook.chmod(hook.stat().st_mode | stat.S_IEXEC)
    ws = repo.add_worktree(repo.unique_branch("hooked"))
    ws.apply(EditSet((FileEdit("c.py", "C = 3\n"),)))
    with pytest.raises(CommitRefused) as info:
        ws.commit("c", {})
    assert "lint says no" in info.value.output
    ws.discard()
    assert ws.read("c.py") is None


@pytest.mark.parametrize("path", ["../escape.py", "/etc/passwd", ".git/config"])
def test_paths_outside_the_worktree_are_refused(repo: LocalRepo, path: str):
    ws = repo.add_worktree(repo.unique_branch("escape"))
    assert ws.read(path) is None
    with pytest.raises(GitError, match="outside the worktree"):
        ws.apply(EditSet((FileEdit(path, "x"),)))


def test_crlf_is_read_and_written_unchanged(repo: LocalRepo):
    ws = repo.add_worktree(repo.unique_branch("crlf"))
    ws.apply(EditSet((FileEdit("w.txt", "a\r\nb\r\n"),)))
    assert ws.read("w.txt") == "a\r\nb\r\n"
    assert (ws.root / "w.txt").read_bytes() == b"a\r\nb\r\n"


def test_delete_branch_refuses_non_tierbot_branches(repo: LocalRepo):
    with pytest.raises(GitError, match="not a tierbot branch"):
        repo.delete_branch("main")


def test_repository_without_commits(tmp_path: Path):
    (tmp_path / "e").mkdir()
    git(tmp_path / "e", "init", "-q")
    with pytest.raises(GitError, match="no commits yet"):
        LocalRepo.open(tmp_path / "e").head_sha()


def test_checkout_view_reads_no_link(tmp_path: Path):
    outside = tmp_path / "secret.txt"
    outside.write_text("outside\n")
    root = make_repo(tmp_path / "v", {"a.py": "A = 1\n"})
    (root / "link.txt").symlink_to(outside)
    view = CheckoutView(LocalRepo.open(root))
    assert view.read("a.py") == "A = 1\n"
    assert view.read("link.txt") is None


def test_an_edit_through_a_link_is_a_path_refusal_and_a_git_error(repo: LocalRepo, tmp_path: Path):
    (tmp_path / "elsewhere").mkdir()
    (repo.root / "out").symlink_to(tmp_path / "elsewhere")
    git(repo.root, "add", "out")
    git(repo.root, "commit", "-q", "-m", "link")
    ws = repo.add_worktree(repo.unique_branch("link"))
    with pytest.raises(UnsafeEdit, match="out is a symbolic link") as info:
        ws.apply(EditSet((FileEdit("out/new.py", "X = 1\n"),)))
    assert isinstance(info.value, PathRefused) and isinstance(info.value, GitError)
    assert list((tmp_path / "elsewhere").iterdir()) == []


def test_a_failed_discard_is_a_git_error(repo: LocalRepo):
    ws = repo.add_worktree(repo.unique_branch("locked"))
    ws.apply(EditSet((FileEdit("c.py", "C = 3\n"),)))
    lock = Path(git(ws.root, "rev-parse", "--git-path", "index.lock").strip())
    lock = lock if lock.is_absolute() else ws.root / lock
    lock.write_text("")
    with pytest.raises(GitError, match="discarding the edit failed"):
        ws.discard()
    lock.unlink()
    ws.discard()
    assert ws.read("c.py") is None


# -- PushingWorkspace: a clone whose commits are pushed on request --------------------------------


def pushing_clone(tmp_path: Path, name: str, remote: Path) -> Path:
    clone = tmp_path / name
    git(tmp_path, "clone", "-q", str(remote), str(clone))
    return clone


def push_to_origin(root: Path, branch: str) -> None:
    git(root, "push", "-q", "origin", f"refs/heads/{branch}:refs/heads/{branch}")


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    source = make_repo(tmp_path / "source", {"a.py": "A = 1\n"})
    bare = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(source), str(bare))
    return bare


EDIT = EditSet((FileEdit("a.py", "A = 2\n"),))
TRAILERS = {"Tierbot-Tier": "junior", "Tierbot-Task": "issue-1", "Tierbot-Attempt": "7"}


def test_a_restart_continues_an_existing_branch_and_finds_its_own_commit(
    tmp_path: Path, remote: Path
):
    first = PushingWorkspace.on_branch(
        pushing_clone(tmp_path, "one", remote), "tierbot/issue-1", "main", push_to_origin
    )
    first.apply(EDIT)
    pushed = first.commit("Set A", TRAILERS)
    first.push()
    assert git(remote, "rev-parse", "tierbot/issue-1").strip() == pushed

    # A new worker (fresh clone) after the first died between its push and its PR.
    pushes: list[str] = []
    second = PushingWorkspace.on_branch(
        pushing_clone(tmp_path, "two", remote),
        "tierbot/issue-1",
        "main",
        lambda root, branch: pushes.append(branch),
    )
    assert second.head_sha() == pushed  # the branch is continued, not started again
    assert second.committed("7") == pushed and second.committed("8") is None
    second.apply(EDIT)
    assert second.commit("Set A", TRAILERS) == pushed  # the same attempt: found, not redone
    second.push()  # nothing the remote lacks: no push
    assert pushes == [] and second.read("a.py") == "A = 2\n"
    # A new attempt goes on top and pushes without forcing.
    second.apply(EditSet((FileEdit("a.py", "A = 3\n"),)))
    newer = second.commit("Set A again", {**TRAILERS, "Tierbot-Attempt": "8"})
    second.push()
    assert git(second.root, "rev-parse", f"{newer}^").strip() == pushed
    assert pushes == ["tierbot/issue-1"]


def test_a_failed_push_is_not_an_invalid_edit(tmp_path: Path, remote: Path):
    def refuse(root: Path, branch: str) -> None:
        raise GitError("git push: rejected")

    ws = PushingWorkspace.on_branch(
        pushing_clone(tmp_path, "one", remote), "tierbot/issue-1", "main", refuse
    )
    ws.apply(EDIT)
    ws.commit("Set A", TRAILERS)
    with pytest.raises(PushFailed, match="could not be pushed") as info:
        ws.push()
    assert not isinstance(info.value, WorkspaceError)  # the model is not asked again for it
    assert isinstance(info.value.__cause__, GitError)
