"""pytest plugin: ``pytest_plugins = ["tests.support.github_emulator.fixtures"]`` in a test module.

Fixtures:
- ``github_emulator``: a started :class:`GitHubEmulator`, with no repositories, stopped after
  the test. Deliveries go nowhere until ``set_webhook`` or ``webhook_receiver`` points them.
- ``emulator_repo``: ``octo/demo`` on it (App installed), with a passing check command.
- ``webhook_receiver``: a loopback endpoint that records deliveries and answers 202; the
  emulator's webhooks are pointed at it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from .emulator import GitHubEmulator
from .state import Repo

PASSING_CONFIG = "check:\n  command: \"python -c 'print(42)'\"\n"


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
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def github_emulator() -> Iterator[GitHubEmulator]:
    with GitHubEmulator() as emulator:
        yield emulator


@pytest.fixture
def webhook_receiver(github_emulator: GitHubEmulator) -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    server = serve_receiver(receiver)
    github_emulator.set_webhook(receiver.url)
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def emulator_repo(github_emulator: GitHubEmulator) -> Repo:
    return github_emulator.create_repo(
        "octo/demo",
        {
            "README.md": "# demo\n",
            "app.py": "def add(a, b):\n    return a + b\n",
            ".github/tierbot.yml": PASSING_CONFIG,
        },
    )
