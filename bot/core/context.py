"""Build the prompt context of a task: fenced untrusted text, a repo map and the named files."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.core.budget import estimate_tokens

HTML_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
PATH_TOKEN = re.compile(r"[\w./-]+\.[A-Za-z0-9]+|[\w.-]+(?:/[\w.-]+)+")
# Room kept for the system prompt, the task text and the answer's own framing.
PROMPT_OVERHEAD_TOKENS = 800


class ContextTooLarge(Exception):
    """The files the task needs do not fit the tier's context budget."""


@dataclass(frozen=True)
class FileBlock:
    path: str
    fenced: str


@dataclass(frozen=True)
class Context:
    task_fenced: str
    repo_map: str
    map_truncated: str
    files: tuple[FileBlock, ...]


def strip_html_comments(text: str) -> str:
    return HTML_COMMENT.sub("", text)


def fence(text: str, label: str = "") -> str:
    """Fence text so nothing inside can close the fence: longer than any backtick run in it."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    body = text if text.endswith("\n") else text + "\n"
    return f"{ticks}{label}\n{body}{ticks}"


def untrusted(text: str) -> str:
    cleaned = strip_html_comments(text).strip()
    return fence(cleaned, "text UNTRUSTED") if cleaned else fence("(empty)", "text UNTRUSTED")


def python_symbols(source: str) -> list[str]:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    names = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.append(f"def {node.name}")
        elif isinstance(node, ast.ClassDef):
            names.append(f"class {node.name}")
    return names


def named_paths(text: str, files: Sequence[str]) -> list[str]:
    """Repository paths the task text mentions, in order of first mention."""
    known = set(files)
    found: list[str] = []
    for token in PATH_TOKEN.findall(strip_html_comments(text)):
        path = token.strip("`'\"").rstrip(".,:;").removeprefix("./")
        if path in known and path not in found:
            found.append(path)
    return found


def repo_map(
    files: Sequence[str], read: Callable[[str], str | None], budget_tokens: int
) -> tuple[str, str]:
    """Paths with top-level symbols, shortened to ``budget_tokens``; returns (map, note)."""
    lines = []
    for path in files:
        symbols = ""
        if path.endswith(".py"):
            source = read(path)
            if source is not None:
                symbols = ", ".join(python_symbols(source))
        lines.append(f"{path}: {symbols}" if symbols else path)
    text = "\n".join(lines)
    if estimate_tokens(text) <= budget_tokens:
        return text, ""
    bare = "\n".join(files)
    if estimate_tokens(bare) <= budget_tokens:
        return bare, "symbols left out"
    keep: list[str] = []
    used = 0
    for path in files:
        used += estimate_tokens(path + "\n")
        if used > budget_tokens:
            break
        keep.append(path)
    return "\n".join(keep), f"{len(files) - len(keep)} of {len(files)} paths left out"


def build_context(
    text: str,
    files: Sequence[str],
    read: Callable[[str], str | None],
    budget_tokens: int,
    *,
    extra_paths: Sequence[str] = (),
) -> Context:
    """Named files in full first (they are what the task is about), then as much map as fits."""
    task_fenced = untrusted(text)
    remaining = budget_tokens - PROMPT_OVERHEAD_TOKENS - estimate_tokens(task_fenced)
    blocks: list[FileBlock] = []
    for path in [*named_paths(text, files), *extra_paths]:
        if any(b.path == path for b in blocks):
            continue
        content = read(path)
        if content is None:
            continue
        block = FileBlock(path, fence(content, _language(path)))
        remaining -= estimate_tokens(block.fenced) + estimate_tokens(path) + 4
        blocks.append(block)
    if remaining < 0:
        raise ContextTooLarge(
            f"the files the task names need about {budget_tokens - remaining} tokens, "
            f"more than this tier's {budget_tokens}"
        )
    map_text, note = repo_map(files, read, remaining)
    return Context(task_fenced, map_text, note, tuple(blocks))


def _language(path: str) -> str:
    suffix = path.rsplit(".", 1)[-1] if "." in path else ""
    return {
        "py": "python",
        "yml": "yaml",
        "yaml": "yaml",
        "md": "markdown",
        "toml": "toml",
        "json": "json",
        "js": "javascript",
        "ts": "typescript",
        "sh": "bash",
    }.get(suffix, "")
