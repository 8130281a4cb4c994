"""What a red check's log says, in a line: the failing test ids and the error lines.

Pure. The check's whole output stays in the ledger; a person reading the status line or
``--json`` wants what pytest's short summary says (``FAILED tests/test_x.py::test_y - ...``),
or, for any other command, its error lines, without the scroll of passing dots.
"""

from __future__ import annotations

import re

# pytest's short test summary ("-r fE", on by default): one line per failing test or error.
_SUMMARY = re.compile(r"^(FAILED|ERROR)\s+(\S+?)(?:\s+-\s+(.*))?$")
# pytest's "E   ..." lines: the assertion or exception that failed.
_E_LINE = re.compile(r"^E\s{2,}(\S.*)$")
# Any tool's error lines: an exception's last line, "error:" diagnostics, a Python traceback's end.
_ERROR = re.compile(
    r"^(?:[\w.]*(?:Error|Exception|Exit)\b:?.*"
    r"|.*\b(?:error|fatal)(?:\[\w+\])?:\s.*"
    r"|.*:\d+(?::\d+)?:\s+(?:error|E\d+|F\d+)\b.*)$",
    re.IGNORECASE,
)
_NOISE = re.compile(r"^(?:=+|-+|_+)\s|^\s*$|^Traceback \(most recent call last\):")
MAX_TESTS = 5
MAX_ERRORS = 3
MAX_LINE = 160


class Failure:
    """Failing test ids (in order, each with pytest's reason when it gave one) and error lines."""

    __slots__ = ("errors", "tests")

    def __init__(self, tests: tuple[str, ...], errors: tuple[str, ...]) -> None:
        self.tests = tests
        self.errors = errors

    def __repr__(self) -> str:
        return f"Failure(tests={self.tests!r}, errors={self.errors!r})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Failure) and self.tests == other.tests and self.errors == other.errors
        )

    def __hash__(self) -> int:
        return hash((self.tests, self.errors))

    def line(self, *, max_tests: int = MAX_TESTS, max_errors: int = MAX_ERRORS) -> str:
        """One line for a status: ``FAILED a::b - reason; ERROR c; (+3 more)``, or ""."""
        parts = list(self.tests[:max_tests])
        more = len(self.tests) - max_tests
        if more > 0:
            parts.append(f"(+{more} more)")
        # Error lines a summary line already carries are not repeated.
        shown = " ".join(parts)
        parts += [e for e in self.errors if e not in shown][:max_errors]
        return "; ".join(parts)


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_LINE else text[: MAX_LINE - 3] + "..."


def summarize(output: str) -> Failure:
    """The failing tests pytest named and the error lines of ``output``, each once, in order."""
    tests: dict[str, None] = {}
    errors: dict[str, None] = {}
    e_lines: dict[str, None] = {}
    for raw in output.splitlines():
        line = raw.rstrip()
        summary = _SUMMARY.match(line)
        if summary:
            kind, test, reason = summary.groups()
            tests.setdefault(_short(f"{kind} {test}" + (f" - {reason}" if reason else "")))
            continue
        e_line = _E_LINE.match(line)
        if e_line:
            if not e_line.group(1).startswith(("+", "-", "?", "where ")):  # a diff's lines
                e_lines.setdefault(_short(e_line.group(1)))
            continue
        stripped = line.strip()
        if _NOISE.match(line) or not stripped or stripped.startswith(("FAILED", "ERROR ")):
            continue
        if _ERROR.match(stripped):
            errors.setdefault(_short(stripped))
    # pytest's "E" lines name the exception itself; prefer them over lines of its traceback.
    chosen = [e for e in e_lines if _ERROR.match(e)] or list(e_lines) or list(errors)
    return Failure(tuple(tests), tuple(dict.fromkeys(chosen)))


def failure_line(output: str) -> str:
    """``summarize(output).line()``: what a person reads first about a red check."""
    return summarize(output).line()
