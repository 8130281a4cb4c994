"""Make text safe and short: scrub secrets (known values and shapes), excerpt errors of logs.

Three strengths, for three kinds of text. ``scrub`` (logs, error messages, issue text): token
shapes, private keys, URL credentials, and ``name=value`` / ``"name": "value"`` pairs whose
name says secret. ``scrub_tokens`` (code: prompts, diffs, comments quoting code): the shapes
only, since the ``name=value`` rule would blank ordinary code such as ``token = get_token()``.
``Redactor``: the exact values of the secrets this process holds, before either of the above.
Nothing here reads the environment: the values are handed in by the edge that built them.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any

REDACTED = "[REDACTED]"
# Shorter values are not secrets worth the false positives (and could match common words).
MIN_SECRET_CHARS = 8
_KEEP_MINTED = 64  # minted tokens remembered; older ones have long expired

_PEM_BEGIN = r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
# One line of a PEM body, optionally after a CI timestamp ("2024-05-01T12:00:00.1234567Z "):
# 16 or more base64 characters, a short last line ending in "=", an empty line, or an
# encryption header. Lines end in a newline or, inside JSON, in an escaped one.
_PEM_LINE = (
    r"(?:\r?\n|(?:\\r)?\\n)(?:\d{4}-\d\d-\d\dT[\d:.]+Z[ \t]+)?[ \t]*"
    r"(?:[A-Za-z0-9+/]{16,}=*|[A-Za-z0-9+/]*={1,2}|(?:Proc-Type|DEK-Info): [\w,-]+"
    r"|(?=\r?\n|(?:\\r)?\\n))[ \t]*"
)
_URL_USER = r"[^/\s:@\"'<>\\]"
# Each pattern starts with a literal, so the regex engine jumps from one occurrence of it to
# the next instead of trying every position; a "not inside a word" check follows the literal
# as a lookbehind for the same reason. (A leading \b or (?i) makes a scan about 10x slower.)
SECRET_PATTERNS = [
    re.compile(r"gh[pousr]_[A-Za-z0-9]{20,}"),
    re.compile(r"github_pat_[A-Za-z0-9_]{20,}"),
    re.compile(r"sk-(?<!\wsk-)[A-Za-z0-9_-]{16,}"),
    re.compile(r"(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    re.compile(r"xox[abeprs]-(?<!\wxox.-)[A-Za-z0-9-]{10,}"),
    re.compile(r"AIza(?<!\wAIza)[0-9A-Za-z_-]{35}"),
    re.compile(r"glpat-(?<!\wglpat-)[A-Za-z0-9_-]{20,}"),
    re.compile(r"hf_(?<!\whf_)[A-Za-z0-9]{30,}"),
    re.compile(r"gsk_(?<!\wgsk_)[A-Za-z0-9]{30,}"),
    re.compile(r"npm_(?<!\wnpm_)[A-Za-z0-9]{30,}"),
    re.compile(r"xai-(?<!\wxai-)[A-Za-z0-9]{30,}"),
    # A JWT: three base64url parts, the first two JSON objects ("eyJ" is '{"').
    re.compile(r"eyJ(?<!\weyJ)[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{10,}"),
    # A whole private key, or, when the END line is missing (a cut log), its BEGIN line and
    # every body line after it.
    re.compile(_PEM_BEGIN + r".*?-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----", re.S),
    re.compile(_PEM_BEGIN + f"(?:{_PEM_LINE})*"),
    # A private key's body with its BEGIN line cut off (a log kept from its tail): a line of
    # exactly 64 base64 characters in mixed case, as PEM wraps them, and the lines after it.
    re.compile(
        r"^[ \t]*(?=[^\n]*[A-Z])(?=[^\n]*[a-z])[A-Za-z0-9+/]{64}[ \t]*\r?\n"
        r"(?:[ \t]*[A-Za-z0-9+/]{16,}={0,2}[ \t]*(?:\r?\n|$))+",
        re.M,
    ),
    # URL credentials: user:password before @host (the scheme and the host stay readable).
    re.compile(rf"//(?<=://){_URL_USER}+:[^/\s@\"'<>\\]+(?=@)"),
]
# Matched in any case. On ASCII text they run on text.lower() (same positions) as plain
# literals; other text takes the slower case-insensitive scan.
_ANY_CASE_PATTERNS = [
    r"bearer(?<!\wbearer)\s+[a-z0-9._~+/-]{8,}=*",
    r"token(?<!\wtoken)\s+[a-z0-9._~+/-]{16,}=*",
    r"authorization:\s*basic\s+[a-z0-9+/]{8,}=*",
    r"x-access-token:[^@\s]+",
]
_SECRET_WORDS = [
    r"passw(?:or)?d",
    "secret",
    r"api[_-]?key",
    "apikey",
    r"access[_-]?key",
    r"private[_-]?key",
    "token",
    r"credentials?",
    "authorization",
]
# name=value, name: value, "name": "value" (JSON, also JSON inside a JSON string). A quoted
# value keeps its quotes and an unquoted one stops at a quote or a comma, so scrubbed JSON
# stays JSON. The match starts at the secret word: a name's prefix (DB_ in DB_PASSWORD) is
# left as it is, which is what the replacement would write back anyway. One pattern per
# word, each starting with a literal: together several times faster than one alternation.
_ASSIGNED_PATTERNS = [
    rf"({word}[\w.-]*)(\\?[\"']?[ \t]*[=:][ \t]*)"
    r"(\[redacted\]|\\\"(?:[^\"\\]|\\[^\"])*\\\""
    r"|\"(?:[^\"\\\n]|\\.)*\"|'[^'\n]*'|[^\s\"'\\,;}\]]+)"
    for word in _SECRET_WORDS
]
ERROR_LINE = re.compile(
    r"(?i)(error|exception|traceback|failed|failure|assert|^E\s{2,}|fatal|panic)"
)
_Replace = Callable[[str, re.Match[str]], str]


class _AnyCase:
    """Lower-case patterns matched in any case; each match (the earliest, then the longest,
    where they overlap) is replaced by ``replace(text, match)``."""

    def __init__(self, patterns: list[str], replace: _Replace) -> None:
        self._lower = [re.compile(p) for p in patterns]
        self._any = re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)
        self._replace = replace

    def sub(self, text: str) -> str:
        if not text.isascii():  # lower() may change lengths outside ASCII
            return self._any.sub(lambda m: self._replace(text, m), text)
        lowered = text.lower()
        found = sorted(
            (m for p in self._lower for m in p.finditer(lowered)),
            key=lambda m: (m.start(), -m.end()),
        )
        out: list[str] = []
        last = 0
        for match in found:
            if match.start() >= last:
                out += [text[last : match.start()], self._replace(text, match)]
                last = match.end()
        return "".join(out) + text[last:] if out else text


def _blank(_text: str, _match: re.Match[str]) -> str:
    return REDACTED


def _blank_value(text: str, match: re.Match[str]) -> str:
    """Keep the name, the separator and the value's quotes (read from ``text``). The groups
    are those of the one alternative that matched (the others are None)."""
    name, sep, value = (i for i, g in enumerate(match.groups(), 1) if g is not None)
    raw = text[match.start(value) : match.end(value)]
    quote = next((q for q in ('\\"', '"', "'") if raw.startswith(q)), "")
    return f"{text[match.start(name) : match.end(sep)]}{quote}{REDACTED}{quote}"


_ANY_CASE = _AnyCase(_ANY_CASE_PATTERNS, _blank)
_ASSIGNED_SECRET = _AnyCase(_ASSIGNED_PATTERNS, _blank_value)


def scrub_tokens(text: str) -> str:
    """Blank token-shaped secrets, private keys and URL passwords; code stays readable."""
    for pattern in SECRET_PATTERNS:
        text = pattern.sub(REDACTED, text)
    return _ANY_CASE.sub(text)


def scrub(text: str) -> str:
    """``scrub_tokens`` plus values assigned to secret-looking names (for logs and prose)."""
    return _ASSIGNED_SECRET.sub(scrub_tokens(text))


def secret_parts(value: str) -> list[str]:
    """The strings to look for when ``value`` is a secret: as written, JSON-escaped and, for a
    one-line value (a password in a URL), URL-quoted; for a multi-line value (a private key),
    each line of its body (not its BEGIN/END lines) as written and JSON-escaped."""
    multi_line = "\n" in value
    lines = [line.strip() for line in value.splitlines()] if multi_line else [value]
    parts: list[str] = []
    for line in lines:
        if len(line) < MIN_SECRET_CHARS or line.startswith("-----"):
            continue
        forms = [line, json.dumps(line)[1:-1]]
        if not multi_line:
            forms.append(urllib.parse.quote(line, safe=""))
        parts += [form for form in dict.fromkeys(forms) if form not in parts]
    return parts


class Redactor:
    """The exact values of the secrets a process holds, applied before the patterns.

    Built once at the edge from the settings and passed to every place text leaves the
    process. ``add_minted`` takes credentials made while running (installation tokens); it
    keeps the last ``keep_minted`` of them, since the older ones have expired.
    """

    def __init__(self, secrets: Iterable[str] = (), *, keep_minted: int = _KEEP_MINTED) -> None:
        self._lasting: list[str] = []
        self._minted: list[str] = []
        self._keep_minted = keep_minted
        self._lock = threading.Lock()
        self._longest_first: tuple[str, ...] | None = None
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str) -> None:
        parts = secret_parts(secret)
        with self._lock:
            self._lasting.extend(p for p in parts if p not in self._lasting)
            self._longest_first = None

    def add_minted(self, secret: str) -> None:
        parts = secret_parts(secret)
        with self._lock:
            self._minted.extend(parts)
            del self._minted[: -self._keep_minted]
            self._longest_first = None

    def __len__(self) -> int:
        with self._lock:
            return len(set(self._lasting) | set(self._minted))

    def values(self, text: str) -> str:
        """Only the exact values: for file contents, where a pattern would change code."""
        # A substring test per value is a fast scan in C; a regex alternation of the same
        # values is several times slower, and most texts contain none of them.
        for secret in self._secrets():
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def tokens(self, text: str) -> str:
        """Values, then ``scrub_tokens``: for prompts and comments that quote code."""
        return scrub_tokens(self.values(text))

    def __call__(self, text: str) -> str:
        """Values, then ``scrub``: for logs, error messages and stored text."""
        return scrub(self.values(text))

    def _secrets(self) -> tuple[str, ...]:
        with self._lock:
            if self._longest_first is None:
                # Longest first, so a value that contains another is removed whole.
                found = set(self._lasting) | set(self._minted)
                self._longest_first = tuple(sorted(found, key=len, reverse=True))
            return self._longest_first


def redact_json(value: Any, redact: Any) -> Any:
    """``value`` (decoded JSON) with ``redact`` applied to every string in it, keys kept."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [redact_json(v, redact) for v in value]
    if isinstance(value, dict):
        return {k: redact_json(v, redact) for k, v in value.items()}
    return value


_PLAIN = (str, int, float, type(None))


class RedactingFilter(logging.Filter):
    """A log filter that renders each record once and redacts the text (and its traceback)."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self._redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and all(isinstance(a, _PLAIN) for a in args):
            # Kept apart for formatters that read them (uvicorn's access log), each redacted.
            record.msg = self._redact(str(record.msg))
            record.args = tuple(self._redact(a) if isinstance(a, str) else a for a in args)
        else:
            record.msg = self._redact(record.getMessage())
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redact(record.exc_text)
        record.exc_info = None
        if record.stack_info:
            record.stack_info = self._redact(record.stack_info)
        return True


def excerpt(
    log: str,
    *,
    max_chars: int = 6000,
    context: int = 3,
    tail: int = 40,
    redact: Callable[[str], str] = scrub,
) -> str:
    """Error lines with ``context`` lines around them, then the last ``tail`` lines.

    Everything is scrubbed first (a ``Redactor`` as ``redact`` also removes known values).
    When the result is too long the error sections are cut from the front, since the end of
    a log usually holds the summary and the last error.
    """
    lines = redact(log).splitlines()
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
