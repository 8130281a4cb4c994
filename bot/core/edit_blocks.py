"""The edit blocks of a model's reply: whole-file fences and SEARCH/REPLACE blocks, by path."""

from __future__ import annotations

import re
from dataclasses import dataclass


class EditError(ValueError):
    """The reply cannot be turned into edits; the message says which block and what to fix."""


_FENCE_OPEN = re.compile(r"^ {0,3}(`{3,})([^`]*)$")
_FENCE_CLOSE = re.compile(r"^ {0,3}(`{3,})\s*$")
_SEARCH = re.compile(r"^\s*<{5,9} ?SEARCH\s*$", re.IGNORECASE)
_REPLACE = re.compile(r"^\s*>{5,9} ?REPLACE\s*$", re.IGNORECASE)
_DIVIDER = re.compile(r"^\s*={5,9}\s*$")
_DIVIDER_EXACT = re.compile(r"^\s*={7}\s*$")

_BULLET = re.compile(r"^(?:[-*+]|\d+[.)])\s+(.*)$")
_HEADING = re.compile(r"^#{1,6}\s+(.*)$")
_LABEL = re.compile(r"^(?:file(?:name)?|path)\s*:\s*(.*)$", re.IGNORECASE)
_PATH_CHARS = re.compile(r"[\w.\-/\\+@~:]+")
# Files commonly without an extension; any other name needs a '.' or a '/' to count as a path
# so that a heading such as '### Changes' is not taken for a file name.
_BARE_NAMES = frozenset(
    [
        "makefile",
        "gnumakefile",
        "dockerfile",
        "containerfile",
        "procfile",
        "gemfile",
        "rakefile",
        "justfile",
        "vagrantfile",
        "jenkinsfile",
        "brewfile",
        "pipfile",
        "license",
        "licence",
        "copying",
        "notice",
        "authors",
        "codeowners",
        "readme",
        "changelog",
        "contributing",
        "manifest",
        "version",
    ]
)


@dataclass(frozen=True)
class Block:
    path: str
    line: int  # 1-based line of the reply where the block starts
    whole: str | None = None  # complete new content, for a whole-file block
    search: tuple[str, ...] = ()
    replace: tuple[str, ...] = ()


