"""A file of a worktree as text: line endings kept, a Python source read as Python reads it."""

from __future__ import annotations

from bot.adapters.pathguard import PathGuard, UnsafePath
from bot.core.suite.source import SourceEncodingError, decode_source


def read_source(guard: PathGuard, path: str) -> str | None:
    """A file's text, line endings unchanged; a Python source as Python reads it (UTF-8, or the
    encoding its PEP 263 line declares). None when it cannot be read so."""
    if not path.endswith(".py"):
        return guard.read_text(path)
    try:
        return decode_source(guard.read_bytes(path))
    except (UnsafePath, OSError, SourceEncodingError):
        return None
