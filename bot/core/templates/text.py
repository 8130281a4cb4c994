"""Reading the task text: comments dropped, prose and fences apart, paths found, sentences made."""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass

_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})")


def clean_text(text: str) -> str:
    # Hidden HTML comments in an issue must not steer what gets committed.
    return _HTML_COMMENT.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


@dataclass(frozen=True)
class Block:
    """A run of task-text lines: prose (``fenced`` false) or the inside of one code fence."""

    fenced: bool
    lines: tuple[str, ...]


def split_blocks(text: str) -> list[Block]:
    blocks: list[Block] = []
    current: list[str] = []
    marker: str | None = None
    for line in text.split("\n"):
        match = _FENCE.match(line)
        if marker is None and match:
            blocks.append(Block(False, tuple(current)))
            current, marker = [], match.group(1)
        elif marker is not None and line.strip() and set(line.strip()) == {marker[0]}:
            if len(line.strip()) >= len(marker):
                body = textwrap.dedent("\n".join(current)).split("\n")
                blocks.append(Block(True, tuple(body)))
                current, marker = [], None
            else:
                current.append(line)
        else:
            current.append(line)
    if current:
        # An unclosed fence still holds code: treat it as fenced, like most renderers do.
        body = textwrap.dedent("\n".join(current)).split("\n") if marker else current
        blocks.append(Block(marker is not None, tuple(body)))
    return blocks


PY_PATH = re.compile(r"(?<![\w/.\\-])(?:\./)?((?:[\w.-]+/)*[\w.-]*\w\.py)(?!\w)")
BACKTICK_MODULE = re.compile(r"`([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)`")
NAMED_MODULE = re.compile(
    r"`([A-Za-z_]\w*)`\s+(?:module|package)|(?:module|package)\s+`([A-Za-z_]\w*)`"
)


def path_mentions(text: str) -> list[str]:
    """``.py`` paths in the text, in order of first mention, without ``..`` escapes."""
    seen: dict[str, None] = {}
    for match in PY_PATH.finditer(text):
        path = match.group(1)
        if ".." not in path.split("/"):
            seen.setdefault(path, None)
    return list(seen)


def sentence(text: str) -> str:
    """A docstring sentence from free text: one line, capitalised, full stop, safe to quote."""
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    text = re.sub(r"(?<!`)`([^`]+)`(?!`)", r"``\1``", " ".join(text.split()))
    text = text.strip(" -–—:;,")
    if len(text) > 200:
        text = text[:200].rsplit(" ", 1)[0].rstrip(",;:") + " ..."
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."
