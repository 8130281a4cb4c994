"""pytest plugin: a SQL ledger on SQLite and on PostgreSQL, with a clock the test sets.

Use with ``pytest_plugins = ["tests.support.ledger_fixtures"]``; ``db_url`` runs each test on
both databases.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.adapters.ledger import SqlLedger
from tests.support.databases import Clock, database_url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from database_url(request.param, tmp_path)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ledger(db_url: str, clock: Clock) -> Iterator[SqlLedger]:
    with SqlLedger(db_url, clock=clock) as led:
        yield led
