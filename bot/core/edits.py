"""Turn a model's reply into file edits (whole-file fences, SEARCH/REPLACE blocks) and check them.

The prompt asks for one exact format, but cheap models slip in small, predictable ways
(path decorations, fence variants, marker lengths, indentation). Those slips are accepted
here because a retry costs a model call; anything that could change *which* file or *which*
lines are edited is refused with a message that names the block, the path and the fix,
because that message goes back to the model on the retry and to the user in the end.
"""

from __future__ import annotations

import json
import posixpath
import re
import tomllib
import warnings
from collections.abc import Callable
from dataclasses import dataclass

from bot.core.paths import path_problem
from bot.core.types import EditSet, FileEdit


class EditError(ValueError):
    """The reply cannot be turned into edits; the message says which block and what to fix."""


FORMAT_HINT = (
    "give each file as a line '### path/to/file' followed by a ``` fence holding its "
    "complete new content, or as '### path/to/file' followed by "
    "'<<<<<<< SEARCH' / '=======' / '>>>>>>> REPLACE' blocks"
)

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
class _Block:
    path: str
    line: int  # 1-based line of the reply where the block starts
    whole: str | None = None  # complete new content, for a whole-file block
    search: tuple[str, ...] = ()
    replace: tuple[str, ...] = ()


def parse_edits(text: str, read: Callable[[str], str | None]) -> EditSet:
    """Parse ``text`` into one FileEdit per path, in first-seen order, with final contents.

    ``read(path)`` returns a file's current content, or ``None`` if it does not exist; it is
    called only for paths edited with SEARCH/REPLACE blocks.
    """
    blocks = _Parser(text).parse()
    if not blocks:
        raise EditError(f"no edit blocks found in the reply: {FORMAT_HINT}")
    by_path: dict[str, list[_Block]] = {}
    for block in blocks:
        by_path.setdefault(block.path, []).append(block)

    problems: list[str] = []
    edits: list[FileEdit] = []
    for path, path_blocks in by_path.items():
        unsafe = path_problem(path)
        if unsafe is not None:
            problems.append(f"reply line {path_blocks[0].line}: refused path: {unsafe}")
            continue
        content = _final_content(path, path_blocks, read, problems)
        if content is not None:
            edits.append(FileEdit(path, content))
    if problems:
        raise EditError("\n".join(problems))
    return EditSet(tuple(edits))


def _final_content(
    path: str, blocks: list[_Block], read: Callable[[str], str | None], problems: list[str]
) -> str | None:
    wholes = [b for b in blocks if b.whole is not None]
    replaces = [b for b in blocks if b.whole is None]
    if wholes and replaces:
        problems.append(
            f"{path}: a whole-file block (reply line {wholes[0].line}) and SEARCH/REPLACE blocks "
            f"(reply line {replaces[0].line}) for the same file; give either the complete file "
            "or SEARCH/REPLACE blocks, not both"
        )
        return None
    if wholes:
        first = wholes[0]
        for other in wholes[1:]:
            if other.whole != first.whole:
                problems.append(
                    f"{path}: two different whole-file contents (reply lines {first.line} and "
                    f"{other.line}); give each file once"
                )
                return None
        return first.whole
    return _apply_replaces(path, replaces, read(path), problems)


# ---------------------------------------------------------------------------------------------
# Parsing


class _Parser:
    """A line scanner over the reply; ``parse`` returns the blocks in reply order."""

    def __init__(self, text: str) -> None:
        self.lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        self.blocks: list[_Block] = []
        # Several SEARCH/REPLACE blocks after one path line all belong to that path.
        self.last_replace_path: str | None = None

    def parse(self) -> list[_Block]:
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
            _Block(
                path, start + 1, search=tuple(body[:divider]), replace=tuple(body[divider + 1 :])
            )
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
        self.blocks.append(_Block(path, start + 1, whole=content))
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


# ---------------------------------------------------------------------------------------------
# Applying SEARCH/REPLACE blocks


def _apply_replaces(
    path: str, blocks: list[_Block], original: str | None, problems: list[str]
) -> str | None:
    crlf = original is not None and "\r\n" in original
    content = original.replace("\r\n", "\n") if original is not None else None
    keep_final_newline = original is None or original.endswith("\n")
    for block in blocks:
        where = f"{path}: SEARCH/REPLACE block at reply line {block.line}"
        search_empty = not any(line.strip() for line in block.search)
        if content is None:
            if not search_empty:
                problems.append(
                    f"{where}: the file does not exist; to create it, leave SEARCH empty "
                    "or give the complete file"
                )
                return None
            content = "\n".join(block.replace)
            if content and not content.endswith("\n"):
                content += "\n"
            continue
        if search_empty:
            problems.append(
                f"{where}: SEARCH is empty but the file exists; copy the lines to change "
                "into SEARCH, or give the complete file"
            )
            return None
        result = _replace_once(content.split("\n"), list(block.search), list(block.replace))
        if isinstance(result, str):
            problems.append(f"{where}: {result}")
            return None
        content = "\n".join(result)
    assert content is not None  # blocks is never empty
    if keep_final_newline and content and not content.endswith("\n"):
        content += "\n"
    return content.replace("\n", "\r\n") if crlf else content


