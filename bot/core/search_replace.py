"""SEARCH/REPLACE blocks applied to a file: exact, then loose on whitespace, never ambiguous."""

from __future__ import annotations

from bot.core.edit_blocks import Block


def apply_replaces(
    path: str, blocks: list[Block], original: str | None, problems: list[str]
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
