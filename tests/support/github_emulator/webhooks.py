"""Webhook deliveries as GitHub's hookshot sends them: signed, logged, redeliverable.

Deliveries go out in order from one background thread, so a handler that calls the API back
(as tierbot's does) never blocks the request that caused the event. Tests read the log and
wait on it; a dropped delivery is logged with no status, as a timed-out one is on GitHub.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

# GitHub gives a receiver 10 seconds before it marks the delivery as timed out.
DELIVERY_TIMEOUT = 10.0


def signature_256(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def signature_1(secret: bytes, body: bytes) -> str:
    return "sha1=" + hmac.new(secret, body, hashlib.sha1).hexdigest()


@dataclass
class Delivery:
    """One attempt; a redelivery is a new attempt with the same ``guid``."""

    id: int
    guid: str
    event: str
    action: str | None
    payload: dict[str, Any]
    body: bytes
    headers: dict[str, str]
    redelivery: bool = False
    status_code: int | None = None
    response_body: str = ""
    error: str | None = None
    dropped: bool = False
    done: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class WebhookSender:
    """Signs and POSTs events to ``url``; keeps every attempt in :attr:`log`."""

    def __init__(
        self,
        *,
        url: str | None = None,
        secret: str | bytes | None = None,
        hook_id: int = 1,
        app_id: int | None = None,
        should_drop: Callable[[str, str | None], bool] | None = None,
    ) -> None:
        self.url = url
        self.secret = secret.encode() if isinstance(secret, str) else secret
        self.hook_id = hook_id
        self.app_id = app_id
        self.should_drop = should_drop or (lambda event, action: False)
        # A test hook: ``(event, payload) -> payload`` applied to each new delivery, so a
        # contract test can make a webhook deviate on purpose.
        self.tamper: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None
        self.log: list[Delivery] = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._queue: queue.Queue[Delivery | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._ids = iter(range(1, 10**9))

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="webhook-sender", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=DELIVERY_TIMEOUT + 2)
            self._thread = None

    def headers_for(self, event: str, guid: str, body: bytes) -> dict[str, str]:
        headers = {
            "Accept": "*/*",
            "Content-Type": "application/json",
            "User-Agent": "GitHub-Hookshot/emulator",
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": guid,
            "X-GitHub-Hook-ID": str(self.hook_id),
        }
        if self.app_id is not None:
            headers["X-GitHub-Hook-Installation-Target-Type"] = "integration"
            headers["X-GitHub-Hook-Installation-Target-ID"] = str(self.app_id)
        if self.secret:
            headers["X-Hub-Signature"] = signature_1(self.secret, body)
            headers["X-Hub-Signature-256"] = signature_256(self.secret, body)
        return headers

    def send(self, event: str, payload: Mapping[str, Any] | bytes) -> Delivery:
        """Queue a new delivery; ``payload`` as a mapping, or exact bytes to send unchanged."""
        if self.tamper is not None and not isinstance(payload, bytes):
            payload = self.tamper(event, dict(payload))
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        data = json.loads(body)
        guid = str(uuid.uuid4())
        return self._enqueue(event, guid, data, body, redelivery=False)

    def redeliver(self, guid: str) -> Delivery:
        """Send the delivery ``guid`` again: same body, same id, as GitHub's "Redeliver"."""
        with self._lock:
            original = next((d for d in self.log if d.guid == guid), None)
        if original is None:
            raise KeyError(f"no delivery {guid}")
        return self._enqueue(original.event, guid, original.payload, original.body, redelivery=True)

    def _enqueue(
        self, event: str, guid: str, data: dict[str, Any], body: bytes, *, redelivery: bool
    ) -> Delivery:
        action = data.get("action") if isinstance(data, dict) else None
        with self._lock:
            delivery = Delivery(
                id=next(self._ids),
                guid=guid,
                event=event,
                action=action if isinstance(action, str) else None,
                payload=data,
                body=body,
                headers=self.headers_for(event, guid, body),
                redelivery=redelivery,
            )
            self.log.append(delivery)
        self._queue.put(delivery)
        return delivery

    def _run(self) -> None:
        with httpx.Client(timeout=DELIVERY_TIMEOUT) as client:
            while True:
                delivery = self._queue.get()
                if delivery is None:
                    return
                self._deliver(client, delivery)
                with self._changed:
                    delivery.done.set()
                    self._changed.notify_all()

    def _deliver(self, client: httpx.Client, delivery: Delivery) -> None:
        if self.url is None:
            delivery.error = "no webhook URL configured"
            return
        if self.should_drop(delivery.event, delivery.action):
            delivery.dropped = True
            delivery.error = "dropped by fault injection"
            return
        try:
            response = client.post(self.url, content=delivery.body, headers=delivery.headers)
        except httpx.HTTPError as exc:
            delivery.error = f"{type(exc).__name__}: {exc}"
            return
        delivery.status_code = response.status_code
        delivery.response_body = response.text[:2000]

    def wait(self, timeout: float = 10.0) -> None:
        """Block until every queued delivery has been attempted."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not all(d.done.is_set() for d in self.log):
                left = deadline - time.monotonic()
                if left <= 0:
                    pending = [d.event for d in self.log if not d.done.is_set()]
                    raise TimeoutError(f"webhook deliveries still pending: {pending}")
                self._changed.wait(left)

    def deliveries(self, event: str | None = None, action: str | None = None) -> list[Delivery]:
        with self._lock:
            return [
                d
                for d in self.log
                if (event is None or d.event == event) and (action is None or d.action == action)
            ]