def _replace_once(lines: list[str], search: list[str], replace: list[str]) -> list[str] | str:
    """Replace the one place ``search`` matches; return the new lines, or why it could not.

    Matching is tried exactly, then ignoring trailing whitespace, then allowing a consistent
    shift of leading indentation. The first kind that matches anywhere decides, and it must
    match exactly once: a looser match never overrides an ambiguity found by a stricter one.
    """
    size = len(search)
    windows = range(len(lines) - size + 1)
    exact = [i for i in windows if lines[i : i + size] == search]
    if exact:
        return _splice(lines, exact, size, replace)
    stripped = [s.rstrip() for s in search]
    loose = [i for i in windows if [f.rstrip() for f in lines[i : i + size]] == stripped]
    if loose:
        return _splice(lines, loose, size, replace)
    shifts = [(i, shift) for i in windows if (shift := _shift(lines[i : i + size], search))]
    if len(shifts) == 1:
        i, (add, remove) = shifts[0]
        return _splice(lines, [i], size, [_reindent(r, add, remove) for r in replace])
    if shifts:
        return _splice(lines, [i for i, _ in shifts], size, replace)
    first = next((s for s in search if s.strip()), "")
    return (
        f"the SEARCH text was not found; its first line is {first!r}. SEARCH must copy "
        "existing lines of the file exactly"
    )


def _splice(lines: list[str], at: list[int], size: int, replace: list[str]) -> list[str] | str:
    if len(at) > 1:
        return (
            f"the SEARCH text is ambiguous: it matches {len(at)} places; include more "
            "surrounding lines so that it matches exactly once"
        )
    return lines[: at[0]] + replace + lines[at[0] + size :]


def _shift(window: list[str], search: list[str]) -> tuple[str, str] | None:
    """``(add, remove)`` if ``window`` is ``search`` with its indentation consistently shifted."""
    found: tuple[str, str] | None = None
    for have, want in zip(window, search, strict=True):
        have, want = have.rstrip(), want.rstrip()
        if not have and not want:
            continue
        have_body, want_body = have.lstrip(), want.lstrip()
        if not have or not want or have_body != want_body:
            return None
        have_indent = have[: len(have) - len(have_body)]
        want_indent = want[: len(want) - len(want_body)]
        if have_indent.endswith(want_indent):
            shift = (have_indent[: len(have_indent) - len(want_indent)], "")
        elif want_indent.endswith(have_indent):
            shift = ("", want_indent[: len(want_indent) - len(have_indent)])
        else:
            return None
        if found is not None and shift != found:
            return None
        found = shift
    return found if found != ("", "") else None


def _reindent(line: str, add: str, remove: str) -> str:
    if not line.strip():
        return ""
    if remove:
        return line[len(remove) :] if line.startswith(remove) else line.lstrip()
    return add + line


# ---------------------------------------------------------------------------------------------
# Syntax checks


def check_syntax(edits: EditSet) -> list[str]:
    """One ``path:line: message`` per file whose content does not parse; others unchecked."""
    problems: list[str] = []
    for edit in edits.edits:
        if edit.content is None:
            continue
        checker = _CHECKERS.get(posixpath.splitext(edit.path)[1].lower())
        if checker is not None:
            problem = checker(edit.content)
            if problem is not None:
                line, message = problem
                problems.append(f"{edit.path}:{line}: {message}")
    return problems


def _check_python(content: str) -> tuple[int, str] | None:
    # compile, not only ast.parse: it also catches errors found after parsing, such as
    # 'return' outside a function. Warnings (invalid escapes...) are not errors here, and
    # under pytest's -W error they would otherwise be raised.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            compile(content, "<edit>", "exec", dont_inherit=True)
        except SyntaxError as exc:
            return exc.lineno or 1, exc.msg
        except ValueError as exc:  # Python 3.11: "source code string cannot contain null bytes"
            return 1, str(exc)
    return None


def _check_json(content: str) -> tuple[int, str] | None:
    try:
        json.loads(content)
    except json.JSONDecodeError as exc:
        return exc.lineno, exc.msg
    return None


def _check_yaml(content: str) -> tuple[int, str] | None:
    import yaml  # lazily: the pre-commit path must start fast

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    # compose_all checks the syntax of every document without constructing Python objects,
    # so multi-document files and application tags (!Ref, !reference) are not reported.
    try:
        for _ in yaml.compose_all(content, Loader=loader):
            pass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        return (mark.line + 1 if mark else 1), str(exc.problem or exc.context or "invalid YAML")
    except yaml.YAMLError as exc:
        return 1, str(exc)
    return None


_TOML_WHERE = re.compile(r"\s*\(at (?:line (\d+), column \d+|end of document)\)$")


def _check_toml(content: str) -> tuple[int, str] | None:
    try:
        tomllib.loads(content)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        where = _TOML_WHERE.search(message)
        if where is None:
            return 1, message
        line = int(where.group(1)) if where.group(1) else content.count("\n") + 1
        return line, message[: where.start()]
    return None


_CHECKERS: dict[str, Callable[[str], tuple[int, str] | None]] = {
    ".py": _check_python,
    ".pyi": _check_python,
    ".json": _check_json,
    ".yml": _check_yaml,
    ".yaml": _check_yaml,
    ".toml": _check_toml,
}
