"""The model's findings, their fingerprints and the hidden marker of what was posted."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from bot.core.answers import extract_json
from bot.core.diff import Diff, Side
from bot.core.review.rules import (
    FINGERPRINT,
    MARKER,
    MARKER_PREFIX,
    MAX_MARKER_FINGERPRINTS,
    SEVERITY_ALIASES,
    UNKNOWN_SEVERITY,
    ReviewOutputError,
)
from bot.spec import SEVERITIES


@dataclass(frozen=True)
class Finding:
    path: str  # "" for a remark about the pull request as a whole
    line: int | None
    side: Side
    severity: str  # one of config.SEVERITIES
    body: str
    suggestion: str | None = None  # replacement text for the line (RIGHT side only)


def parse_findings(text: str) -> tuple[Finding, ...]:
    """Findings from the model's answer; ``ReviewOutputError`` unless it is all well-formed.

    Accepts a JSON array (or ``{"findings": [...]}``) in a ```json block or in prose. An item
    that is not an object, or names an unknown side, fails the whole answer; an item with
    an empty body is dropped; an unknown severity is mapped by ``normalize_severity``.
    """
    value = extract_json(text, (list, dict), ReviewOutputError)
    if isinstance(value, dict):
        if not isinstance(value.get("findings"), list):
            raise ReviewOutputError('expected a JSON array of findings or {"findings": [...]}')
        value = value["findings"]
    findings = []
    for number, item in enumerate(value, start=1):
        if not isinstance(item, dict):
            raise ReviewOutputError(f"finding {number} is {type(item).__name__}, not an object")
        body = item.get("body")
        if body is not None and not isinstance(body, str):
            raise ReviewOutputError(f"finding {number}: body is not a string")
        if not body or not body.strip():
            continue
        path = item.get("path") or ""
        if not isinstance(path, str):
            raise ReviewOutputError(f"finding {number}: path is not a string")
        side_raw = item.get("side") or "RIGHT"
        if not isinstance(side_raw, str) or side_raw.upper() not in ("RIGHT", "LEFT"):
            raise ReviewOutputError(
                f"finding {number}: side {side_raw!r} is neither RIGHT nor LEFT"
            )
        suggestion = item.get("suggestion")
        if suggestion is not None and not isinstance(suggestion, str):
            raise ReviewOutputError(f"finding {number}: suggestion is not a string")
        findings.append(
            Finding(
                path=path.strip().removeprefix("./"),
                line=_line_number(item.get("line")),
                side=Side(side_raw.upper()),
                severity=normalize_severity(item.get("severity")),
                body=body.strip(),
                suggestion=suggestion.rstrip("\n") if suggestion else None,
            )
        )
    return tuple(findings)


def normalize_severity(value: Any) -> str:
    """One of SEVERITIES: the value itself, its alias (SEVERITY_ALIASES), or UNKNOWN_SEVERITY."""
    word = str(value or "").strip().lower()
    if word in SEVERITIES:
        return word
    return SEVERITY_ALIASES.get(word, UNKNOWN_SEVERITY)


def _line_number(value: Any) -> int | None:
    # A line that is not a positive number cannot be anchored; the finding goes to the summary.
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 1 else None
    if isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
        return number if number >= 1 else None
    return None


# --- fingerprints and the hidden marker ----------------------------------------------------


def _normalize(text: str) -> str:
    text = re.sub(r"[`*_>#~]", "", text.lower())
    return " ".join(text.split()).strip(" .")


def fingerprint(finding: Finding, diff: Diff) -> str:
    """Stable across pushes: path, normalized body and the anchored line's text, not its number.

    A finding whose line is not in the diff is keyed on path and body alone.
    """
    anchored = _anchored_text(finding, diff) or ""
    key = "\0".join((finding.path, _normalize(finding.body), anchored.strip()))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def drop_posted(
    findings: Iterable[Finding], diff: Diff, posted: Collection[str]
) -> tuple[Finding, ...]:
    """Findings not posted before (by fingerprint), each once."""
    seen = set(posted)
    out = []
    for finding in findings:
        key = fingerprint(finding, diff)
        if key not in seen:
            seen.add(key)
            out.append(finding)
    return tuple(out)


def encode_marker(fingerprints: Iterable[str]) -> str:
    """The hidden HTML comment that carries the posted fingerprints to the next review."""
    keep = [f for f in dict.fromkeys(fingerprints) if FINGERPRINT.fullmatch(f)]
    keep = keep[-MAX_MARKER_FINGERPRINTS:]
    return f"{MARKER_PREFIX}{json.dumps({'v': 1, 'fingerprints': keep})} -->"


def decode_marker(text: str) -> frozenset[str]:
    """Fingerprints from every review marker in ``text``; a damaged marker yields none."""
    found: set[str] = set()
    for match in MARKER.finditer(text):
        try:
            data = json.loads(match.group(1))
        except json.JSONDecodeError:
            continue
        prints = data.get("fingerprints") if isinstance(data, dict) else None
        if isinstance(prints, list):
            found.update(p for p in prints if isinstance(p, str) and FINGERPRINT.fullmatch(p))
    return frozenset(found)


def _anchored_text(finding: Finding, diff: Diff) -> str | None:
    f = diff.file(finding.path)
    if f is None or finding.line is None:
        return None
    return f.line_text(finding.side, finding.line)
