"""The ledger's tables: tasks, attempts, model calls and check results."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ColumnElement, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bot.adapters.sql_time import UTCDateTime
from bot.core.types import Status

REFUSED = "refused"  # CallRecord.outcome of a call the budget stopped before it was made


class Base(DeclarativeBase):
    pass


class TaskRowORM(Base):
    __tablename__ = "tasks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"), index=True)
    repo: Mapped[str] = mapped_column(String(255), index=True)
    type: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(Text)
    slug: Mapped[str] = mapped_column(String(255))
    text: Mapped[str] = mapped_column(Text)
    start_tier: Mapped[str] = mapped_column(String(64))
    ceiling: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32), default=Status.RUNNING.value)
    reason: Mapped[str] = mapped_column(Text, default="")
    branch: Mapped[str | None] = mapped_column(String(255))
    cost_usd: Mapped[float | None] = mapped_column(Float)
    cost_unknown: Mapped[bool] = mapped_column(Boolean, default=False)
    senior_cost_usd: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AttemptRowORM(Base):
    __tablename__ = "attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    tier: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str | None] = mapped_column(String(32))  # NULL while running
    detail: Mapped[str] = mapped_column(Text, default="")
    commit_sha: Mapped[str | None] = mapped_column(String(64))
    senior_cost_usd: Mapped[float | None] = mapped_column(Float)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ModelCallORM(Base):
    __tablename__ = "model_calls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("attempts.id"), index=True)
    tier: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(255))
    prompt_tokens: Mapped[int | None] = mapped_column(Integer)
    completion_tokens: Mapped[int | None] = mapped_column(Integer)
    cost_usd: Mapped[float | None] = mapped_column(Float)  # NULL: unknown
    latency_s: Mapped[float] = mapped_column(Float)
    outcome: Mapped[str] = mapped_column(String(32))
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class CheckResultORM(Base):
    __tablename__ = "check_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"), index=True)
    command: Mapped[str] = mapped_column(Text)
    exit_code: Mapped[int | None] = mapped_column(Integer)
    passed: Mapped[bool] = mapped_column(Boolean)
    timed_out: Mapped[bool] = mapped_column(Boolean, default=False)
    duration_s: Mapped[float] = mapped_column(Float)
    excerpt: Mapped[str] = mapped_column(Text, default="")


def unknown_cost() -> ColumnElement[bool]:
    """SQL: this call was made and its cost is unknown."""
    return (ModelCallORM.cost_usd.is_(None)) & (ModelCallORM.outcome != REFUSED)
