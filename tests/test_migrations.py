"""Alembic migrations: a 0.1.0 database (``create_all``, no version table) upgrades and keeps
every row; a new one is made at the head; serve and worker refuse a schema that is behind."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Text,
    create_engine,
    insert,
    inspect,
    select,
)

from bot import migrations
from bot.adapters.ledger import SqlLedger
from bot.adapters.queue_sql import SqlQueue
from bot.cli import cli
from tests.support.databases import database_url

FIXTURES = Path(__file__).parent / "fixtures" / "schema"
ROWS = 3
T0 = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from database_url(request.param, tmp_path)


def make_release_schema(url: str) -> None:
    """The tables exactly as tierbot 0.1.0's create_all made them (DDL captured from it)."""
    engine = create_engine(url)
    ddl = (FIXTURES / f"release-0.1.0.{engine.dialect.name}.sql").read_text("utf-8")
    body = "\n".join(line for line in ddl.splitlines() if not line.startswith("--"))
    with engine.begin() as conn:
        for statement in body.split(";"):
            if statement.strip():
                conn.exec_driver_sql(statement)
    engine.dispose()


def value(table: str, column: Any, i: int) -> Any:
    kind = column.type
    if column.foreign_keys or column.name == "id":
        return i
    if isinstance(kind, Boolean):
        return i % 2 == 0
    if isinstance(kind, Integer):
        return 100 * i + len(column.name)
    if isinstance(kind, Float):
        return 0.25 * i
    if isinstance(kind, DateTime):
        return T0 + timedelta(minutes=i)
    if isinstance(kind, String | Text):
        return f"{table}.{column.name}.{i}"[: getattr(kind, "length", None) or 200]
    raise AssertionError(f"no sample value for {table}.{column.name} ({kind!r})")


def fill(url: str) -> dict[str, list[dict[str, Any]]]:
    """ROWS rows in every table, every column set; returns them as written."""
    engine = create_engine(url)
    meta = MetaData()
    meta.reflect(engine)
    written: dict[str, list[dict[str, Any]]] = {}
    with engine.begin() as conn:
        for table in meta.sorted_tables:
            rows = [
                {c.name: value(table.name, c, i) for c in table.columns} for i in range(1, ROWS + 1)
            ]
            conn.execute(insert(table), rows)
            written[table.name] = rows
            if conn.dialect.name == "postgresql" and "id" in table.columns:
                # Explicit ids do not move a SERIAL's sequence; the release's writes did.
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), {ROWS})"
                )
    engine.dispose()
    return written


def read(url: str, tables: list[str]) -> dict[str, list[dict[str, Any]]]:
    engine = create_engine(url)
    meta = MetaData()
    meta.reflect(engine, only=tables)
    with engine.connect() as conn:
        out = {
            name: [
                dict(r._mapping)
                for r in conn.execute(
                    select(meta.tables[name]).order_by(*meta.tables[name].primary_key.columns)
                )
            ]
            for name in tables
        }
    engine.dispose()
    return out


def same_instant(a: Any, b: Any) -> bool:
    if isinstance(a, datetime) and isinstance(b, datetime):
        return a.replace(tzinfo=a.tzinfo or UTC) == b.replace(tzinfo=b.tzinfo or UTC)
    return bool(a == b)


def schema_diff(url: str) -> list[Any]:
    """What differs between the database and the models (procrastinate's own tables aside)."""
    engine = create_engine(url)
    ours = {t for md in migrations.target_metadata() for t in md.tables}

    def include(obj: Any, name: str | None, kind: str, reflected: bool, _other: Any) -> bool:
        table = obj if kind == "table" else getattr(obj, "table", None)
        return table is None or getattr(table, "name", name) in ours

    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": include}
        )
        diff = compare_metadata(context, migrations.target_metadata())
    engine.dispose()
    return list(diff)


