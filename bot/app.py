"""The webhook intake: verify, parse, persist, answer 202. Work happens in the workers.

This process never imports litellm: nothing here or below it reaches a model.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.adapters.queue_sql import Accepted, Incoming, SqlQueue
from bot.events import HANDLED_EVENTS, EventError, parse_event

MAX_BODY_BYTES = 25 * 1024 * 1024  # GitHub caps payloads at 25 MB


def valid_signature(secret: bytes, body: bytes, header: str | None) -> bool:
    """``X-Hub-Signature-256`` check in constant time, before the body is parsed."""
    if not header or not header.startswith("sha256="):
        return False
    expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)


class GroupCommit:
    """Deliveries arriving together are stored in one transaction; each request is answered
    only after the transaction holding its delivery has committed."""

    def __init__(self, queue: SqlQueue, *, max_batch: int = 256) -> None:
        self._queue = queue
        self._max_batch = max_batch
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: list[tuple[Incoming, asyncio.Future[Accepted]]] = []
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def submit(self, item: Incoming) -> Accepted:
        loop = asyncio.get_running_loop()
        if loop is not self._loop or self._task is None or self._task.done():
            # First use in this event loop: the writer task lives in the loop it serves.
            self._loop, self._pending, self._wakeup = loop, [], asyncio.Event()
            self._task = loop.create_task(self._write_batches())
        future: asyncio.Future[Accepted] = loop.create_future()
        self._pending.append((item, future))
        self._wakeup.set()
        return await future

    async def _write_batches(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                batch = self._pending[: self._max_batch]
                del self._pending[: self._max_batch]
                # In a thread, so requests keep arriving while this batch is written: they
                # form the next batch (group commit) instead of waiting one commit each.
                try:
                    results = await asyncio.to_thread(
                        self._queue.accept_many, [item for item, _ in batch]
                    )
                except Exception as exc:  # every waiting request learns of it: 500, no 202
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                else:
                    for (_, future), result in zip(batch, results, strict=True):
                        if not future.done():
                            future.set_result(result)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status)


def create_app(*, secret: str, queue: SqlQueue) -> Starlette:
    if not secret:
        raise ValueError("a webhook secret is required (TIERBOT_WEBHOOK_SECRET)")
    key = secret.encode()
    writer = GroupCommit(queue)

    async def webhook(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return _error(413, "payload too large")
        if not valid_signature(key, body, request.headers.get("x-hub-signature-256")):
            return _error(401, "missing or invalid X-Hub-Signature-256")
        event = request.headers.get("x-github-event", "")
        delivery = request.headers.get("x-github-delivery", "")
        if not event or not delivery or len(delivery) > 64:
            return _error(400, "X-GitHub-Event and X-GitHub-Delivery headers are required")
        try:
            payload: Any = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return _error(400, "body is not valid JSON")
        if event == "ping":
            return JSONResponse({"message": "pong"})
        action = payload.get("action") if isinstance(payload, dict) else None
        if event not in HANDLED_EVENTS:
            await asyncio.to_thread(
                queue.ignore, delivery_id=delivery, event=event, action=str(action or "")
            )
            return JSONResponse({"message": f"event {event} ignored"}, status_code=202)
        try:
            parsed = parse_event(event, delivery, payload)
        except EventError as exc:
            return _error(400, f"malformed {event} payload: {exc}")
        accepted = await writer.submit(
            Incoming(delivery, event, parsed.action or "", parsed.key, payload)
        )
        if accepted.outcome == "duplicate":
            return JSONResponse({"message": "duplicate delivery ignored"}, status_code=202)
        return JSONResponse({"message": "queued", "job": accepted.job_id}, status_code=202)

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/webhook", webhook, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ]
    )
