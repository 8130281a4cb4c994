"""The path guard: repository files are read and written beneath a root, never through a link.

Every file the bot reads into a prompt or writes from a model's edit is opened here. A path is
walked one component at a time from the root with ``O_NOFOLLOW``, so a committed symbolic
link (``envfile.txt -> /proc/self/environ``, ``wf -> .github/workflows``, ``g -> .git``) is
never followed, not even one swapped in between a check and a write: the kernel refuses it at
the moment of opening. Only regular files are read or written (a fifo would hang a read, a
device never ends), reads are capped in size, and no component may be ``.git``.

A link is refused whatever it points at. A link inside the tree may point at an ignored file
(``.env``) that the bot never lists or reads directly, and its target is readable under its
own path anyway. POSIX only (``O_NOFOLLOW`` and ``dir_fd``). This module is on the pre-commit
path, so it imports nothing but the standard library's smallest modules.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

# No tier's context window holds more; without a cap a huge or endless file fills memory.
MAX_READ_BYTES = 8 * 1024 * 1024
_SHOWN_TARGET = 120  # characters of a link's target quoted in a refusal

_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: opening a fifo for reading would otherwise wait for a writer forever.
_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
# No O_TRUNC: the file is truncated only once fstat says it is a regular file.
_WRITE = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class UnsafePath(Exception):
    """The guard refused a path; the message names the path and why (the link, if one)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"refusing {path}: {reason}")
        self.path = path
        self.reason = reason


class PathGuard:
    """Reads and writes repository-relative paths beneath ``root`` (no I/O until asked)."""

    def __init__(self, root: Path, *, max_read_bytes: int = MAX_READ_BYTES) -> None:
        self.root = root
        self.max_read_bytes = max_read_bytes

    def read_bytes(self, path: str) -> bytes:
        """The file's bytes; UnsafePath when refused, OSError (FileNotFoundError...) otherwise."""
        parent, name = self._parent(path, create=False)
        try:
            fd = self._open_last(parent, name, path, _READ)
        finally:
            os.close(parent)
        with os.fdopen(fd, "rb") as handle:
            if self._require_regular(fd, path).st_size > self.max_read_bytes:
                raise UnsafePath(path, self._too_large(path))
            data = handle.read(self.max_read_bytes + 1)
        if len(data) > self.max_read_bytes:  # it grew while being read
            raise UnsafePath(path, self._too_large(path))
        return data

    def read_text(self, path: str) -> str | None:
        """The file as UTF-8 with its line endings unchanged; None when it cannot be read."""
        try:
            return self.read_bytes(path).decode("utf-8")
        except (UnsafePath, OSError, UnicodeDecodeError):
            return None

    def write_text(self, path: str, text: str) -> None:
        """Create or replace the regular file ``path`` (parents made as needed) with ``text``."""
        data = text.encode("utf-8")
        parent, name = self._parent(path, create=True)
        try:
            fd = self._open_last(parent, name, path, _WRITE, 0o666)
        finally:
            os.close(parent)
        with os.fdopen(fd, "wb") as handle:
            self._require_regular(fd, path)
            os.ftruncate(fd, 0)
            handle.write(data)

    def check_write(self, path: str) -> None:
        """Refuse now what ``write_text`` would refuse: a link on the way or at the end, or
        something there that is not a regular file (so a set of edits is refused whole)."""
        self._look(path, replacing=True)

    def mode(self, path: str) -> int | None:
        """``path``'s own mode (a link unfollowed), None when it is not there; a link among
        its parents is refused. Deleting ``path`` removes this entry, never a link's target."""
        return self._look(path, replacing=False)

    def _look(self, path: str, *, replacing: bool) -> int | None:
        try:
            parent, name = self._parent(path, create=False)
        except (FileNotFoundError, NotADirectoryError):
            return None
        try:
            mode = os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode
            if replacing and stat.S_ISLNK(mode):
                raise self._link(parent, name, path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        finally:
            os.close(parent)
        if replacing and not stat.S_ISREG(mode):
            raise UnsafePath(path, f"{path} is not a regular file")
        return mode

    # -- the walk --------------------------------------------------------------------------
    def _parent(self, path: str, *, create: bool) -> tuple[int, str]:
        """An open descriptor of ``path``'s directory, reached without following any link."""
        parts = _components(path)
        fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            for depth, name in enumerate(parts[:-1]):
                child = self._open_directory(fd, name, "/".join(parts[: depth + 1]), create)
                os.close(fd)
                fd = child
        except BaseException:
            os.close(fd)
            raise
        return fd, parts[-1]

    def _open_directory(self, parent: int, name: str, shown: str, create: bool) -> int:
        try:
            return os.open(name, _DIRECTORY, dir_fd=parent)
        except FileNotFoundError:
            if not create:
                raise
        except OSError as exc:
            raise self._refusal(parent, name, shown, exc) from None
        with contextlib.suppress(FileExistsError):  # made meanwhile: the open still refuses a link
            os.mkdir(name, 0o777, dir_fd=parent)
        try:
            return os.open(name, _DIRECTORY, dir_fd=parent)
        except OSError as exc:
            raise self._refusal(parent, name, shown, exc) from None

    def _open_last(self, parent: int, name: str, path: str, flags: int, mode: int = 0) -> int:
        # Looked at before opening: opening a device can act (rewind a tape) before fstat.
        try:
            info = os.stat(name, dir_fd=parent, follow_symlinks=False)
        except FileNotFoundError:
            if not flags & os.O_CREAT:
                raise
        else:
            if stat.S_ISLNK(info.st_mode):
                raise self._link(parent, name, path)
            if not stat.S_ISREG(info.st_mode):
                raise UnsafePath(path, f"{path} is not a regular file")
        try:
            return os.open(name, flags, mode, dir_fd=parent)
        except OSError as exc:
            raise self._refusal(parent, name, path, exc) from None

    def _refusal(self, parent: int, name: str, shown: str, exc: OSError) -> OSError | UnsafePath:
        """Why opening ``name`` failed: a link (even one made just now) is a refusal."""
        try:
            info = os.stat(name, dir_fd=parent, follow_symlinks=False)
        except OSError:
            return exc
        return self._link(parent, name, shown) if stat.S_ISLNK(info.st_mode) else exc

    @staticmethod
    def _link(parent: int, name: str, shown: str) -> UnsafePath:
        try:
            target = _shown(os.readlink(name, dir_fd=parent))
        except OSError:
            target = "?"
        return UnsafePath(
            shown,
            f"{shown} is a symbolic link (to {target}); "
            "tierbot never reads or writes through a link",
        )

    @staticmethod
    def _require_regular(fd: int, path: str) -> os.stat_result:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnsafePath(path, f"{path} is not a regular file")
        return info

    def _too_large(self, path: str) -> str:
        return f"{path} is larger than the {self.max_read_bytes} bytes tierbot reads from a file"


def _components(path: str) -> list[str]:
    """The names to walk, each one plain: no root, ``.``, ``..``, empty name or ``.git``."""
    parts = path.split("/")
    for name in parts:
        if name in ("", ".", "..") or "\0" in name:
            raise UnsafePath(path, f"{path!r} is not a plain path inside the repository")
        # lower(): on case-insensitive filesystems ".GIT" is the same directory.
        if name.lower() == ".git":
            raise UnsafePath(path, f"{path} points into .git/, which is never read or written")
    return parts


def _shown(target: str) -> str:
    printable = target.isprintable() and len(target) <= _SHOWN_TARGET
    return target if printable else repr(target[:_SHOWN_TARGET])
