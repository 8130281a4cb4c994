"""Make check and CI logs safe and short: scrub secrets, excerpt errors with context and tail."""

from __future__ import annotations

import re

SECRET_PATTERNS = [
    re.compile(r"gh[pousr]_[A-Za-z0-9]{20,}"),
    re.compile(r"github_pat_[A-Za-z0-9_]{20,}"),
    re.compile(r"\bsk-[A-Za-z0-9_-]{16,}"),
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S),
    re.compile(r"(?i)\b(bearer|token)\s+[A-Za-z0-9._~+/-]{16,}=*"),
    re.compile(r"(?i)x-access-token:[^@\s]+"),
]
ASSIGNED_SECRET = re.compile(
    r"(?i)\b([\w.-]*(?:password|passwd|secret|api[_-]?key|token)[\w.-]*)(\s*[=:]\s*)"
    r"(\"[^\"]*\"|'[^']*'|\S+)"
)
ERROR_LINE = re.compile(
    r"(?i)(error|exception|traceback|failed|failure|assert|^E\s{2,}|fatal|panic)"
)
REDACTED = "[REDACTED]"


def scrub(text: str) -> str:
    for pattern in SECRET_PATTERNS:
        text = pattern.sub(REDACTED, text)
    return ASSIGNED_SECRET.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)


def excerpt(log: str, *, max_chars: int = 6000, context: int = 3, tail: int = 40) -> str:
    """Error lines with ``context`` lines around them, then the last ``tail`` lines.

    Everything is scrubbed first. When the result is too long the error sections are cut
    from the front, since the end of a log usually holds the summary and the last error.
    """
    lines = scrub(log).splitlines()
    if not lines:
        return ""
    keep: set[int] = set()
    for i, line in enumerate(lines):
        if ERROR_LINE.search(line):
            keep.update(range(max(0, i - context), min(len(lines), i + context + 1)))
    keep.update(range(max(0, len(lines) - tail), len(lines)))
    out: list[str] = []
    previous = -1
    for i in sorted(keep):
        if i != previous + 1:
            out.append(f"... ({i - previous - 1} lines omitted)")
        out.append(lines[i])
        previous = i
    text = "\n".join(out)
    if len(text) > max_chars:
        text = "... (earlier output omitted)\n" + text[-max_chars:]
    return text
