"""pytest plugin: the ``bench`` fixture of the PR handler tests (``tests/support/handlers.py``).

Use with ``pytest_plugins = ["tests.support.github_emulator.fixtures",
"tests.support.handler_fixtures"]``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.adapters.github import GitHubApp
from bot.adapters.ledger import SqlLedger
from tests.support.github_emulator import GitHubEmulator
from tests.support.github_emulator.receiver import WebhookReceiver
from tests.support.handlers import Bench
from tests.support.model_server import ScriptedModelServer


@pytest.fixture
def bench(
    github_emulator: GitHubEmulator,
    webhook_receiver: WebhookReceiver,
    tmp_path: Path,
) -> Iterator[Bench]:
    with ScriptedModelServer() as models:
        app = GitHubApp(
            github_emulator.app_id, github_emulator.private_key_pem, api_url=github_emulator.api_url
        )
        ledger = SqlLedger(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
        bench = Bench(github_emulator, models, webhook_receiver, app, ledger, tmp_path / "work")
        try:
            yield bench
        finally:
            if bench._forge is not None:
                bench._forge.close()
            app.close()
            ledger.close()
