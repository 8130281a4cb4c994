"""Turn a model's reply into file edits (whole-file fences, SEARCH/REPLACE blocks) and check them.

The prompt asks for one exact format, but cheap models slip in small, predictable ways
(path decorations, fence variants, marker lengths, indentation). Those slips are accepted
here because a retry costs a model call; anything that could change *which* file or *which*
lines are edited is refused with a message that names the block, the path and the fix,
because that message goes back to the model on the retry and to the user in the end.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.core.edit_blocks import Block, EditError, Parser
from bot.core.paths import path_problem
from bot.core.search_replace import apply_replaces
from bot.core.syntax import check_syntax as check_syntax  # the edits' own check
from bot.core.types import EditSet, FileEdit

__all__ = ["FORMAT_HINT", "EditError", "check_syntax", "parse_edits"]

FORMAT_HINT = (
    "give each file as a line '### path/to/file' followed by a ``` fence holding its "
    "complete new content, or as '### path/to/file' followed by "
    "'<<<<<<< SEARCH' / '=======' / '>>>>>>> REPLACE' blocks"
)


def parse_edits(text: str, read: Callable[[str], str | None]) -> EditSet:
    """Parse ``text`` into one FileEdit per path, in first-seen order, with final contents.

    ``read(path)`` returns a file's current content, or ``None`` if it does not exist; it is
    called only for paths edited with SEARCH/REPLACE blocks.
    """
    blocks = Parser(text).parse()
    if not blocks:
        raise EditError(f"no edit blocks found in the reply: {FORMAT_HINT}")
    by_path: dict[str, list[Block]] = {}
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
    path: str, blocks: list[Block], read: Callable[[str], str | None], problems: list[str]
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
    return apply_replaces(path, replaces, read(path), problems)
