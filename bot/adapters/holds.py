"""Budget holds in SQL: reserve a call's worst case, settle it, sum what each cap has spent.

Every admitted model call has one row. It is *open* from the reservation, holding the call's
worst case, until the call is settled to what it is counted at (its cost, or its worst case
when the cost is unknown). Every cap sums ``charged_usd`` where the call is settled and
``worst_usd`` where it is not, so a call in flight in another worker or on another machine
already counts. A hold whose process died is never settled: it keeps counting its worst case,
because the provider may have billed the call; once past ``expires_at`` the next reservation
of the account marks it *expired*, which changes no sum and tells a reader it was abandoned.

The check and the insert are one transaction, serialised per account: SQLite's writer begins
with ``BEGIN IMMEDIATE`` (one writer at a time), PostgreSQL takes a transaction-scoped
advisory lock keyed by the account, and under READ COMMITTED each statement after the lock
sees every hold committed before it.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import (
    Float,
    Index,
    Integer,
    String,
    Table,
    Text,
    bindparam,
    case,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from bot.adapters.sql_time import UTCDateTime
from bot.config import BudgetSpec
from bot.core import budget as money
from bot.core.budget import Scope, Spend
from bot.ports import Admission

OPEN, SETTLED, EXPIRED = "open", "settled", "expired"


class HoldsBase(DeclarativeBase):
    pass


class BudgetHoldORM(HoldsBase):
    __tablename__ = "budget_holds"
    __table_args__ = (
        Index("ix_budget_holds_repo_created", "repo", "created_at"),
        Index("ix_budget_holds_account_created", "account", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repo: Mapped[str] = mapped_column(Text)
    account: Mapped[str] = mapped_column(Text)
    budget_key: Mapped[str] = mapped_column(Text, index=True)
    worst_usd: Mapped[float] = mapped_column(Float)
    charged_usd: Mapped[float | None] = mapped_column(Float)  # NULL while open
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# The statements are built once: a reservation runs on every model call, and building them
# each time costs more than running them on SQLite.
_TABLE = cast(Table, BudgetHoldORM.__table__)
_T = _TABLE.c
_COUNTED = func.coalesce(_T.charged_usd, _T.worst_usd)
_EXPIRE = (
    update(_TABLE)
    .where(
        _T.account == bindparam("b_account"), _T.state == OPEN, _T.expires_at < bindparam("b_now")
    )
    .values(state=EXPIRED)
)
_SPENT = select(
    func.sum(case((_T.budget_key == bindparam("b_key"), _COUNTED), else_=0.0)),
    func.sum(
        case(
            ((_T.repo == bindparam("b_repo")) & (_T.created_at >= bindparam("b_day")), _COUNTED),
            else_=0.0,
        )
    ),
    func.sum(case((_T.created_at >= bindparam("b_month"), _COUNTED), else_=0.0)),
).where(
    # Every hold of a task's key is of one repository, so of the same account.
    _T.account == bindparam("b_account"),
    (_T.created_at >= bindparam("b_month")) | (_T.budget_key == bindparam("b_key")),
)
_INSERT = insert(_TABLE)
_SETTLE = (
    update(_TABLE)
    .where(_T.id == bindparam("b_hold_id"))
    .values(charged_usd=bindparam("b_charged"), state=SETTLED, settled_at=bindparam("b_settled_at"))
)


def reserve(
    session: Session,
    scope: Scope,
    budget: BudgetSpec,
    worst_usd: float,
    *,
    now: datetime,
    ttl_s: float,
) -> Admission:
    """Hold ``worst_usd`` for ``scope`` unless a cap of ``budget`` would be passed."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(_lock_key(scope.account))))
    session.execute(_EXPIRE, {"b_account": scope.account, "b_now": now})
    spend = spent(session, scope, now=now)
    cap = money.over_cap(budget, spend, worst_usd)
    if cap is not None:
        return Admission(None, spend, cap)
    inserted = session.execute(
        _INSERT,
        {
            "repo": scope.repo,
            "account": scope.account,
            "budget_key": scope.key,
            "worst_usd": worst_usd,
            "charged_usd": None,
            "state": OPEN,
            "created_at": now,
            "expires_at": now + timedelta(seconds=ttl_s),
        },
    )
    hold_id = inserted.inserted_primary_key[0]  # type: ignore[attr-defined]
    return Admission(int(hold_id), spend)


def settle(session: Session, hold_id: int, charged_usd: float, *, now: datetime) -> None:
    """Count the hold at ``charged_usd`` from now on (a late settle of an expired hold too)."""
    settled = session.execute(
        _SETTLE, {"b_hold_id": hold_id, "b_charged": charged_usd, "b_settled_at": now}
    )
    if settled.rowcount != 1:  # type: ignore[attr-defined]
        raise LookupError(f"no budget hold with id {hold_id}")


def spent(session: Session, scope: Scope, *, now: datetime) -> Spend:
    """Settled charges plus open and expired holds at their worst case, per cap, in one read."""
    params = {
        "b_key": scope.key,
        "b_repo": scope.repo,
        "b_account": scope.account,
        "b_day": money.day_start(now),
        "b_month": money.month_start(now),
    }
    task, today, this_month = (float(v or 0.0) for v in session.execute(_SPENT, params).one())
    return Spend(task, today, this_month)


def _lock_key(account: str) -> int:
    """A stable signed 64-bit advisory lock key for the account's budget."""
    digest = hashlib.blake2b(f"tierbot-budget:{account}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)
