"""Where a review comment may sit: a line inside the PR diff's hunks, on the side it names.

GitHub answers 422 "Line could not be resolved" for any other line; this module reproduces
that from the real ``git diff`` and computes the legacy ``position`` and the ``diff_hunk``
GitHub stores with each comment.
"""

from __future__ import annotations

from dataclasses import dataclass

from unidiff.patch import Hunk, PatchedFile, PatchSet


class Unresolvable(ValueError):
    """The comment's location is not in the diff (GitHub's 422)."""


@dataclass(frozen=True)
class Anchor:
    line: int | None
    side: str
    start_line: int | None
    start_side: str | None
    position: int
    diff_hunk: str


def _file(patches: PatchSet, path: str) -> PatchedFile:
    for pf in patches:
        if pf.path == path:
            return pf
    raise Unresolvable("Path could not be resolved")


def _locate(pf: PatchedFile, line: int, side: str) -> tuple[int, Hunk, int]:
    """(position, hunk, index in hunk) of ``line`` on ``side``, or raise."""
    offset = 0
    for number, hunk in enumerate(pf):
        if number > 0:
            offset += 1  # every later hunk header takes a position
        for index, diff_line in enumerate(hunk):
            wanted = diff_line.target_line_no if side == "RIGHT" else diff_line.source_line_no
            if wanted == line:
                return offset + index + 1, hunk, index
        offset += len(hunk)
    raise Unresolvable("Line could not be resolved")


def _at_position(pf: PatchedFile, position: int) -> tuple[Hunk, int]:
    offset = 0
    for number, hunk in enumerate(pf):
        if number > 0:
            offset += 1
        if offset < position <= offset + len(hunk):
            return hunk, position - offset - 1
        offset += len(hunk)
    raise Unresolvable("Position could not be resolved")


def _range(start: int, length: int) -> str:
    # git leaves out a length of 1: "@@ -3 +3,2 @@".
    return f"{start}" if length == 1 else f"{start},{length}"


def hunk_text(hunk: Hunk, upto: int | None = None) -> str:
    """The hunk as git printed it, through line index ``upto`` (all of it by default)."""
    header = f"@@ -{_range(hunk.source_start, hunk.source_length)} "
    header += f"+{_range(hunk.target_start, hunk.target_length)} @@"
    if hunk.section_header:
        header += f" {hunk.section_header}"
    kept = list(hunk) if upto is None else list(hunk)[: upto + 1]
    return "\n".join([header, *(str(diff_line).rstrip("\n") for diff_line in kept)])


def resolve(
    patches: PatchSet,
    path: str,
    *,
    line: int | None = None,
    side: str | None = None,
    start_line: int | None = None,
    start_side: str | None = None,
    position: int | None = None,
) -> Anchor:
    """Anchor a comment by ``line``/``side`` (and optional start), or by legacy ``position``."""
    pf = _file(patches, path)
    if line is None:
        if position is None:
            raise Unresolvable("Line could not be resolved")
        hunk, index = _at_position(pf, position)
        diff_line = list(hunk)[index]
        on_right = diff_line.target_line_no is not None
        return Anchor(
            line=diff_line.target_line_no if on_right else diff_line.source_line_no,
            side="RIGHT" if on_right else "LEFT",
            start_line=None,
            start_side=None,
            position=position,
            diff_hunk=hunk_text(hunk, index),
        )
    side = (side or "RIGHT").upper()
    if side not in ("LEFT", "RIGHT"):
        raise Unresolvable(f"Invalid side {side!r}")
    found_position, hunk, index = _locate(pf, line, side)
    if start_line is not None:
        start_side = (start_side or side).upper()
        start_position, start_hunk, _ = _locate(pf, start_line, start_side)
        if start_hunk is not hunk or start_position > found_position:
            raise Unresolvable("start_line must precede line in the same hunk")
    return Anchor(
        line=line,
        side=side,
        start_line=start_line,
        start_side=start_side if start_line is not None else None,
        position=found_position,
        diff_hunk=hunk_text(hunk, index),
    )
