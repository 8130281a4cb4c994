"""Fault injection: make a route fail, throttle or stall the next N times, as GitHub sometimes does.

A rule matches ``METHOD path`` with shell-style wildcards, where the path is the REST path
after ``/api/v3`` (``/repos/o/r/issues/*/comments``) or the git path (``/o/r.git/*``).
"""

from __future__ import annotations

import fnmatch
import threading
from dataclasses import dataclass, field
from typing import Any

SECONDARY_RATE_LIMIT_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID."
)
SECONDARY_RATE_LIMIT_DOCS = (
    "https://docs.github.com/free-pro-team@latest/rest/overview/"
    "rate-limits-for-the-rest-api#about-secondary-rate-limits"
)
PRIMARY_RATE_LIMIT_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"


@dataclass
class Fault:
    """What to do instead of (or before) answering: ``kind`` is one of the constructors below."""

    kind: str  # "status" | "rate_limit" | "secondary_rate_limit" | "delay"
    status: int = 500
    retry_after: int | None = None
    seconds: float = 0.0
    message: str = ""


def server_error(status: int = 502, message: str = "Server Error") -> Fault:
    return Fault("status", status=status, message=message)


def rate_limited(retry_after: int = 1) -> Fault:
    """429 with ``retry-after`` and an exhausted primary limit, as GitHub throttles."""
    return Fault(
        "rate_limit",
        status=429,
        retry_after=retry_after,
        message="API rate limit exceeded for installation.",
    )


def secondary_rate_limited(retry_after: int = 1) -> Fault:
    """403 with ``retry-after``: GitHub's secondary (abuse) rate limit."""
    return Fault(
        "secondary_rate_limit",
        status=403,
        retry_after=retry_after,
        message=SECONDARY_RATE_LIMIT_MESSAGE,
    )


def slow(seconds: float) -> Fault:
    """Answer normally, ``seconds`` late."""
    return Fault("delay", seconds=seconds)


@dataclass
class Rule:
    method: str
    path: str
    fault: Fault
    times: int | None  # None: forever
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        return (self.method in ("*", method.upper())) and fnmatch.fnmatchcase(path, self.path)


@dataclass
class DropRule:
    event: str | None
    action: str | None
    times: int | None
    hits: int = 0


@dataclass
class Faults:
    """The active rules; each use counts down and spent rules stop matching."""

    rules: list[Rule] = field(default_factory=list)
    drops: list[DropRule] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, method: str, path: str, fault: Fault, *, times: int | None = 1) -> Rule:
        rule = Rule(method.upper(), path, fault, times)
        with self._lock:
            self.rules.append(rule)
        return rule

    def drop_webhooks(
        self, *, event: str | None = None, action: str | None = None, times: int | None = 1
    ) -> DropRule:
        """Lose the next ``times`` deliveries (of ``event``/``action``, if given)."""
        rule = DropRule(event, action, times)
        with self._lock:
            self.drops.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()
            self.drops.clear()

    def take(self, method: str, path: str) -> Fault | None:
        """The fault for this request, if a live rule matches; counts the use."""
        with self._lock:
            for rule in self.rules:
                if (rule.times is None or rule.hits < rule.times) and rule.matches(method, path):
                    rule.hits += 1
                    return rule.fault
        return None

    def should_drop(self, event: str, action: str | None) -> bool:
        with self._lock:
            for rule in self.drops:
                live = rule.times is None or rule.hits < rule.times
                if (
                    live
                    and rule.event in (None, event)
                    and (rule.action is None or rule.action == action)
                ):
                    rule.hits += 1
                    return True
        return False


def error_body(fault: Fault) -> dict[str, Any]:
    if fault.kind == "secondary_rate_limit":
        return {
            "message": fault.message,
            "documentation_url": SECONDARY_RATE_LIMIT_DOCS,
            "status": str(fault.status),
        }
    if fault.kind == "rate_limit":
        return {
            "message": fault.message,
            "documentation_url": PRIMARY_RATE_LIMIT_DOCS,
            "status": str(fault.status),
        }
    return {"message": fault.message or "Server Error", "status": str(fault.status)}
