"""Databases for tests: a temporary SQLite file or a throwaway PostgreSQL schema, and a clock."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tests.support.services import require_service

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@dataclass
class Clock:
    """A settable clock handed to the ledger, so tests choose every timestamp."""

    now: datetime = T0
    calls: list[datetime] = field(default_factory=list)

    def __call__(self) -> datetime:
        self.calls.append(self.now)
        return self.now


def postgres_schema_url() -> Iterator[str]:
    """Yield a URL whose search_path is a new schema, dropped afterwards."""
    try:
        import psycopg
    except ImportError:
        require_service("PostgreSQL", False, "psycopg is not installed (pip install psycopg)")
        raise AssertionError("unreachable") from None
    schema = f"tierbot_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(
            "host=127.0.0.1 port=5432 dbname=test user=postgres",
            connect_timeout=3,
            autocommit=True,
        )
    except psycopg.OperationalError as exc:
        require_service("PostgreSQL", False, f"cannot connect to 127.0.0.1:5432: {exc}")
        raise AssertionError("unreachable") from None
    with admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            yield f"{PG_URL}?options=-csearch_path%3D{schema}"
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


def database_url(kind: str, tmp_path: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
    else:
        yield from postgres_schema_url()
