"""The webhook intake: verify, parse, persist, answer 202. Work happens in the workers.

This process never imports litellm: nothing here or below it reaches a model.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.adapters.queue_sql import SqlQueue
from bot.events import HANDLED_EVENTS, EventError, parse_event

MAX_BODY_BYTES = 25 * 1024 * 1024  # GitHub caps payloads at 25 MB


def valid_signature(secret: bytes, body: bytes, header: str | None) -> bool:
    """``X-Hub-Signature-256`` check in constant time, before the body is parsed."""
    if not header or not header.startswith("sha256="):
        return False
    expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status)


def create_app(*, secret: str, queue: SqlQueue) -> Starlette:
    if not secret:
        raise ValueError("a webhook secret is required (TIERBOT_WEBHOOK_SECRET)")
    key = secret.encode()

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
            queue.ignore(delivery_id=delivery, event=event, action=str(action or ""))
            return JSONResponse({"message": f"event {event} ignored"}, status_code=202)
        try:
            parsed = parse_event(event, delivery, payload)
        except EventError as exc:
            return _error(400, f"malformed {event} payload: {exc}")
        accepted = queue.accept(
            delivery_id=delivery,
            event=event,
            action=parsed.action or "",
            key=parsed.key,
            payload=payload,
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
