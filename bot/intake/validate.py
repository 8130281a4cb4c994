"""Check a webhook request before anything of it is stored: headers, a capped signed body,
JSON, and every payload string (validated, then redacted).

Each refusal is a ``Rejected`` carrying the HTTP status and a message for the sender; nothing
here touches the database.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
import tempfile
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from bot.events import EventError

MAX_BODY_BYTES = 25 * 1024 * 1024  # GitHub caps payloads at 25 MB
SPOOL_BYTES = 1024 * 1024  # larger bodies wait for their signature check on disk, not in memory
MAX_DEPTH = 64  # GitHub payloads nest about ten levels deep
EVENT_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
DELIVERY_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
SIGNATURE = re.compile(r"sha256=[0-9a-f]{64}")
# Values handlers match exactly (shas, refs, logins, names, states). They are identifiers
# GitHub validates, not free text, and a redaction that rewrote them would misroute the job.
IDENTIFIER_KEYS = frozenset(
    {
        "action",
        "after",
        "base_ref",
        "before",
        "conclusion",
        "default_branch",
        "full_name",
        "head_branch",
        "head_sha",
        "login",
        "name",
        "node_id",
        "ref",
        "sha",
        "state",
        "status",
        "type",
    }
)

TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(?:Z|[+-][0-9:]+)")
# A link GitHub generates: no user info, query or fragment, only URI template braces.
GITHUB_URL = re.compile(
    r"https?://([A-Za-z0-9.-]+(?::[0-9]+)?)(?:[/A-Za-z0-9._~%+-]++|\{[?/+]?[A-Za-z_,]+\})*+"
)
URL_KEYS = ("url", "href")


class Rejected(Exception):
    """A request refused with ``status`` and a message the sender can act on."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def signature_matches(mac: hmac.HMAC, header: str | None) -> bool:
    """Constant-time comparison of bytes: ``compare_digest`` raises on non-ASCII text."""
    if not header or not header.isascii():
        return False
    expected = b"sha256=" + mac.hexdigest().encode()
    return hmac.compare_digest(expected, header.encode("ascii"))


def check_declared_length(headers: Mapping[str, str]) -> None:
    """Refuse an oversize body from its Content-Length, before reading any of it."""
    declared = headers.get("content-length")
    if declared is None:
        return
    if not declared.isascii() or not declared.isdigit():
        raise Rejected(400, "Content-Length must be a number")
    if int(declared) > MAX_BODY_BYTES:
        raise Rejected(413, "payload too large")


async def signed_body(chunks: AsyncIterator[bytes], *, key: bytes, header: str | None) -> bytes:
    """The body once its ``X-Hub-Signature-256`` is verified; read with a cap as it streams.

    A header that cannot be a signature refuses the request before the body is read. Bodies
    over ``SPOOL_BYTES`` are spooled to a temporary file, so unauthenticated bytes held in
    memory stay small however many arrive at once.
    """
    if header is None or not SIGNATURE.fullmatch(header):
        raise Rejected(401, "missing or invalid X-Hub-Signature-256")
    mac = hmac.new(key, digestmod=hashlib.sha256)
    size = 0
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
        async for chunk in chunks:
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise Rejected(413, "payload too large")
            mac.update(chunk)
            spool.write(chunk)
        if not signature_matches(mac, header):
            raise Rejected(401, "missing or invalid X-Hub-Signature-256")
        spool.seek(0)
        return spool.read()


def check_names(headers: Mapping[str, str]) -> tuple[str, str]:
    """(event, delivery id) from the headers; both are stored in 64-character columns."""
    event = headers.get("x-github-event", "")
    delivery = headers.get("x-github-delivery", "")
    if not EVENT_NAME.fullmatch(event) or not DELIVERY_ID.fullmatch(delivery):
        raise Rejected(
            400,
            "X-GitHub-Event and X-GitHub-Delivery headers are required: up to 64 letters, "
            "digits, '_', '.', '-' (and ':' in a delivery id)",
        )
    return event, delivery


def load_json(body: bytes) -> Any:
    """Strict JSON in UTF-8: no NaN or Infinity, no integer past Python's digit limit."""
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_no_constant)
    except RecursionError:
        raise Rejected(400, "body is nested too deeply") from None
    except ValueError as exc:  # JSON, UTF-8 and integer-digit errors are all ValueErrors
        raise Rejected(400, f"body is not valid JSON: {_short(exc)}") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _short(exc: Exception) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