class Parser:
    """A line scanner over the reply; ``parse`` returns the blocks in reply order."""

    def __init__(self, text: str) -> None:
        self.lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        self.blocks: list[Block] = []
        # Several SEARCH/REPLACE blocks after one path line all belong to that path.
        self.last_replace_path: str | None = None

    def parse(self) -> list[Block]:
        i = 0
        since = 0  # first line after the previous block: where its path line may be
        while i < len(self.lines):
            line = self.lines[i]
            if _SEARCH.match(line):
                path = self._path_before(since, i) or self.last_replace_path
                if path is None:
                    raise EditError(
                        f"reply line {i + 1}: a SEARCH/REPLACE block has no file path; put "
                        "'### path/to/file' on its own line just before it"
                    )
                i = self._search_replace(i, path)
                since = i
            elif match := _FENCE_OPEN.match(line):
                i = self._fence(i, match, self._path_before(since, i))
                since = i
            elif _REPLACE.match(line):
                raise EditError(
                    f"reply line {i + 1}: '>>>>>>> REPLACE' without a '<<<<<<< SEARCH' before it"
                )
            else:
                i += 1
        return self.blocks

    def _path_before(self, start: int, end: int) -> str | None:
        for line in reversed(self.lines[start:end]):
            path = _path_on_line(line)
            if path is not None:
                return path
        return None

    def _next_nonblank(self, i: int) -> int:
        while i < len(self.lines) and not self.lines[i].strip():
            i += 1
        return i

    def _search_replace(self, start: int, path: str) -> int:
        """Parse the block whose SEARCH marker is at ``start``; return the line after it."""
        body: list[str] = []
        i = start + 1
        while True:
            if i >= len(self.lines):
                raise EditError(
                    f"{path}: the SEARCH/REPLACE block at reply line {start + 1} is unterminated: "
                    "no '>>>>>>> REPLACE' line follows it"
                )
            line = self.lines[i]
            if _REPLACE.match(line):
                break
            if _SEARCH.match(line):
                raise EditError(
                    f"{path}: the SEARCH/REPLACE block at reply line {start + 1} is unterminated: "
                    f"another '<<<<<<< SEARCH' (reply line {i + 1}) comes before its "
                    "'>>>>>>> REPLACE'"
                )
            body.append(line)
            i += 1
        # Prefer an exact seven '=' divider: a shorter or longer run of '=' may be content,
        # such as a Markdown or reStructuredText heading underline.
        divider = next((k for k, s in enumerate(body) if _DIVIDER_EXACT.match(s)), None)
        if divider is None:
            divider = next((k for k, s in enumerate(body) if _DIVIDER.match(s)), None)
        if divider is None:
            raise EditError(
                f"{path}: the SEARCH/REPLACE block at reply line {start + 1} has no '=======' "
                "line between its SEARCH and REPLACE parts"
            )
        self.blocks.append(
            Block(path, start + 1, search=tuple(body[:divider]), replace=tuple(body[divider + 1 :]))
        )
        self.last_replace_path = path
        return i + 1

    def _fence(self, start: int, opening: re.Match[str], path_before: str | None) -> int:
        """Parse the fence opened at ``start``; return the line after its closing fence."""
        ticks = len(opening.group(1))
        indent = len(self.lines[start]) - len(self.lines[start].lstrip(" "))
        path = _path_in_info(opening.group(2)) or path_before

        first = self._next_nonblank(start + 1)
        if first < len(self.lines) and not _SEARCH.match(self.lines[first]):
            # A path written as the first line inside the fence, just before a SEARCH marker.
            inner = _path_on_line(self.lines[first])
            after = self._next_nonblank(first + 1)
            if inner and after < len(self.lines) and _SEARCH.match(self.lines[after]):
                path, first = inner, after
        if first < len(self.lines) and _SEARCH.match(self.lines[first]):
            return self._fenced_replaces(start, first, path or self.last_replace_path)

        if path is None:
            raise EditError(
                f"reply line {start + 1}: a ``` fence has no file path; put '### path/to/file' on "
                "its own line just before the fence (a reply should hold only edits)"
            )
        body: list[str] = []
        depth = 0  # fences nested inside the content, such as a ```python block in a README
        i = start + 1
        while True:
            if i >= len(self.lines):
                raise EditError(
                    f"{path}: the ``` fence opened at reply line {start + 1} is never closed"
                )
            line = self.lines[i]
            closing = _FENCE_CLOSE.match(line)
            if closing and len(closing.group(1)) >= ticks:
                if depth == 0:
                    break
                depth -= 1
            else:
                inner_open = _FENCE_OPEN.match(line)
                # Only a fence with a language can be told apart from a closing fence.
                if inner_open and len(inner_open.group(1)) >= ticks and inner_open.group(2).strip():
                    depth += 1
            body.append(_dedent(line, indent))
            i += 1
        content = "\n".join(body)
        if content and not content.endswith("\n"):
            content += "\n"
        self.blocks.append(Block(path, start + 1, whole=content))
        return i + 1

    def _fenced_replaces(self, start: int, i: int, path: str | None) -> int:
        """SEARCH/REPLACE blocks inside the fence opened at ``start``, the first at ``i``."""
        while True:
            i = self._next_nonblank(i)
            if i >= len(self.lines):
                raise EditError(f"the ``` fence opened at reply line {start + 1} is never closed")
            line = self.lines[i]
            if _SEARCH.match(line):
                if path is None:
                    raise EditError(
                        f"reply line {i + 1}: a SEARCH/REPLACE block has no file path; put "
                        "'### path/to/file' on its own line just before the fence"
                    )
                i = self._search_replace(i, path)
            elif _FENCE_CLOSE.match(line):
                return i + 1
            elif (inner := _path_on_line(line)) is not None:
                path = inner
                i += 1
            else:
                raise EditError(
                    f"reply line {i + 1}: unexpected text between SEARCH/REPLACE blocks inside the "
                    f"fence opened at reply line {start + 1}: {line.strip()!r}"
                )


def _path_on_line(line: str) -> str | None:
    """The file path a whole line names (``### a.py``, ``**a.py**``, ``File: a.py``, ...)."""
    text = line.strip()
    for pattern in (_BULLET, _HEADING):
        match = pattern.match(text)
        if match:
            text = match.group(1).strip()
    text = text.replace("*", "").replace("`", "").strip()
    labeled = _LABEL.match(text)
    if labeled:
        text = labeled.group(1).strip()
    text = _normalize(text.strip("'\"").rstrip(":"))
    if not text or any(c.isspace() for c in text):
        return None
    if labeled or _looks_like_path(text):
        return text
    return None


def _path_in_info(info: str) -> str | None:
    """A path written on the fence line: ```python path/to/file.py, or ```path/to/file.py."""
    for token in info.split():
        token = _normalize(token)
        if _looks_like_path(token):
            return token
    return None


def _looks_like_path(token: str) -> bool:
    if token.lower() in _BARE_NAMES or token.rsplit("/", 1)[-1].lower() in _BARE_NAMES:
        return True
    return (
        _PATH_CHARS.fullmatch(token) is not None
        and any(c in token for c in "./\\")
        and token[-1] not in ".:"
        and any(c.isalnum() for c in token)
    )


def _normalize(path: str) -> str:
    while path.startswith("./"):
        path = path[2:]
    return path


def _dedent(line: str, indent: int) -> str:
    """Remove up to ``indent`` leading spaces (the indentation of the opening fence)."""
    if not indent:
        return line
    stripped = len(line) - len(line.lstrip(" "))
    return line[min(indent, stripped) :]
