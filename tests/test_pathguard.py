"""The path guard on real directories: links, fifos, sizes, and links made after a check."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest

from bot.adapters.pathguard import PathGuard, UnsafePath


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_text("OUTSIDE SECRET\n")
    return folder


@pytest.fixture
def root(tmp_path: Path, outside: Path) -> Path:
    tree = tmp_path / "tree"
    (tree / "pkg").mkdir(parents=True)
    (tree / "pkg" / "a.py").write_text("A = 1\r\n")
    (tree / "secret-link.txt").symlink_to(outside / "secret.txt")
    (tree / "shared").symlink_to(outside)
    (tree / "inner-link.py").symlink_to("pkg/a.py")  # inside the tree: still never followed
    (tree / "pkg-link").symlink_to("pkg")
    (tree / "dangling.txt").symlink_to(outside / "created-by-a-write.txt")
    (tree / ".git").mkdir()
    (tree / ".git" / "config").write_text("[core]\n")
    os.mkfifo(tree / "pipe")
    return tree


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_reads_a_regular_file_with_its_line_ends(root: Path):
    guard = PathGuard(root)
    assert guard.read_bytes("pkg/a.py") == b"A = 1\r\n"
    assert guard.read_text("pkg/a.py") == "A = 1\r\n"


@pytest.mark.parametrize(
    ("path", "named"),
    [
        ("secret-link.txt", "secret-link.txt is a symbolic link"),
        ("shared/secret.txt", "shared is a symbolic link"),
        ("inner-link.py", "inner-link.py is a symbolic link (to pkg/a.py)"),
        ("pkg-link/a.py", "pkg-link is a symbolic link (to pkg)"),
        ("dangling.txt", "dangling.txt is a symbolic link"),
        ("pipe", "pipe is not a regular file"),
        ("pkg", "pkg is not a regular file"),
        (".git/config", "points into .git/"),
        (".GIT/config", "points into .git/"),
        ("../outside/secret.txt", "not a plain path"),
        ("/etc/passwd", "not a plain path"),
        ("pkg//a.py", "not a plain path"),
        ("", "not a plain path"),
    ],
)
def test_refused_reads_say_why_and_return_nothing(root: Path, path: str, named: str):
    guard = PathGuard(root)
    with pytest.raises(UnsafePath, match=re.escape(named)):
        guard.read_bytes(path)
    assert guard.read_text(path) is None


def test_a_missing_file_is_not_found_rather_than_refused(root: Path):
    with pytest.raises(FileNotFoundError):
        PathGuard(root).read_bytes("pkg/missing.py")


def test_reads_are_capped(root: Path):
    (root / "big.txt").write_bytes(b"x" * 101)
    guard = PathGuard(root, max_read_bytes=100)
    with pytest.raises(UnsafePath, match="larger than the 100 bytes"):
        guard.read_bytes("big.txt")
    (root / "fits.txt").write_bytes(b"x" * 100)
    assert guard.read_bytes("fits.txt") == b"x" * 100


def test_writes_create_parents_and_replace_regular_files(root: Path):
    guard = PathGuard(root)
    guard.write_text("new/deep/b.py", "B = 2\n")
    guard.write_text("pkg/a.py", "A = 3\n")
    assert (root / "new" / "deep" / "b.py").read_text() == "B = 2\n"
    assert (root / "pkg" / "a.py").read_bytes() == b"A = 3\n"


@pytest.mark.parametrize(
    ("path", "named"),
    [
        ("secret-link.txt", "secret-link.txt is a symbolic link"),
        ("dangling.txt", "dangling.txt is a symbolic link"),
        ("shared/secret.txt", "shared is a symbolic link"),
        ("shared/new.txt", "shared is a symbolic link"),
        ("shared/sub/new.txt", "shared is a symbolic link"),
        ("inner-link.py", "inner-link.py is a symbolic link"),
        ("pkg-link/new.py", "pkg-link is a symbolic link"),
        ("pipe", "pipe is not a regular file"),
        (".git/config", "points into .git/"),
        ("../outside/new.txt", "not a plain path"),
    ],
)
def test_refused_writes_write_nothing_anywhere(root: Path, outside: Path, path: str, named: str):
    before_outside, before_tree = snapshot(outside), snapshot(root)
    guard = PathGuard(root)
    with pytest.raises(UnsafePath, match=re.escape(named)):
        guard.check_write(path)
    with pytest.raises(UnsafePath, match=re.escape(named)):
        guard.write_text(path, "pwned\n")
    assert snapshot(outside) == before_outside
    assert snapshot(root) == before_tree
    assert not (outside / "created-by-a-write.txt").exists()


def test_a_link_swapped_in_after_the_check_is_not_written_through(root: Path, outside: Path):
    guard = PathGuard(root)
    guard.check_write("pkg/a.py")
    (root / "pkg" / "a.py").unlink()
    (root / "pkg" / "a.py").symlink_to(outside / "secret.txt")
    with pytest.raises(UnsafePath, match=r"pkg/a\.py is a symbolic link"):
        guard.write_text("pkg/a.py", "pwned\n")
    assert (outside / "secret.txt").read_text() == "OUTSIDE SECRET\n"


def test_a_folder_swapped_for_a_link_after_the_check_is_not_written_into(root: Path, outside: Path):
    guard = PathGuard(root)
    guard.check_write("pkg/new.py")
    (root / "pkg" / "a.py").unlink()
    (root / "pkg").rmdir()
    (root / "pkg").symlink_to(outside)
    with pytest.raises(UnsafePath, match="pkg is a symbolic link"):
        guard.write_text("pkg/new.py", "pwned\n")
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]


def test_mode_sees_a_link_itself_and_refuses_links_above_it(root: Path):
    guard = PathGuard(root)
    mode = guard.mode("secret-link.txt")
    assert mode is not None and stat.S_ISLNK(mode)
    assert guard.mode("nothing-here.txt") is None
    assert guard.mode("pkg/a.py/below-a-file") is None
    with pytest.raises(UnsafePath, match="shared is a symbolic link"):
        guard.mode("shared/secret.txt")


def test_new_files_get_the_usual_mode(root: Path):
    PathGuard(root).write_text("fresh.txt", "x")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((root / "fresh.txt").stat().st_mode) == 0o666 & ~umask
