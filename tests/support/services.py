"""Skip, or fail, tests that need an outside service (PostgreSQL, Redis, ...) that is absent.

A developer's machine may lack the service, so the test skips with the reason. CI sets
``TIERBOT_REQUIRE_SERVICES=1`` so that a missing service fails the run instead of silently
skipping the tests that were meant to cover it.
"""

from __future__ import annotations

import os
import socket

import pytest

REQUIRE_ENV = "TIERBOT_REQUIRE_SERVICES"


def services_required() -> bool:
    return os.environ.get(REQUIRE_ENV, "").strip() not in ("", "0", "false", "no")


def require_service(name: str, reachable: bool, reason: str) -> None:
    """Return if ``reachable``; otherwise skip (or fail under TIERBOT_REQUIRE_SERVICES=1)."""
    if reachable:
        return
    message = f"{name} unavailable: {reason}"
    if services_required():
        pytest.fail(f"{message} ({REQUIRE_ENV}=1 requires it)", pytrace=False)
    pytest.skip(message)


def tcp_reachable(host: str, port: int, *, timeout: float = 1.0) -> bool:
    """Whether something accepts TCP connections at ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
