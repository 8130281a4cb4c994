"""A loopback webhook endpoint for tests: records each delivery and answers 202."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class WebhookReceiver:
    """Records each POST; ``status`` is what it answers."""

    url: str = ""
    status: int = 202
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def events(self) -> list[str]:
        with self.lock:
            return [r.headers.get("X-GitHub-Event", "") for r in self.received]


def serve_receiver(receiver: WebhookReceiver) -> ThreadingHTTPServer:
    """Serve ``receiver`` on a free loopback port (sets ``receiver.url``); shut it down after."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length)
            with receiver.lock:
                receiver.received.append(Received(dict(self.headers.items()), body))
            self.send_response(receiver.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/webhook"
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    return server
