"""Secret scrubbing and log excerpts."""

from __future__ import annotations

import pytest

from bot.core.logs import excerpt, scrub

SECRETS = [
    "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    "github_pat_11ABCDEFG0123456789_abcdefghijklmnop",
    "sk-proj-abcdefghijklmnopqrstuv",
    "AKIAABCDEFGHIJKLMNOP",
    "xoxb-1234567890-abcdef",
]


@pytest.mark.parametrize("secret", SECRETS)
def test_known_token_shapes_are_scrubbed(secret):
    assert secret not in scrub(f"using {secret} now")


@pytest.mark.parametrize(
    "line", ["password=hunter2", "DB_PASSWORD: 'hunter2'", "api_key = hunter2", "token=hunter2"]
)
def test_assigned_secrets_are_scrubbed(line):
    out = scrub(line)
    assert "hunter2" not in out and "[REDACTED]" in out


def test_excerpt_keeps_errors_with_context_and_tail():
    log = "\n".join([f"line {i}" for i in range(200)])
    log = log.replace("line 50", "E   AssertionError: boom")
    out = excerpt(log, context=2, tail=5)
    assert "line 48" in out and "AssertionError: boom" in out and "line 52" in out
    assert "line 199" in out and "line 100" not in out
    assert "lines omitted" in out


def test_excerpt_is_bounded():
    out = excerpt("error\n" * 10_000, max_chars=500)
    assert len(out) < 600
