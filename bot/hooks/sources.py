"""Staged files as the hooks read and write them: parsed sources, in the work tree's newlines."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Sequence

from bot.adapters.pathguard import UnsafePath
from bot.hooks.common import EXIT_CHANGED, HookError, Repo, excluded, repo_config

TYPE_CHECKING = False  # see bot.hooks.common
if TYPE_CHECKING:
    from bot.spec import RepoConfig

_BINARY_PROBE = 8000  # bytes looked at for a NUL, as git does to call a file binary


class Source:
    """A staged Python file that parses; ``tree`` is its module AST."""

    __slots__ = ("newline", "path", "text", "tree")

    def __init__(self, path: str, text: str, tree: ast.Module, newline: str) -> None:
        self.path = path
        self.text = text
        self.tree = tree
        self.newline = newline  # "\n" or "\r\n", kept when the file is written back


def read_sources(
    repo: Repo, paths: Iterable[str], *, declared_encodings: bool = False
) -> tuple[list[Source], list[str]]:
    """Parse each file; binary, undecodable and missing files are skipped silently.

    With ``declared_encodings`` a file is read as Python reads it (UTF-8, or the encoding a
    PEP 263 line declares); one that does not decode as it declares is a problem line.
    Returns the sources and ``file:line: message`` lines for files that do not parse.
    """
    sources: list[Source] = []
    problems: list[str] = []
    for path in paths:
        try:
            data = repo.guard.read_bytes(path)
        except (FileNotFoundError, NotADirectoryError):
            continue  # deleted or renamed away since it was staged
        except UnsafePath:
            continue  # a link, a directory, a huge file: nothing a hook fills or tests
        except OSError as exc:
            problems.append(f"{path}:1: cannot be read: {exc.strerror or exc}")
            continue
        if b"\0" in data[:_BINARY_PROBE]:
            continue
        try:
            raw = _decode(data, declared_encodings)
        except ValueError as exc:
            problems.append(f"{path}:1: `{path}` {exc}")
            continue
        if raw is None:
            continue
        newline = "\r\n" if "\r\n" in raw else "\n"
        text = raw.replace("\r\n", "\n")
        try:
            tree = compile(text, path, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
            assert isinstance(tree, ast.Module)
        except SyntaxError as exc:
            problems.append(f"{path}:{exc.lineno or 1}: {exc.msg}")
            continue
        except (ValueError, RecursionError) as exc:
            problems.append(f"{path}:1: cannot be parsed: {exc}")
            continue
        sources.append(Source(path, text, tree, newline))
    return sources, problems


def _decode(data: bytes, declared_encodings: bool) -> str | None:
    if declared_encodings:
        from bot.core.suite.source import SourceEncodingError, declared_encoding, decode_source

        try:
            return decode_source(data)
        except SourceEncodingError:
            if declared_encoding(data[:400].decode("latin-1")) is not None:
                raise
            return None  # not Python source Python could read: not a module to test
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def read_staged(
    repo: Repo,
    paths: Sequence[str],
    config: RepoConfig | None,
    *,
    declared_encodings: bool = False,
) -> tuple[RepoConfig | None, list[Source], list[str]]:
    """Drop the ``paths`` the config excludes and parse the rest.

    Returns the config (``config``, else the repository's file, else None: the defaults), the
    sources and ``read_sources``'s problem lines.
    """
    if config is None:
        config = repo_config(repo)
    if config is not None:
        paths = [p for p in paths if not excluded(p, config.hooks.exclude)]
    sources, problems = read_sources(repo, paths, declared_encodings=declared_encodings)
    return config, sources, problems


def write_text(repo: Repo, path: str, text: str, newline: str = "\n") -> None:
    """Write a file of the work tree; a path the guard refuses (a link) stops the hook."""
    try:
        repo.guard.write_text(path, text if newline == "\n" else text.replace("\n", newline))
    except UnsafePath as exc:
        raise HookError(f"{path}: not written: {exc.reason}", EXIT_CHANGED) from None
    except OSError as exc:
        raise HookError(f"{path}: not written: {exc.strerror or exc}", EXIT_CHANGED) from None


def read_text(repo: Repo, path: str) -> tuple[str, str] | None:
    """A work tree file as (text with "\n" line ends, its newline), None when it is absent.

    Raises UnsafePath for a link or anything else the guard refuses, OSError when it cannot
    be read and UnicodeDecodeError when it is not UTF-8.
    """
    try:
        data = repo.guard.read_bytes(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    newline = "\r\n" if b"\r\n" in data[:_BINARY_PROBE] else "\n"
    return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n"), newline


def syntax_problem(path: str, text: str) -> str | None:
    try:
        compile(text, path, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as exc:
        return f"{path}:{exc.lineno or 1}: {exc.msg}"
    except (ValueError, RecursionError) as exc:
        return f"{path}:1: cannot be parsed: {exc}"
    return None


def read_test_file(repo: Repo, target: str) -> tuple[str | None, str | None]:
    """(text with LF line ends, None) of an existing test file; (None, problem) if unusable."""
    from bot.core.suite.source import SourceEncodingError, decode_source, non_utf8_declaration

    try:
        data = repo.guard.read_bytes(target)
    except (FileNotFoundError, NotADirectoryError):
        return None, None
    except UnsafePath as exc:
        return None, f"{target}:1: cannot be read: {exc.reason}"
    except OSError as exc:
        return None, f"{target}:1: cannot be read: {exc.strerror or exc}"
    try:
        text = decode_source(data).replace("\r\n", "\n")
    except SourceEncodingError as exc:
        return None, f"{target}:1: `{target}` {exc}"
    declared = non_utf8_declaration(text)
    if declared is not None:
        # Extending it would mean writing it back in that encoding; tierbot writes UTF-8.
        return None, f"{target}:1: `{target}` is not UTF-8 (declared {declared})"
    problem = syntax_problem(target, text)
    return (None, f"{problem} (tests would be added here)") if problem else (text, None)


def newline_of(repo: Repo, path: str) -> str:
    """The line ending an existing file uses ("\\n" for a new one), kept when it is extended."""
    try:
        found = read_text(repo, path)
    except (UnsafePath, OSError, UnicodeDecodeError):
        return "\n"
    return found[1] if found is not None else "\n"
