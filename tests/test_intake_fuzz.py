"""5,000 fuzzed webhook requests on SQLite and on PostgreSQL: no 5xx, nothing stored unsigned,
and every stored job is one a worker can parse."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.ledger import SqlLedger
from bot.adapters.queue_sql import SqlQueue
from bot.events import parse_event
from bot.intake.web import create_app
from tests.support.databases import database_url
from tests.support.intake import SECRET, Delivery, example, post_each, rows

REQUESTS = 5_000
SEED = 20_260_901
BASES: list[tuple[str, dict[str, Any]]] = [
    ("issues", {**example("issues", "labeled.payload.json"), "installation": {"id": 42}}),
    ("issues", example("issues", "opened.payload.json")),
    ("issue_comment", example("issue_comment", "created.payload.json")),
    ("pull_request", example("pull_request", "opened.payload.json")),
    ("pull_request", example("pull_request", "labeled.payload.json")),
    ("check_suite", example("check_suite", "completed.payload.json")),
    ("check_run", example("check_run", "completed.payload.json")),
    ("workflow_run", example("workflow_run", "completed.payload.json")),
    ("workflow_job", example("workflow_job", "completed.success.with-organization.payload.json")),
    ("installation", example("installation", "created.payload.json")),
    ("ping", example("ping", "payload.json")),
    ("push", example("push", "payload.json")),
]
HOSTILE_VALUES: list[Any] = [
    None,
    True,
    -1,
    0,
    2**63,
    2**64,
    10**4000,
    1.5,
    "",
    "x" * 300,
    "é" * 300,
    "a\x00b",
    "tierbot/issue-" + "9" * 40,
    "tierbot/issue-7",
    "b/" * 200,
    "../../etc/passwd",
    "🎉" * 70,
    "ghp_" + "a" * 36,
    "api_key=sk-" + "b" * 30,
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEow",
    [],
    {},
    [[[]]],
    {"number": "7"},
    {"k\x00" + "y" * 500: 1},
    {"\u2028": "\ufeff"},
    [{"number": 2**70}],
    json.loads("[" * 120 + "]" * 120),
]
RAW_LITERALS = [
    "9" * 5000,
    "NaN",
    "-Infinity",
    "1e999",
    '"\\ud800"',
    '"\\udfff\\u0000"',
    '{"\\ud83d": 1}',
    "[" * 3000 + "]" * 3000,
]
BAD_HEADER_VALUES: list[str | bytes] = ["", "x" * 65, "a b", "é".encode(), "d'1", "\t"]


class Fuzzer:
    """Requests built from recorded payloads, mutated by a seeded generator."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.sent_ids: list[str] = []

    def request(self, number: int) -> tuple[Delivery, bool]:
        """A request and whether it carries a valid signature."""
        rng = self.rng
        event, payload = rng.choice(BASES)
        body = self.body(json.loads(json.dumps(payload)))
        delivery: str | bytes = str(uuid.UUID(int=rng.getrandbits(128)))
        roll = rng.random()
        if roll < 0.05:
            delivery = rng.choice(BAD_HEADER_VALUES)
        elif roll < 0.10 and self.sent_ids:
            delivery = rng.choice(self.sent_ids)  # a redelivery, perhaps of other content
        header_event: str | bytes = event
        if rng.random() < 0.07:
            header_event = rng.choice([*BAD_HEADER_VALUES, "star", "Issues", "check_run"])
        signed = rng.random() < 0.8
        if not signed:
            delivery = f"u-{number}"  # no row may ever carry this id
        elif isinstance(delivery, str):
            self.sent_ids.append(delivery)
        request = Delivery(body, event=header_event, delivery=delivery)
        if not signed:
            request.signature = self.bad_signature(body)
            request.unsigned = request.signature is None
        if rng.random() < 0.02:
            request.extra["Content-Length"] = rng.choice(["-1", "abc", "99999999999", "1e3"])
        return request, signed

    def body(self, payload: dict[str, Any]) -> bytes:
        rng = self.rng
        for _ in range(rng.choice([0, 1, 1, 2, 3])):
            parent, key = self.pick(payload)
            if isinstance(parent, dict) and rng.random() < 0.2:
                parent.pop(key, None)
            else:
                parent[key] = copy.deepcopy(rng.choice(HOSTILE_VALUES))
        raw = json.dumps(payload).encode()
        roll = rng.random()
        if roll < 0.08:
            parent, key = self.pick(payload)
            parent[key] = "__raw__"
            literal = rng.choice(RAW_LITERALS)
            raw = json.dumps(payload).encode().replace(b'"__raw__"', literal.encode())
        elif roll < 0.12:
            raw = raw[: rng.randrange(len(raw))]
        elif roll < 0.15:
            flipped = bytearray(raw)
            for _ in range(rng.randint(1, 4)):
                flipped[rng.randrange(len(flipped))] = rng.randrange(256)
            raw = bytes(flipped)
        return raw

    def pick(self, payload: dict[str, Any]) -> tuple[Any, Any]:
        """A random (container, key or index) inside the payload, walking down at random."""
        node: Any = payload
        parent, key = payload, self.rng.choice(list(payload) or ["action"])
        while isinstance(node, dict | list) and node:
            parent = node
            key = self.rng.choice(list(node) if isinstance(node, dict) else range(len(node)))
            node = node[key]
            if self.rng.random() < 0.3:
                break
        return parent, key

    def bad_signature(self, body: bytes) -> str | bytes | None:
        right = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        wrong = hmac.new(b"guess", body, hashlib.sha256).hexdigest()
        return self.rng.choice(
            [
                None,
                "",
                "sha256=" + wrong,
                "sha256=" + right[:-1] + ("0" if right[-1] != "0" else "1"),
                "sha256=" + right.upper(),
                "sha1=" + right[:40],
                b"sha256=" + right[:-1].encode() + b"\xe9",
                "sha256=" + right + "00",
                right,
            ]
        )


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from database_url(request.param, tmp_path)


def test_fuzzed_requests_never_5xx_and_unsigned_ones_store_nothing(url: str):
    fuzzer = Fuzzer(SEED)
    requests = [fuzzer.request(number) for number in range(REQUESTS)]
    with SqlLedger(url) as ledger:
        queue = SqlQueue(ledger)
        queue.counts()
        responses = post_each(create_app(secret=SECRET, queue=queue), [r for r, _ in requests])
    statuses = [r.status_code for r in responses]
    crashed = [
        (i, r.status_code, r.text[:200]) for i, r in enumerate(responses) if r.is_server_error
    ]
    assert crashed == [], f"seed {SEED}: {len(crashed)} x 5xx, first {crashed[:3]}"
    assert set(statuses) <= {200, 202, 400, 401, 413}, sorted(set(statuses))
    for (_, signed), status in zip(requests, statuses, strict=True):
        assert signed or status in (400, 401, 413)

    deliveries, jobs = rows(url)
    assert [d for d in deliveries if d.startswith("u-")] == []
    queued = [r.json()["job"] for r in responses if r.status_code == 202 and "job" in r.json()]
    assert len(jobs) == len(queued), "every 202 'queued' stored one job, and nothing more"
    for job in jobs:  # what a worker will read back
        event = parse_event(job["event"], job["delivery_id"], json.loads(job["payload"]))
        assert event.key == job["key"] and len(job["key"]) <= 255
    # The mix reached every outcome, so the run proves something about each.
    assert {200, 202, 400, 401} <= set(statuses)
    assert statuses.count(202) > REQUESTS // 4 and statuses.count(400) > REQUESTS // 20
