"""Secret scrubbing and log excerpts."""

from __future__ import annotations

import io
import json
import logging
import urllib.parse

import pytest

from bot.core.logs import (
    REDACTED,
    RedactingFilter,
    Redactor,
    excerpt,
    redact_json,
    scrub,
    scrub_tokens,
)
from tests.support import planted

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


# -- every format of a planted secret ----------------------------------------------------------


def test_scrub_removes_every_format_a_log_can_leak_in():
    # The process's own values are the Redactor's job; without them only shapes and names.
    out = scrub(planted.log_text({}))

    assert planted.leaks(out, {}) == []
    assert planted.MARKER in out and "AssertionError: the planted log ends here" in out
    assert "git.example.com/app.git" in out  # a URL keeps its host
    assert '"region": "eu"' in out


def test_a_private_key_cut_before_its_end_line_loses_every_body_line():
    pem = planted.private_key_pem(2)
    cut = pem.split("-----END")[0] + "Traceback (most recent call last):\n"

    out = scrub(cut)

    assert [line for line in planted.pem_body_lines(pem)[:-1] if line in out] == []
    assert "Traceback (most recent call last):" in out


def test_a_private_key_in_a_timestamped_ci_log_is_removed_and_the_next_line_kept():
    pem = planted.private_key_pem(1)
    log = "\n".join(f"2024-05-01T12:00:00.1234567Z {line}" for line in pem.splitlines()[:6])
    log += "\n2024-05-01T12:00:01.0000000Z ##[error]Process completed with exit code 1."

    out = scrub(log)

    assert [line for line in planted.pem_body_lines(pem)[:5] if line in out] == []
    assert out.endswith("##[error]Process completed with exit code 1.")


@pytest.mark.parametrize(
    "document",
    [
        {"api_key": "s3cr3t-value", "n": 1},
        {"log": json.dumps({"client_secret": "s3cr3t-value"})},  # JSON inside a JSON string
        {"detail": "token=s3cr3t-value", "next": "kept"},
        {"key": planted.private_key_pem(1)},
        {"clone": "https://x:s3cr3t-value@example.com/a.git"},
    ],
)
def test_scrubbed_json_is_still_json(document):
    out = scrub(json.dumps(document))

    assert "s3cr3t-value" not in out and "MII" not in out
    assert isinstance(json.loads(out), dict)


def test_code_keeps_its_assignments_under_scrub_tokens():
    code = "token = get_token()\npassword = request.form['password']\nkey = ghp_" + "a1" * 18

    out = scrub_tokens(code)

    assert "token = get_token()" in out and "request.form['password']" in out
    assert "ghp_" not in out


# -- the exact values a process holds -------------------------------------------------------


def test_redactor_removes_known_values_in_every_spelling():
    pem = planted.private_key_pem(0)
    redact = Redactor(["p@ss/word+long", pem, "short"])
    text = " ".join(
        [
            "p@ss/word+long",
            json.dumps("p@ss/word+long"),
            urllib.parse.quote("p@ss/word+long", safe=""),
            json.dumps({"pem": pem}),
            "short",
        ]
    )

    out = redact.values(text)

    assert "p@ss/word+long" not in out and "p%40ss" not in out
    assert [line for line in planted.pem_body_lines(pem) if len(line) >= 8 and line in out] == []
    assert "short" in out  # under MIN_SECRET_CHARS: not worth the false positives


def test_redactor_strengths_differ_only_in_the_name_rule():
    redact = Redactor(["known-value-123"])
    text = "password = load()  known-value-123  " + planted.SK_KEY

    assert redact.values(text) == f"password = load()  {REDACTED}  {planted.SK_KEY}"
    assert redact.tokens(text) == f"password = load()  {REDACTED}  {REDACTED}"
    assert redact(text) == f"password = {REDACTED}  {REDACTED}  {REDACTED}"


def test_minted_tokens_are_remembered_until_many_newer_ones_exist():
    redact = Redactor(["lasting-secret-1"], keep_minted=2)
    for token in ("minted-token-1", "minted-token-2", "minted-token-3"):
        redact.add_minted(token)

    out = redact("lasting-secret-1 minted-token-1 minted-token-2 minted-token-3")

    assert out == f"{REDACTED} minted-token-1 {REDACTED} {REDACTED}"


def test_the_longest_known_value_wins_when_one_contains_another():
    redact = Redactor(["abcdefgh", "abcdefgh-and-more"])

    assert redact.values("x abcdefgh-and-more y") == f"x {REDACTED} y"


def test_redact_json_keeps_keys_and_structure():
    redact = Redactor(["known-value-123"])
    state = {"task": {"text": "uses known-value-123"}, "n": 3, "items": ["known-value-123", None]}

    assert redact_json(state, redact.tokens) == {
        "task": {"text": f"uses {REDACTED}"},
        "n": 3,
        "items": [REDACTED, None],
    }


def test_log_filter_redacts_arguments_and_tracebacks():
    redact = Redactor(["known-value-123"])
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter(redact))
    logger = logging.getLogger("tierbot.test_logs")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("calling with %s and %s", "known-value-123", planted.GH_TOKEN)
        try:
            raise RuntimeError("failed with known-value-123")
        except RuntimeError:
            logger.exception("job failed")
    finally:
        logger.removeHandler(handler)

    written = stream.getvalue()
    assert "known-value-123" not in written and planted.GH_TOKEN not in written
    assert "calling with [REDACTED] and [REDACTED]" in written
    assert "RuntimeError: failed with [REDACTED]" in written


def test_excerpt_applies_the_redactor_it_is_given():
    redact = Redactor(["known-value-123"])

    out = excerpt("error: known-value-123\n", redact=redact)

    assert out == f"error: {REDACTED}"


def test_a_private_key_body_cut_from_its_begin_line_is_scrubbed():
    """CI keeps a log's tail: the BEGIN line may be gone while the body lines remain."""
    from tests.support.planted import pem_body_lines, private_key_pem

    body = pem_body_lines(private_key_pem(4))
    log = "step 3\n" + "\n".join(body[4:]) + "\n-----END RSA PRIVATE KEY-----\nE   boom\n"
    out = scrub(log)
    assert all(line not in out for line in body[4:-1])
    assert out.startswith("step 3\n") and "E   boom" in out


def test_hex_digests_are_not_taken_for_a_key_body():
    digests = ("0123456789abcdef" * 4 + "\n") * 3
    assert scrub(digests) == digests


def test_log_filter_keeps_plain_arguments_for_formatters_that_read_them():
    # uvicorn's access formatter unpacks record.args: it must find them, redacted.
    from uvicorn.logging import AccessFormatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter(Redactor(["known-value-123"])))
    handler.setFormatter(AccessFormatter('%(client_addr)s "%(request_line)s" %(status_code)s'))
    logger = logging.getLogger("tierbot.test_logs.access")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    try:
        args = ("127.0.0.1:5", "GET", "/x?key=known-value-123", "1.1", 200)
        logger.info('%s - "%s %s HTTP/%s" %d', *args)
    finally:
        logger.removeHandler(handler)

    written = stream.getvalue()
    assert "Logging error" not in written and "known-value-123" not in written
    assert '"GET /x?key=[REDACTED] HTTP/1.1" 200' in written
