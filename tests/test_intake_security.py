"""The web edge under hostile input: every malformed request is a 4xx that stores nothing."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.adapters.ledger import SqlLedger
from bot.adapters.queue_rows import Incoming
from bot.adapters.queue_sql import SqlQueue
from bot.core.logs import REDACTED
from bot.events import parse_event
from bot.intake.web import MAX_BODY_BYTES, GroupCommit, create_app, valid_signature
from tests.support.databases import database_url
from tests.support.intake import SECRET, Delivery, example, post_all, post_each, rows, sign, stream

LABELED = {**example("issues", "labeled.payload.json"), "installation": {"id": 42}}
BODY = json.dumps(LABELED).encode()


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from database_url(request.param, tmp_path)


@pytest.fixture
def queue(url: str) -> Iterator[SqlQueue]:
    with SqlLedger(url) as ledger:
        queue = SqlQueue(ledger)
        queue.counts()  # creates the tables, so an empty database can be counted
        yield queue


@pytest.fixture
def app(queue: SqlQueue) -> Any:
    return create_app(secret=SECRET, queue=queue)


def nothing_stored(url: str) -> bool:
    return rows(url) == ([], [])


# --- signatures ------------------------------------------------------------------------


def test_githubs_documented_signature_test_vector():
    # https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
    secret, payload = b"It's a Secret to Everybody", b"Hello, World!"
    header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert valid_signature(secret, payload, header)
    assert not valid_signature(secret, payload + b" ", header)


def test_the_test_vector_passes_the_signature_check_of_the_app(queue):
    app = create_app(secret="It's a Secret to Everybody", queue=queue)
    header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    (response,) = post_each(app, [Delivery(b"Hello, World!", signature=header)])
    # Authenticated, then refused as what it is: not JSON.
    assert response.status_code == 400 and "JSON" in response.json()["message"]


def _digest(body: bytes, secret: str = SECRET, algorithm: str = "sha256") -> str:
    return hmac.new(secret.encode(), body, algorithm).hexdigest()


RIGHT = _digest(BODY)
BAD_SIGNATURES: dict[str, str | bytes | None] = {
    "missing": None,
    "empty": "",
    "prefix-only": "sha256=",
    "zeros": "sha256=" + "0" * 64,
    "63-hex": "sha256=" + RIGHT[:-1],
    "65-hex": "sha256=" + RIGHT + "0",
    "doubled": "sha256=" + RIGHT + RIGHT,
    "uppercase-hex": "sha256=" + RIGHT.upper(),
    "uppercase-prefix": "SHA256=" + RIGHT,
    "colon-separator": "sha256:" + RIGHT,
    "no-prefix": RIGHT,
    "sha1-of-body": "sha1=" + _digest(BODY, algorithm="sha1"),
    "sha512-of-body": "sha512=" + _digest(BODY, algorithm="sha512"),
    "wrong-secret": "sha256=" + _digest(BODY, "wrong secret"),
    "empty-secret": "sha256=" + _digest(BODY, ""),
    "other-body": "sha256=" + _digest(b"{}"),
    "body-plus-newline": "sha256=" + _digest(BODY + b"\n"),
    "truncated-body": "sha256=" + _digest(BODY[:-1]),
    "plain-sha256-no-key": "sha256=" + hashlib.sha256(BODY).hexdigest(),
    "0x-hex": "sha256=0x" + RIGHT[2:],
    "trailing-garbage": "sha256=" + RIGHT + ";x",
    "latin1-byte": b"sha256=" + RIGHT[:-1].encode() + b"\xe9",
    "utf8-non-ascii": b"sha256=" + RIGHT[:-2].encode() + "é".encode(),
    "all-non-ascii": "é".encode() * 35,
    "base64": "sha256=" + "dXNlcjpwYXNz" * 4,
    "tab-inside": "sha256=\t" + RIGHT,
}


@pytest.mark.parametrize("signature", BAD_SIGNATURES.values(), ids=BAD_SIGNATURES.keys())
def test_bad_signature_is_401_and_stores_nothing(app, url, signature):
    delivery = Delivery(BODY, signature=signature, unsigned=signature is None)
    (response,) = post_each(app, [delivery])
    assert response.status_code == 401
    assert response.json() == {"message": "missing or invalid X-Hub-Signature-256"}
    assert nothing_stored(url)


def test_the_right_signature_of_the_same_body_is_accepted(app, url):
    (response,) = post_each(app, [Delivery(BODY, signature="sha256=" + RIGHT)])
    assert response.status_code == 202
    assert rows(url)[0] == ["d-1"]


# --- hostile but validly signed bodies -------------------------------------------------


def _with(path: str, value: object, base: dict[str, Any] | None = None) -> bytes:
    """``base`` (the labeled issue) with the value at a dotted path replaced."""
    data = json.loads(json.dumps(base if base is not None else LABELED))
    *parents, last = path.split(".")
    node = data
    for name in parents:
        node = node[name]
    node[last] = value
    return json.dumps(data).encode()


def _raw(path: str, literal: str) -> bytes:
    """The labeled issue with a raw JSON literal (a huge number, an escape) at ``path``."""
    marker = "__marker__"
    return _with(path, marker).replace(f'"{marker}"'.encode(), literal.encode())


CHECK_SUITE = example("check_suite", "completed.payload.json")
HOSTILE_BODIES: dict[str, tuple[bytes, str]] = {
    "deep-arrays": (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    "deep-objects": (b'{"a":' * 5_000 + b"1" + b"}" * 5_000, "nested too deeply"),
    "moderately-deep-value": (_with("issue.body", json.loads("[" * 200 + "]" * 200)), "deep"),
    "5000-digit-number": (_raw("issue.number", "9" * 5000), "not valid JSON"),
    "5000-digit-elsewhere": (_raw("issue.comments", "9" * 5000), "not valid JSON"),
    "4000-digit-number": (_raw("issue.number", "9" * 4000), "issue.number"),
    "negative-number": (_with("issue.number", -1), "issue.number"),
    "huge-installation-id": (_with("installation.id", 2**64), "installation.id"),
    "NaN": (_raw("issue.comments", "NaN"), "not valid JSON"),
    "Infinity": (_raw("issue.comments", "-Infinity"), "not valid JSON"),
    "float-overflow": (_raw("issue.comments", "1e999"), "finite"),
    "lone-surrogate-title": (_raw("issue.title", '"a\\ud800b"'), "surrogate"),
    "lone-surrogate-action": (_raw("action", '"\\udfff"'), "payload.action"),
    "lone-surrogate-key": (_raw("issue.title", '{"\\ud83d": 1}'), "surrogate"),
    "lone-surrogate-repo": (_raw("repository.name", '"r\\ud800"'), "surrogate"),
    "uppercase-surrogate-escape": (_raw("issue.body", '"\\uDBFF"'), "surrogate"),
    "surrogate-after-a-valid-pair": (_raw("issue.body", '"\\ud83d\\ude00\\udc00"'), "surrogate"),
    "nul-escape-in-a-key": (_raw("issue.body", '{"a\\u0000": 1}'), "NUL"),
    "nul-in-body": (_with("issue.body", "before\x00after"), "NUL"),
    "nul-in-action": (_with("action", "labeled\x00"), "payload.action"),
    "nul-in-repo-name": (_with("repository.name", "r\x00"), "NUL"),
    "long-action": (_with("action", "a" * 65), "action"),
    "action-with-spaces": (_with("action", "labeled; drop table"), "action"),
    "action-is-object": (_with("action", {"x": 1}), "action"),
    "long-repo-name": (_with("repository.name", "r" * 101), "repository.name"),
    "repo-name-with-slash": (_with("repository.name", "a/b"), "repository.name"),
    "long-owner": (_with("repository.owner.login", "o" * 101), "repository.owner.login"),
    "not-utf8": (b'{"action": "labeled\xff"}', "not valid JSON"),
    "utf16": ('{"action": "labeled"}'.encode("utf-16"), "not valid JSON"),
    "top-level-array": (b"[1, 2]", "payload must be an object"),
    "top-level-string": (b'"labeled"', "payload must be an object"),
    "empty-body": (b"", "not valid JSON"),
    "truncated": (BODY[: len(BODY) // 2], "not valid JSON"),
}


@pytest.mark.parametrize(("body", "message"), HOSTILE_BODIES.values(), ids=HOSTILE_BODIES.keys())
def test_hostile_signed_body_is_400_with_a_reason_and_stores_nothing(app, url, body, message):
    (response,) = post_each(app, [Delivery(body)])
    assert response.status_code == 400, response.text
    assert message in response.json()["message"]
    assert nothing_stored(url)


def test_a_refusal_names_the_field_without_echoing_hostile_text(app, url):
    body = _with("issue.labels", [{"k\x00" + "y" * 10_000: 1}])
    (response,) = post_each(app, [Delivery(body)])
    assert response.status_code == 400
    message = response.json()["message"]
    assert message.startswith("malformed issues payload: payload.issue.labels[0].k\\u0000yyy")
    assert "NUL" in message and len(message) < 200


BAD_HEADERS: dict[str, dict[str, Any]] = {
    "no-event": {"event": None},
    "empty-event": {"event": ""},
    "long-event": {"event": "issues" * 11},
    "non-ascii-event": {"event": "issués".encode()},
    "event-with-space": {"event": "issues x"},
    "no-delivery": {"delivery": None},
    "empty-delivery": {"delivery": ""},
    "long-delivery": {"delivery": "d" * 65},
    "non-ascii-delivery": {"delivery": "dé-1".encode()},
    "delivery-with-quote": {"delivery": "d'1"},
    "bad-content-length": {"extra": {"Content-Length": "12ab"}},
    "superscript-digit-length": {"extra": {"Content-Length": b"1\xb2"}},
}


@pytest.mark.parametrize("change", BAD_HEADERS.values(), ids=BAD_HEADERS.keys())
def test_missing_or_odd_headers_are_400_and_store_nothing(app, url, change):
    (response,) = post_each(app, [Delivery(BODY, **change)])
    assert response.status_code == 400, response.text
    assert nothing_stored(url)


def test_an_unknown_event_with_a_hostile_action_stores_nothing(app, url):
    body = json.dumps({"action": "x" * 300}).encode()
    (response,) = post_each(app, [Delivery(body, event="star")])
    assert response.status_code == 400 and "action" in response.json()["message"]
    assert nothing_stored(url)


def test_a_258_character_branch_gets_a_bounded_job_key(app, url):
    branch = "feature/" + "b" * 250
    body = _with("check_suite.head_branch", branch, CHECK_SUITE)
    body = _with("check_suite.pull_requests", [], json.loads(body))
    same = [Delivery(body, event="check_suite", delivery=f"d-{i}") for i in range(2)]
    assert [r.status_code for r in post_each(app, same)] == [202, 202]
    _, jobs = rows(url)
    assert len(jobs) == 2 and jobs[0]["key"] == jobs[1]["key"]
    assert len(jobs[0]["key"]) <= 255 and jobs[0]["key"].startswith("Codertocat/Hello-World@")
    other = _with("check_suite.head_branch", branch + "x", json.loads(body))
    post_each(app, [Delivery(other, event="check_suite", delivery="d-other")])
    assert rows(url)[1][2]["key"] != jobs[0]["key"]  # a different branch, a different key


# --- the body is read with a cap while it streams --------------------------------------


async def _post_stream(app: Any, consumed: list[int], chunks: int, **headers: str) -> int:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as client:
        response = await client.post(
            "/webhook",
            content=stream(chunks, 1 << 20, consumed),
            headers={"X-GitHub-Event": "issues", "X-GitHub-Delivery": "d-big", **headers},
        )
        return response.status_code


def test_a_declared_oversize_body_is_413_before_any_of_it_is_read(app, url):
    consumed = [0]
    status = asyncio.run(
        _post_stream(
            app,
            consumed,
            100,
            **{"Content-Length": str(100 << 20), "X-Hub-Signature-256": sign(b"")},
        )
    )
    assert status == 413 and consumed[0] <= 1 << 20
    assert nothing_stored(url)


def test_a_chunked_oversize_body_is_413_once_the_cap_is_passed(app, url):
    consumed = [0]
    status = asyncio.run(_post_stream(app, consumed, 100, **{"X-Hub-Signature-256": sign(b"")}))
    assert status == 413
    assert MAX_BODY_BYTES < consumed[0] <= MAX_BODY_BYTES + (2 << 20)
    assert nothing_stored(url)


def test_a_body_without_a_well_formed_signature_is_never_read(app, url):
    consumed = [0]
    status = asyncio.run(_post_stream(app, consumed, 100, **{"X-Hub-Signature-256": "sha256=x"}))
    assert status == 401 and consumed[0] <= 1 << 20
    assert nothing_stored(url)


def test_a_client_that_disconnects_mid_body_stores_nothing(app, url):
    messages = iter([{"type": "http.request", "body": BODY[:10], "more_body": True}])
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return next(messages, {"type": "http.disconnect"})

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    headers = [(b"x-hub-signature-256", sign(BODY).encode()), (b"x-github-event", b"issues")]
    scope = {"type": "http", "method": "POST", "path": "/webhook", "headers": headers}
    asyncio.run(app({**scope, "query_string": b"", "root_path": ""}, receive, send))
    assert sent[0]["status"] == 400
    assert nothing_stored(url)


def test_a_large_signed_body_below_the_cap_is_stored_whole(app, url):
    big = _with("issue.body", "line of text\n" * 300_000)  # ~4 MB: spooled to disk on the way
    (response,) = post_each(app, [Delivery(big)])
    assert response.status_code == 202
    _, (job,) = rows(url)
    assert json.loads(job["payload"])["issue"]["body"] == "line of text\n" * 300_000


def test_a_signed_body_over_the_cap_is_413(app, url):
    over = _with("issue.body", "x" * MAX_BODY_BYTES)
    (response,) = post_each(app, [Delivery(over)])
    assert response.status_code == 413
    assert nothing_stored(url)


# --- one bad delivery never fails its neighbours ---------------------------------------


def _labeled(number: int) -> dict[str, Any]:
    return json.loads(_with("issue.number", number))


def test_a_poisoned_batch_stores_every_valid_neighbour(queue, url):
    """At the group commit itself: an item the database refuses fails alone."""
    writer = GroupCommit(queue)
    # NUL in a column: PostgreSQL refuses it; a lone surrogate: SQLite cannot encode it.
    poison = Incoming("d-bad", "issues", "labeled\x00\ud800", "o/r#\x00\ud800", {"a": 1})
    items = [Incoming(f"d-{i}", "issues", "labeled", f"o/r#{i}", _labeled(i)) for i in range(59)]
    items.insert(30, poison)

    async def submit_all() -> list[object]:
        return await asyncio.gather(*(writer.submit(i) for i in items), return_exceptions=True)

    results = asyncio.run(submit_all())
    bad = results.pop(30)
    assert isinstance(bad, Exception)
    assert all(getattr(r, "outcome", None) == "queued" for r in results), results
    deliveries, jobs = rows(url)
    assert sorted(deliveries) == sorted(f"d-{i}" for i in range(59))
    assert len(jobs) == 59


def test_sixty_concurrent_deliveries_with_one_hostile_all_valid_ones_stored(app, url):
    deliveries = [Delivery.of(_labeled(i + 1), delivery=f"d-{i}") for i in range(59)]
    long_branch = _with("check_suite.head_branch", "b" * 258, CHECK_SUITE)
    deliveries.insert(17, Delivery(_raw("issue.title", '"\\ud800"'), delivery="d-bad"))
    deliveries.insert(40, Delivery(long_branch, event="check_suite", delivery="d-branch"))
    responses = post_each(app, deliveries)
    codes = [r.status_code for r in responses]
    assert codes.pop(17) == 400
    assert codes == [202] * 60
    stored, jobs = rows(url)
    assert "d-bad" not in stored and len(stored) == 60 and len(jobs) == 60


def test_a_database_that_is_down_is_503_never_202(tmp_path, caplog):
    for down in (
        f"sqlite:///{tmp_path}",  # a folder: SQLite cannot open it
        "postgresql+psycopg://postgres@127.0.0.1:1/test",  # nothing listens there
    ):
        with SqlLedger(down) as ledger:
            app = create_app(secret=SECRET, queue=SqlQueue(ledger))
            issue, star = post_each(
                app, [Delivery(BODY), Delivery.of({"action": "x"}, event="star")]
            )
        assert issue.status_code == 503 and "database unavailable" in issue.json()["message"]
        assert issue.headers["Retry-After"]
        assert star.status_code == 503
        assert "delivery d-1 not stored" in caplog.text  # the operator sees why


# --- stored payloads are scrubbed ------------------------------------------------------


def test_stored_payload_strings_are_scrubbed_and_identifiers_kept(app, url):
    run = example("check_run", "completed.payload.json")
    run["check_run"]["output"]["text"] = "export OPENAI_API_KEY=sk-abcdefghijklmnopqrstuvwx"
    run["check_run"]["output"]["summary"] = ["token ghp_abcdefghijklmnopqrstuvwxyz0123"]
    (response,) = post_each(app, [Delivery.of(run, event="check_run")])
    assert response.status_code == 202
    _, (job,) = rows(url)
    stored = json.loads(job["payload"])
    assert "sk-abcdef" not in job["payload"] and "ghp_abc" not in job["payload"]
    assert REDACTED in stored["check_run"]["output"]["text"]
    before, after = parse_event("check_run", "d", run), parse_event("check_run", "d", stored)
    assert (after.key, after.head_sha, after.head_branch) == (
        before.key,
        before.head_sha,
        before.head_branch,
    )


def test_a_stronger_redact_keeps_what_handlers_match_on(queue, url):
    hex40 = re.compile(r"\b[0-9a-f]{40}\b")
    app = create_app(secret=SECRET, queue=queue, redact=lambda s: hex40.sub("[X]", s))
    suite = example("check_suite", "completed.payload.json")
    suite["check_suite"]["head_commit"]["message"] = "see " + "a" * 40
    (response,) = post_each(app, [Delivery.of(suite, event="check_suite")])
    assert response.status_code == 202
    stored = json.loads(rows(url)[1][0]["payload"])
    assert stored["check_suite"]["head_commit"]["message"] == "see [X]"
    event = parse_event("check_suite", "d", stored)
    assert event.head_sha == suite["check_suite"]["head_sha"]
    assert event.key == parse_event("check_suite", "d", suite).key


def test_links_are_kept_only_when_github_built_them(queue, url):
    token = "ghp_" + "t" * 36
    app = create_app(secret=SECRET, queue=queue, redact=lambda s: s.replace(token, "[X]"))
    run = example("check_run", "completed.payload.json")
    api = run["check_run"]["url"]  # https://api.github.com/repos/Codertocat/Hello-World/...
    run["check_run"]["details_url"] = f"https://ci.example.com/builds/{token}"
    run["check_run"]["html_url"] = f"https://x-access-token:{token}@github.com/o/r"
    run["check_run"]["app"]["external_url"] = f"https://api.github.com/search?q={token}"
    (response,) = post_each(app, [Delivery.of(run, event="check_run")])
    assert response.status_code == 202
    stored = json.loads(rows(url)[1][0]["payload"])["check_run"]
    assert token not in json.dumps(stored)
    assert stored["details_url"] == "https://ci.example.com/builds/[X]"
    assert stored["url"] == api  # on the repository's own API host: not free text


def test_redaction_runs_once_per_distinct_string(queue):
    seen: list[str] = []

    def counting(text: str) -> str:
        seen.append(text)
        return text

    app = create_app(secret=SECRET, queue=queue, redact=counting)
    pull = example("pull_request", "opened.payload.json")
    (response,) = post_each(app, [Delivery.of(pull, event="pull_request")])
    assert response.status_code == 202
    assert len(seen) == len(set(seen)) and "Update the README with new information." in seen
    links = [text for text in seen if text.startswith("https://api.github.com/")]
    assert links == [], "links GitHub built for the repository's own hosts are not free text"


def test_concurrent_requests_share_one_writer(queue, url):
    app = create_app(secret=SECRET, queue=queue)
    responses = asyncio.run(
        post_all(app, [Delivery.of(_labeled(i + 1), delivery=f"d-{i}") for i in range(40)])
    )
    assert {r.status_code for r in responses} == {202}
    assert len(rows(url)[1]) == 40
