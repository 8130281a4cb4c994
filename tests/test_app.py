"""Webhook intake: signature before parsing, dedupe, durable jobs, clear statuses."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from bot.adapters.ledger import SqlLedger
from bot.adapters.queue_rows import FAILED, QUEUED
from bot.adapters.queue_sql import SqlQueue
from bot.intake.web import create_app, valid_signature

SECRET = "s3cret"
LABELED = {
    "action": "labeled",
    "label": {"name": "tierbot:stub"},
    "issue": {"number": 7, "title": "Add a stub", "body": "Create src/a.py"},
    "repository": {"name": "r", "owner": {"login": "o"}, "default_branch": "main"},
    "sender": {"login": "alice", "type": "User"},
    "installation": {"id": 42},
}


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@pytest.fixture
def queue(tmp_path: Path) -> SqlQueue:
    return SqlQueue(SqlLedger(f"sqlite:///{tmp_path / 'l.db'}"))


@pytest.fixture
def client(queue: SqlQueue) -> TestClient:
    return TestClient(create_app(secret=SECRET, queue=queue))


def post(
    client: TestClient,
    payload: object,
    *,
    event: str = "issues",
    delivery: str = "d-1",
    body: bytes | None = None,
    signature: str | None = None,
):
    raw = body if body is not None else json.dumps(payload).encode()
    headers = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": signature if signature is not None else sign(raw),
        "Content-Type": "application/json",
    }
    return client.post("/webhook", content=raw, headers=headers)


def test_labeled_issue_is_queued(client, queue):
    response = post(client, LABELED)
    assert response.status_code == 202 and response.json()["message"] == "queued"
    assert queue.counts() == {QUEUED: 1}
    job = queue.claim("w")
    assert job is not None and job.key == "o/r#7" and job.payload == LABELED


@pytest.mark.parametrize(
    "signature",
    ["", "sha256=" + "0" * 64, "sha1=abc", sign(b"other body"), sign(b"x", "wrong secret")],
    ids=["missing", "zeros", "sha1", "other-body", "wrong-secret"],
)
def test_bad_signature_is_401_and_no_job(client, queue, signature):
    response = post(client, LABELED, signature=signature)
    assert response.status_code == 401
    assert queue.counts() == {}


def test_signature_is_checked_before_parsing(client, queue):
    response = post(client, None, body=b"{not json", signature="sha256=bad")
    assert response.status_code == 401


def test_malformed_json_is_400(client, queue):
    assert post(client, None, body=b"{not json").status_code == 400
    assert queue.counts() == {}


def test_payload_missing_fields_is_400(client, queue):
    broken = {**LABELED, "issue": {"title": "no number"}}
    response = post(client, broken)
    assert response.status_code == 400 and "issue.number" in response.json()["message"]
    assert queue.counts() == {}


def test_missing_delivery_header_is_400(client):
    raw = json.dumps(LABELED).encode()
    response = client.post(
        "/webhook",
        content=raw,
        headers={"X-GitHub-Event": "issues", "X-Hub-Signature-256": sign(raw)},
    )
    assert response.status_code == 400


def test_ping_is_200(client, queue):
    response = post(client, {"zen": "Keep it logically awesome."}, event="ping")
    assert response.status_code == 200 and queue.counts() == {}


def test_unknown_event_is_202_and_ignored(client, queue):
    response = post(client, {"action": "created"}, event="star", delivery="d-star")
    assert response.status_code == 202 and "ignored" in response.json()["message"]
    assert queue.counts() == {}
    assert queue.delivery_status("d-star") == "ignored"


def test_twenty_redeliveries_make_one_job(client, queue):
    for _ in range(21):
        assert post(client, LABELED).status_code == 202
    assert queue.counts() == {QUEUED: 1}


def test_redelivery_of_a_failed_delivery_runs_again(client, queue):
    post(client, LABELED)
    job = queue.claim("w")
    assert job is not None
    queue.fail(job, "GitHub was down", retry_in_s=None)
    assert queue.delivery_status("d-1") == FAILED
    assert post(client, LABELED).json()["message"] == "queued"


def test_healthz(client):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_empty_secret_is_refused(queue):
    with pytest.raises(ValueError, match="TIERBOT_WEBHOOK_SECRET"):
        create_app(secret="", queue=queue)


def test_valid_signature_constant_time_helper():
    assert valid_signature(b"k", b"body", sign(b"body", "k"))
    assert not valid_signature(b"k", b"body", None)


def test_the_web_process_never_imports_litellm():
    code = (
        "import sys, bot.intake.web, bot.worker, bot.events; "
        "print('litellm' in sys.modules, file=sys.stderr)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stderr.strip() == "False"


def test_concurrent_deliveries_share_commits_and_all_are_stored(queue):
    import asyncio
    import uuid

    import httpx

    batches: list[int] = []
    original = queue.accept_many

    def counting(items):
        batches.append(len(items))
        return original(items)

    queue.accept_many = counting
    app = create_app(secret=SECRET, queue=queue)
    raw = json.dumps(LABELED).encode()

    async def send_all() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:

            async def one() -> int:
                response = await client.post(
                    "/webhook",
                    content=raw,
                    headers={
                        "X-GitHub-Event": "issues",
                        "X-GitHub-Delivery": str(uuid.uuid4()),
                        "X-Hub-Signature-256": sign(raw),
                    },
                )
                return response.status_code

            return await asyncio.gather(*(one() for _ in range(64)))

    codes = asyncio.run(send_all())
    assert codes == [202] * 64
    assert sum(batches) == 64 and max(batches) > 1
    assert queue.counts() == {QUEUED: 64}


def test_a_database_failure_is_a_500_never_a_202(queue):
    def broken(items):
        raise RuntimeError("disk full")

    queue.accept_many = broken
    client = TestClient(create_app(secret=SECRET, queue=queue), raise_server_exceptions=False)
    assert post(client, LABELED).status_code == 500