class _Cleaner:
    """One walk over a payload, changing it in place: refuse what no column or handler can
    take, redact the free text.

    Redaction is the costly part of intake, so what cannot hold free text is kept as sent:
    identifiers, timestamps, and the API and web links GitHub builds for the payload's own
    hosts (three quarters of a pull request payload's strings). Each other distinct string
    is redacted once.
    """

    def __init__(
        self, redact: Callable[[str], str], hosts: frozenset[str], *, check_text: bool
    ) -> None:
        self._redact = redact
        self._hosts = hosts
        self._check = check_text
        self._seen: dict[str, str] = {}
        self._kinds: dict[str, int] = {}

    def walk(self, value: Any, depth: int) -> None:
        # Written for speed: a pull request payload holds about a thousand values.
        if depth >= MAX_DEPTH:
            raise _Bad(f"nested too deeply (over {MAX_DEPTH} levels)")
        at: str | int = ""
        check, kinds = self._check, self._kinds
        try:
            if isinstance(value, dict):
                for key, item in value.items():
                    at = key
                    if check:
                        _check_text(key)
                    if type(item) is str:
                        kind = kinds.get(key) or self._kind(key)
                        self._text(value, key, item, kind)
                    elif item is not None and type(item) is not int:
                        self._other(item, depth)
            else:
                for at, item in enumerate(value):
                    if type(item) is str:
                        self._text(value, at, item, _FREE)
                    elif item is not None and type(item) is not int:
                        self._other(item, depth)
        except _Bad as bad:
            bad.path.insert(0, at)
            raise

    def _text(self, parent: Any, at: str | int, item: str, kind: int) -> None:
        if self._check:
            _check_text(item)
        if kind != _FREE and self._kept(item, kind):
            return
        out = self._seen.get(item)
        if out is None:
            out = self._seen[item] = self._redact(item)
        if out is not item:
            parent[at] = out  # a value replaced, never a key: safe while iterating

    def _other(self, item: Any, depth: int) -> None:
        if isinstance(item, dict | list):
            self.walk(item, depth + 1)
        elif isinstance(item, float) and not math.isfinite(item):
            raise _Bad("numbers must be finite")

    def _kind(self, key: str) -> int:
        kind = self._kinds.get(key)
        if kind is None:
            if key in IDENTIFIER_KEYS:
                kind = _IDENTIFIER
            elif key.endswith("_at"):
                kind = _TIME
            elif key in URL_KEYS or key.endswith("_url"):
                kind = _LINK
            else:
                kind = _FREE
            self._kinds[key] = kind
        return kind

    def _kept(self, value: str, kind: int) -> bool:
        if kind == _IDENTIFIER:
            return True
        if kind == _TIME:
            return TIMESTAMP.fullmatch(value) is not None
        link = GITHUB_URL.fullmatch(value)
        return link is not None and link.group(1) in self._hosts


_FREE, _IDENTIFIER, _TIME, _LINK = range(1, 5)  # all true: ``kinds.get(key) or ...``


class _Bad(ValueError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.path: list[str | int] = []  # filled in on the way out of the walk

    def where(self) -> str:
        # Keys come from the sender: escaped and cut, so the message is always safe to send.
        parts = (
            f"[{p}]" if isinstance(p, int) else "." + json.dumps(p)[1:-1][:64] for p in self.path
        )
        return "payload" + "".join(parts)


def _check_text(text: str) -> None:
    if "\x00" in text:
        raise _Bad("contains a NUL character")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise _Bad("contains a lone surrogate (not valid Unicode)") from None


# In strict UTF-8 JSON a string can only hold NUL or a lone surrogate through a \u escape.
_HAZARD_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


def clean_payload(
    payload: dict[str, Any], redact: Callable[[str], str], *, body: bytes | None = None
) -> dict[str, Any]:
    """The payload, changed in place, as it may be stored: every string checked, free text
    passed to ``redact``. ``body``, the JSON it was parsed from, lets the per-string check be
    skipped when it holds no escape that could make a NUL or a lone surrogate.

    Raises EventError naming the first value no column or handler could take.
    """
    check_text = body is None or _HAZARD_ESCAPE.search(body) is not None
    try:
        _Cleaner(redact, _github_hosts(payload), check_text=check_text).walk(payload, 0)
    except _Bad as bad:
        raise EventError(f"{bad.where()} {bad.reason}") from None
    return payload


def _github_hosts(payload: dict[str, Any]) -> frozenset[str]:
    """The API and web hosts of the payload's repository (github.com or an Enterprise host)."""
    repo = payload.get("repository")
    if not isinstance(repo, dict):
        return frozenset()
    links = (repo.get("url"), repo.get("html_url"))
    found = (GITHUB_URL.fullmatch(link) for link in links if isinstance(link, str))
    return frozenset(link.group(1) for link in found if link is not None)
