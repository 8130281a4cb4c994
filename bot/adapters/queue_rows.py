"""The delivery and job tables, and what both queues share: the intake's plan of one batch
(deduplicated on the delivery id, keyed per issue or pull request) and its storage errors."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Integer,
    String,
    Text,
    insert,
    select,
    update,
)
from sqlalchemy.exc import (
    DataError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Mapped, Session, mapped_column

from bot.adapters.ledger import Base, UTCDateTime

QUEUED, RUNNING, DONE, FAILED, IGNORED = "queued", "running", "done", "failed", "ignored"
# A job whose workers keep dying (it may be what kills them) waits longer before each claim
# after this many expiries in a row, instead of crash-looping every worker; it is never dropped.


def utcnow() -> datetime:
    return datetime.now(UTC)


class DeliveryORM(Base):
    __tablename__ = "deliveries"

    delivery_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(16), index=True)
    error: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    redeliveries: Mapped[int] = mapped_column(Integer, default=0)
    # The procrastinate job of the delivery (PostgreSQL), deferred in the same transaction.
    job_ref: Mapped[int | None] = mapped_column(BigInteger)
    # The procrastinate worker running it now, or the last one that did (``host:pid/token``).
    worker: Mapped[str | None] = mapped_column(String(255))


class JobORM(Base):
    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[str] = mapped_column(String(64), index=True)
    event: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255), index=True)
    payload: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # claims, expired ones included
    failures: Mapped[int] = mapped_column(Integer, default=0)  # exceptions reported by workers
    expiries: Mapped[int] = mapped_column(Integer, default=0)  # leases that ran out in a row
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    run_after: Mapped[datetime] = mapped_column(UTCDateTime)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class Job:
    id: int
    delivery_id: str
    event: str
    key: str
    payload: dict[str, Any]
    attempts: int
    lease_owner: str  # the worker's name and a token unique to this claim
    failures: int = 0
    expiries: int = 0
    max_attempts: int = 5


@dataclass(frozen=True)
class Incoming:
    delivery_id: str
    event: str
    action: str
    key: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Accepted:
    """What intake did with a delivery: ``queued`` or ``duplicate``."""

    outcome: str
    job_id: int | None = None


class QueueUnavailable(Exception):
    """The database cannot be reached or stays busy; nothing was stored, try again later."""


class Unstorable(Exception):
    """The database refused a delivery's data; nothing of it was stored."""


@contextmanager
def storage_errors() -> Iterator[None]:
    """Turn driver errors into the two outcomes intake answers differently (503 and 422)."""
    try:
        yield
    except (OperationalError, InterfaceError, DisconnectionError, PoolTimeout) as exc:
        raise QueueUnavailable(f"database unavailable: {first_line(exc)}") from exc
    except (DataError, UnicodeError) as exc:
        raise Unstorable(f"the database refused the delivery: {first_line(exc)}") from exc


def first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:200]


class IntakePlan:
    """The rows a batch needs, given the statuses of the deliveries already stored."""

    def __init__(self, items: Sequence[Incoming], status: dict[str, str], now: datetime) -> None:
        self.fresh: list[dict[str, Any]] = []
        self.seen: list[str] = []
        self.again: list[str] = []
        self.jobs: list[tuple[int, dict[str, Any]]] = []
        for index, item in enumerate(items):
            known = status.get(item.delivery_id)
            if known is not None:
                self.seen.append(item.delivery_id)
                if known != FAILED:
                    continue
                self.again.append(item.delivery_id)
            else:
                self.fresh.append(
                    {
                        "delivery_id": item.delivery_id,
                        "event": item.event,
                        "action": item.action,
                        "status": QUEUED,
                        "error": "",
                        "received_at": now,
                        "redeliveries": 0,
                    }
                )
            status[item.delivery_id] = QUEUED
            self.jobs.append((index, job_row(item, now)))


def job_row(item: Incoming, now: datetime) -> dict[str, Any]:
    return {
        "delivery_id": item.delivery_id,
        "event": item.event,
        "key": item.key,
        "payload": json.dumps(item.payload),
        "state": QUEUED,
        "attempts": 0,
        "max_attempts": 5,
        "run_after": now,
        "created_at": now,
        "error": "",
    }


def other_open_jobs(session: Any, delivery_id: str, other_than: int) -> bool:
    """Whether the delivery still has a queued or running job besides ``other_than``."""
    return (
        session.scalar(
            select(JobORM.id)
            .where(
                JobORM.delivery_id == delivery_id,
                JobORM.id != other_than,
                JobORM.state.in_((QUEUED, RUNNING)),
            )
            .limit(1)
        )
        is not None
    )


def record_deliveries(session: Session, items: Sequence[Incoming], now: datetime) -> IntakePlan:
    """Store the batch's new deliveries, count redeliveries, queue failed ones again; the plan
    says which items need a job (each queue adapter makes its own)."""
    ids = list({item.delivery_id for item in items})
    rows = session.execute(
        select(DeliveryORM.delivery_id, DeliveryORM.status).where(DeliveryORM.delivery_id.in_(ids))
    )
    plan = IntakePlan(items, {row[0]: row[1] for row in rows}, now)
    if plan.fresh:
        session.execute(insert(DeliveryORM), plan.fresh)
    if plan.seen:
        session.execute(
            update(DeliveryORM)
            .where(DeliveryORM.delivery_id.in_(plan.seen))
            .values(redeliveries=DeliveryORM.redeliveries + 1)
        )
    if plan.again:
        session.execute(
            update(DeliveryORM)
            .where(DeliveryORM.delivery_id.in_(plan.again))
            .values(status=QUEUED, error="")
        )
    return plan
