"""pytest plugin: ``pytest_plugins = ["tests.support.github_emulator.fixtures"]`` in a test module.

Fixtures:
- ``github_emulator``: a started :class:`GitHubEmulator`, with no repositories, stopped after
  the test. Deliveries go nowhere until ``set_webhook`` or ``webhook_receiver`` points them.
- ``emulator_repo``: ``octo/demo`` on it (App installed), with a passing check command.
- ``webhook_receiver``: a loopback endpoint that records deliveries and answers 202; the
  emulator's webhooks are pointed at it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .emulator import GitHubEmulator
from .receiver import WebhookReceiver, serve_receiver
from .state import Repo

PASSING_CONFIG = "check:\n  command: \"python -c 'print(42)'\"\n"


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