def test_head_is_the_newest_script_and_the_baseline_its_root():
    scripts = ScriptDirectory("bot:migrations" and str(Path(migrations.__file__).parent))
    assert scripts.get_current_head() == migrations.HEAD
    assert [r.revision for r in scripts.walk_revisions()][-1] == migrations.BASELINE


def test_release_database_upgrades_and_keeps_every_row(url: str):
    make_release_schema(url)
    written = fill(url)
    assert sorted(written) == sorted(migrations.KNOWN_TABLES)
    assert migrations.state(url).current == migrations.BASELINE

    result = CliRunner().invoke(cli, ["db", "upgrade"], env={"TIERBOT_DB_URL": url})

    assert result.exit_code == 0, result.output
    assert f"upgraded from {migrations.BASELINE} to {migrations.HEAD}" in result.output
    assert migrations.state(url).current == migrations.HEAD
    found = read(url, sorted(written))
    for table, rows in written.items():
        assert len(found[table]) == ROWS, table
        for before, after in zip(rows, found[table], strict=True):
            for column, old in before.items():
                assert same_instant(after[column], old), (table, column, after[column], old)
    assert schema_diff(url) == []
    # The upgraded database works: the queue takes a delivery and hands out its job.
    with SqlLedger(url) as ledger:
        queue = SqlQueue(ledger)
        accepted = queue.accept(
            delivery_id="after-upgrade", event="issues", action="labeled", key="o/r#9", payload={}
        )
        assert accepted.outcome == "queued"
        job = queue.claim("w")
        assert job is not None and job.delivery_id in {"after-upgrade", "jobs.delivery_id.1"}


def test_upgrade_twice_changes_nothing(url: str):
    make_release_schema(url)
    migrations.upgrade(url)
    result = CliRunner().invoke(cli, ["db", "upgrade"], env={"TIERBOT_DB_URL": url})
    assert result.exit_code == 0, result.output
    assert f"already at revision {migrations.HEAD}" in result.output


def test_new_database_from_the_ledger_is_at_head_and_matches_the_models(url: str):
    with SqlLedger(url) as ledger:
        SqlQueue(ledger).counts()  # first use makes the tables
    assert migrations.state(url).current == migrations.HEAD
    assert schema_diff(url) == []
    if url.startswith("postgresql"):
        names = set(inspect(create_engine(url)).get_table_names())
        assert "procrastinate_jobs" in names


def test_new_database_from_db_upgrade_matches_the_models(url: str):
    before, after = migrations.upgrade(url)
    assert (before, after) == (None, migrations.HEAD)
    assert schema_diff(url) == []


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_serve_and_worker_refuse_a_schema_that_is_behind(url: str, command: str):
    make_release_schema(url)
    env = {"TIERBOT_DB_URL": url, "TIERBOT_WEBHOOK_SECRET": "s", "TIERBOT_APP_ID": ""}
    if command == "worker":
        pytest.importorskip("jwt")
        env.update(worker_env())
    result = CliRunner().invoke(
        cli, [command, "--workers", "0"] if command == "serve" else [command], env=env
    )
    assert result.exit_code != 0
    assert "run `tierbot db upgrade`" in result.output
    assert f"revision {migrations.BASELINE}" in result.output
    assert migrations.state(url).current == migrations.BASELINE  # nothing was changed


def worker_env() -> dict[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return {"TIERBOT_APP_ID": "1", "TIERBOT_PRIVATE_KEY": pem}


def test_db_current_says_behind_and_names_the_command(url: str):
    make_release_schema(url)
    result = CliRunner().invoke(cli, ["db", "current"], env={"TIERBOT_DB_URL": url})
    assert result.exit_code == 1
    assert "behind: run `tierbot db upgrade`" in result.output


def test_db_upgrade_on_an_unreachable_database_says_so():
    url = "postgresql+psycopg://postgres@127.0.0.1:1/none"
    result = CliRunner().invoke(cli, ["db", "upgrade"], env={"TIERBOT_DB_URL": url})
    assert result.exit_code == 1
    assert "cannot upgrade postgresql+psycopg://postgres@127.0.0.1:1/none" in result.output
