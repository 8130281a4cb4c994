"""The webhook intake: verify, parse, persist, answer 202. Work happens in the workers.

This process never imports litellm: nothing here or below it reaches a model.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot import metrics
from bot.adapters.queue_rows import Accepted, Incoming, QueueUnavailable, Unstorable
from bot.core.logs import scrub
from bot.events import HANDLED_EVENTS, EventError, action_of, parse_event
from bot.intake.validate import (
    MAX_BODY_BYTES,
    SPOOL_BYTES,
    Rejected,
    check_declared_length,
    check_names,
    clean_payload,
    load_json,
    signature_matches,
    signed_body,
)
from bot.queue_port import Intake

__all__ = ["MAX_BODY_BYTES", "GroupCommit", "create_app", "valid_signature"]
RETRY_AFTER_S = 30
T = TypeVar("T")
log = logging.getLogger("tierbot.intake")


def valid_signature(secret: bytes, body: bytes, header: str | None) -> bool:
    """``X-Hub-Signature-256`` check in constant time, before the body is parsed."""
    return signature_matches(hmac.new(secret, body, hashlib.sha256), header)


class GroupCommit:
    """Deliveries arriving together are stored in one transaction; each request is answered
    only after the transaction holding its delivery has committed."""

    def __init__(self, queue: Intake, *, max_batch: int = 256) -> None:
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
                results = await asyncio.to_thread(self._store, [item for item, _ in batch])
                for (_, future), result in zip(batch, results, strict=True):
                    if future.done():
                        continue
                    if isinstance(result, Exception):
                        future.set_exception(result)  # that request alone: no 202
                    else:
                        future.set_result(result)

    def _store(self, items: Sequence[Incoming]) -> list[Accepted | Exception]:
        """The batch in one transaction; when that fails, each delivery in its own, so one the
        database refuses fails alone and every neighbour is still stored."""
        try:
            return list(self._queue.accept_many(items))
        except Exception as exc:
            if len(items) == 1:
                return [exc]
        out: list[Accepted | Exception] = []
        for item in items:
            try:
                out.append(self._queue.accept_many([item])[0])
            except QueueUnavailable as exc:
                # The database, not this delivery: the rest would only wait for it in turn.
                return out + [exc] * (len(items) - len(out))
            except Exception as exc:
                out.append(exc)
        return out


def _error(status: int, message: str) -> JSONResponse:
    headers = {"Retry-After": str(RETRY_AFTER_S)} if status == 503 else None
    return JSONResponse({"message": message}, status_code=status, headers=headers)


def _delivery(
    body: bytes, event: str, delivery: str, redact: Callable[[str], str]
) -> Incoming | str:
    """The job to store for a handled event; for any other event, just its action."""
    payload = load_json(body)
    try:
        action = action_of(payload)
        if event not in HANDLED_EVENTS or event == "ping":
            return action
        if not isinstance(payload, dict):
            raise EventError("payload must be an object")
        cleaned = clean_payload(payload, redact, body=body)
        parsed = parse_event(event, delivery, cleaned)
    except EventError as exc:
        raise Rejected(400, f"malformed {event} payload: {exc}") from None
    return Incoming(delivery, event, parsed.action or "", parsed.key, cleaned)


async def _stored(write: Awaitable[T], delivery: str) -> T:
    try:
        return await write
    except QueueUnavailable as exc:
        log.warning("delivery %s not stored: %s", delivery, exc.__cause__ or exc)
        raise Rejected(503, f"{exc}; nothing was stored, redeliver later") from None
    except Unstorable as exc:
        log.warning("delivery %s refused by the database: %s", delivery, exc.__cause__ or exc)
        raise Rejected(422, str(exc)) from None


def create_app(*, secret: str, queue: Intake, redact: Callable[[str], str] = scrub) -> Starlette:
    """``redact`` rewrites every free-text string of a payload before it is stored."""
    if not secret:
        raise ValueError("a webhook secret is required (TIERBOT_WEBHOOK_SECRET)")
    key = secret.encode()
    writer = GroupCommit(queue)

    async def receive(request: Request) -> Response:
        headers = request.headers
        check_declared_length(headers)
        signature = headers.get("x-hub-signature-256")
        body = await signed_body(request.stream(), key=key, header=signature)
        event, delivery = check_names(headers)
        if len(body) > SPOOL_BYTES:  # parsing megabytes would stall every other request
            item = await asyncio.to_thread(_delivery, body, event, delivery, redact)
        else:
            item = _delivery(body, event, delivery, redact)
        if event == "ping":
            metrics.delivery("pong")
            return JSONResponse({"message": "pong"})
        if isinstance(item, str):
            ignore = asyncio.to_thread(queue.ignore, delivery_id=delivery, event=event, action=item)
            await _stored(ignore, delivery)
            metrics.delivery("ignored")
            return JSONResponse({"message": f"event {event} ignored"}, status_code=202)
        accepted = await _stored(writer.submit(item), delivery)
        metrics.delivery(accepted.outcome)
        if accepted.outcome == "duplicate":
            return JSONResponse({"message": "duplicate delivery ignored"}, status_code=202)
        return JSONResponse({"message": "queued", "job": accepted.job_id}, status_code=202)

    async def webhook(request: Request) -> Response:
        started = time.perf_counter()
        try:
            return await receive(request)
        except Rejected as refused:
            metrics.delivery("rejected", str(refused.status))
            return _error(refused.status, refused.message)
        except ClientDisconnect:
            return Response(status_code=400)  # nobody is left to read it
        finally:
            metrics.INTAKE_SECONDS.observe(time.perf_counter() - started)

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def scrape(_request: Request) -> Response:
        body, content_type = await asyncio.to_thread(metrics.exposition)  # reads the queue
        return Response(body, media_type=content_type)

    return Starlette(
        routes=[
            Route("/webhook", webhook, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", scrape, methods=["GET"]),
        ]
    )
