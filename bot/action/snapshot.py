"""A task's ledger rows as one compact JSON value, so a status comment can carry them between
Action runs (which have no database), and loaded back into a SQL ledger."""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Engine, RowMapping, Table, func, insert, select

from bot.adapters.holds import BudgetHoldORM, HoldsBase
from bot.adapters.ledger import AttemptRowORM, Base, CheckResultORM, ModelCallORM, TaskRowORM
from bot.adapters.sql_time import UTCDateTime

TASKS = cast(Table, TaskRowORM.__table__)
ATTEMPTS = cast(Table, AttemptRowORM.__table__)
CALLS = cast(Table, ModelCallORM.__table__)
CHECKS = cast(Table, CheckResultORM.__table__)
HOLDS = cast(Table, BudgetHoldORM.__table__)
# Parents first, so foreign keys hold while rows are inserted.
TABLES = (TASKS, ATTEMPTS, CALLS, CHECKS, HOLDS)
# column -> the table whose ids it holds, for renumbering rows loaded beside others
REFERENCES: dict[str, dict[str, Table]] = {
    "tasks": {"id": TASKS, "parent_id": TASKS},
    "attempts": {"id": ATTEMPTS, "task_id": TASKS},
    "model_calls": {"id": CALLS, "task_id": TASKS, "attempt_id": ATTEMPTS},
    "check_results": {"id": CHECKS, "attempt_id": ATTEMPTS},
    "budget_holds": {"id": HOLDS},
}
# Long texts dropped first when a snapshot would not fit in a comment.
BULKY = {"tasks": ("text",), "check_results": ("excerpt",), "attempts": ("detail",)}
VERSION = 1

Snapshot = dict[str, Any]  # {"v": 1, table: {"cols": [...], "rows": [[...], ...]}}


class SnapshotError(ValueError):
    """A snapshot that cannot be read: another version, or damaged text."""


def create_tables(engine: Engine) -> None:
    Base.metadata.create_all(engine, checkfirst=True)
    HoldsBase.metadata.create_all(engine, checkfirst=True)


def dump(engine: Engine, *, repo: str, slug: str, budget_key: str) -> Snapshot:
    """The rows of ``repo``'s tasks called ``slug`` (with their subtasks), and the budget holds
    of ``budget_key``."""
    out: Snapshot = {"v": VERSION}
    with engine.connect() as conn:
        tasks = list(
            conn.execute(select(TASKS).where(TASKS.c.repo == repo, TASKS.c.slug == slug)).mappings()
        )
        ids = {t["id"] for t in tasks}
        children = conn.execute(select(TASKS).where(TASKS.c.parent_id.in_(ids))).mappings()
        tasks += [c for c in children if c["id"] not in ids]
        ids = {t["id"] for t in tasks}
        attempts = list(
            conn.execute(select(ATTEMPTS).where(ATTEMPTS.c.task_id.in_(ids))).mappings()
        )
        attempt_ids = {a["id"] for a in attempts}
        calls = list(conn.execute(select(CALLS).where(CALLS.c.task_id.in_(ids))).mappings())
        checks = list(
            conn.execute(select(CHECKS).where(CHECKS.c.attempt_id.in_(attempt_ids))).mappings()
        )
        holds = list(conn.execute(select(HOLDS).where(HOLDS.c.budget_key == budget_key)).mappings())
        parts = (tasks, attempts, calls, checks, holds)
        for table, rows in zip(TABLES, parts, strict=True):
            out[table.name] = _columns(table, rows)
    return out


def _columns(table: Table, rows: Iterable[RowMapping]) -> dict[str, Any]:
    cols = [c.name for c in table.columns]
    return {"cols": cols, "rows": [[_plain(row[c]) for c in cols] for row in rows]}


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def load(engine: Engine, snapshot: Snapshot, *, renumber: bool = False) -> None:
    """Insert the snapshot's rows. ``renumber``: shift every id past the rows already there
    (snapshots of different issues share id numbers); otherwise ids are kept, since a task's
    saved loop state names its ledger task and attempt by id."""
    if snapshot.get("v") != VERSION:
        raise SnapshotError(f"snapshot version {snapshot.get('v')!r}; this tierbot reads {VERSION}")
    with engine.begin() as conn:
        shift = {t.name: 0 for t in TABLES}
        if renumber:
            for table in TABLES:
                shift[table.name] = conn.execute(
                    select(func.coalesce(func.max(table.c.id), 0))
                ).scalar_one()
        for table in TABLES:
            part = snapshot.get(table.name) or {"cols": [], "rows": []}
            rows = _rows(table, part, shift)
            if rows:
                conn.execute(insert(table), rows)


def _rows(table: Table, part: Mapping[str, Any], shift: Mapping[str, int]) -> list[dict[str, Any]]:
    cols = part.get("cols")
    raw = part.get("rows")
    if not isinstance(cols, list) or not isinstance(raw, list):
        raise SnapshotError(f"{table.name}: no columns or rows")
    known = {c.name: c for c in table.columns}
    refs = REFERENCES[table.name]
    out = []
    for values in raw:
        if not isinstance(values, list) or len(values) != len(cols):
            raise SnapshotError(f"{table.name}: a row does not match its columns")
        row: dict[str, Any] = {}
        for name, value in zip(cols, values, strict=True):
            if name not in known:
                continue  # a column a newer tierbot added; this one has nowhere to put it
            if value is not None and name in refs:
                value = int(value) + shift[refs[name].name]
            elif isinstance(value, str) and _is_time(known[name]):
                value = datetime.fromisoformat(value)
            row[name] = value
        out.append(row)
    return out


def _is_time(column: Any) -> bool:
    return isinstance(column.type, UTCDateTime)


def lighten(snapshot: Snapshot) -> Snapshot:
    """The snapshot without its long texts (task text, check excerpts, attempt details):
    every number the report needs stays."""
    out: Snapshot = dict(snapshot)
    for name, cols in BULKY.items():
        part = snapshot.get(name)
        if not part:
            continue
        index = [i for i, c in enumerate(part["cols"]) if c in cols]
        rows = [[("" if i in index else v) for i, v in enumerate(row)] for row in part["rows"]]
        out[name] = {"cols": part["cols"], "rows": rows}
    return out


def encode(value: Mapping[str, Any]) -> str:
    """Compressed and base64'd: a tenth of the size, and no ``--`` to end an HTML comment."""
    raw = json.dumps(value, separators=(",", ":"), sort_keys=True).encode()
    return base64.b64encode(zlib.compress(raw, 9)).decode("ascii")


def decode(text: str) -> dict[str, Any]:
    try:
        data = json.loads(zlib.decompress(base64.b64decode(text, validate=True)))
    except (binascii.Error, zlib.error, ValueError) as exc:
        raise SnapshotError(f"unreadable: {exc}") from None
    if not isinstance(data, dict):
        raise SnapshotError("not a JSON object")
    return data
