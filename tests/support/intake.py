"""Signed webhook requests driven into the intake in-process, and the rows they left behind."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

SECRET = "s3cret"
EXAMPLES = Path(__file__).resolve().parents[1] / "fixtures/github/webhooks/payload-examples"
HeaderValue = str | bytes


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def example(event: str, name: str) -> dict[str, Any]:
    """A recorded GitHub payload from ``tests/fixtures/github`` (octokit/webhooks, MIT)."""
    data: dict[str, Any] = json.loads((EXAMPLES / event / name).read_text("utf-8"))
    return data


@dataclass
class Delivery:
    """One request to ``POST /webhook``; ``signature=None`` signs the body with ``SECRET``."""

    body: bytes
    event: HeaderValue | None = "issues"
    delivery: HeaderValue | None = "d-1"
    signature: HeaderValue | None = None
    extra: dict[str, HeaderValue] = field(default_factory=dict)
    unsigned: bool = False  # the signature header is left out entirely

    @classmethod
    def of(cls, payload: object, **kwargs: Any) -> Delivery:
        return cls(json.dumps(payload).encode(), **kwargs)

    def headers(self) -> dict[str, HeaderValue]:
        out: dict[str, HeaderValue] = {"Content-Type": "application/json"}
        if self.event is not None:
            out["X-GitHub-Event"] = self.event
        if self.delivery is not None:
            out["X-GitHub-Delivery"] = self.delivery
        if not self.unsigned:
            out["X-Hub-Signature-256"] = (
                self.signature if self.signature is not None else sign(self.body)
            )
        out.update(self.extra)
        return out


async def post_all(
    app: Any, deliveries: Iterable[Delivery], *, concurrency: int = 32
) -> list[httpx.Response]:
    """POST every delivery through the ASGI app in-process, ``concurrency`` at a time."""
    limit = asyncio.Semaphore(concurrency)
    # An exception escaping the app is answered 500, as uvicorn would, and counted as such.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as client:

        async def one(item: Delivery) -> httpx.Response:
            async with limit:
                return await client.post("/webhook", content=item.body, headers=item.headers())

        return list(await asyncio.gather(*(one(item) for item in deliveries)))


def post_each(app: Any, deliveries: Iterable[Delivery]) -> list[httpx.Response]:
    return asyncio.run(post_all(app, deliveries))


async def stream(chunks: int, size: int, consumed: list[int]) -> AsyncIterator[bytes]:
    """``chunks`` pieces of ``size`` bytes; ``consumed[0]`` counts what the server pulled."""
    piece = b"x" * size
    for _ in range(chunks):
        consumed[0] += size
        yield piece


def rows(url: str) -> tuple[list[str], list[Mapping[str, Any]]]:
    """(delivery ids, job rows) as the database holds them."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            deliveries = list(connection.scalars(text("SELECT delivery_id FROM deliveries")))
            jobs = [
                dict(row._mapping)
                for row in connection.execute(
                    text("SELECT delivery_id, event, key, payload FROM jobs ORDER BY id")
                )
            ]
    finally:
        engine.dispose()
    return deliveries, jobs
