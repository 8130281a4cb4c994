"""Which tierbot task belongs to which issue on GitHub, its PR and status comment, and refusals."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column

from bot.adapters.ledger import Base, SqlLedger, UTCDateTime
from bot.core.logs import redact_json
from bot.ports.tasks import IssueTask as IssueTask
from bot.ports.tasks import Refusal as Refusal


def _utcnow() -> datetime:
    return datetime.now(UTC)


class IssueTaskORM(Base):
    __tablename__ = "issue_tasks"
    __table_args__ = (UniqueConstraint("repo", "issue"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repo: Mapped[str] = mapped_column(String(255))
    issue: Mapped[int] = mapped_column(Integer)
    task_id: Mapped[int | None] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(255), default="")
    branch: Mapped[str] = mapped_column(String(255), default="")
    pr_number: Mapped[int | None] = mapped_column(Integer)
    comment_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(32), default="running")
    state_json: Mapped[str] = mapped_column(Text, default="")
    triage_json: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RefusalORM(Base):
    __tablename__ = "refusals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repo: Mapped[str] = mapped_column(String(255), index=True)
    number: Mapped[int | None] = mapped_column(Integer)
    sender: Mapped[str] = mapped_column(String(255))
    event: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class IssueTaskStore:
    def __init__(self, ledger: SqlLedger, *, clock: Callable[[], datetime] = _utcnow) -> None:
        self._ledger = ledger
        self._clock = clock

    def get(self, repo: str, issue: int) -> IssueTask | None:
        with self._ledger.read() as session:
            row = session.scalar(
                select(IssueTaskORM).where(IssueTaskORM.repo == repo, IssueTaskORM.issue == issue)
            )
            if row is None:
                return None
            return IssueTask(
                row.repo,
                row.issue,
                row.task_id,
                row.label,
                row.branch,
                row.pr_number,
                row.comment_id,
                row.status,
                json.loads(row.state_json) if row.state_json else None,
                json.loads(row.triage_json) if row.triage_json else None,
            )

    def save(self, item: IssueTask) -> None:
        with self._ledger.write() as session:
            row = session.scalar(
                select(IssueTaskORM).where(
                    IssueTaskORM.repo == item.repo, IssueTaskORM.issue == item.issue
                )
            )
            if row is None:
                row = IssueTaskORM(repo=item.repo, issue=item.issue)
                session.add(row)
            row.task_id, row.label, row.branch = item.task_id, item.label, item.branch
            row.pr_number, row.comment_id, row.status = item.pr_number, item.comment_id, item.status
            # The state goes back into prompts when the task resumes, so it loses secret values
            # and token shapes only (``Redactor.tokens``), never the code around them.
            state = redact_json(item.state, self._ledger.redactor.tokens)
            row.state_json = json.dumps(state) if state is not None else ""
            triage = redact_json(item.triage, self._ledger.redactor.tokens)
            row.triage_json = json.dumps(triage) if triage is not None else None
            row.updated_at = self._clock()

    def refuse(self, refusal: Refusal) -> None:
        with self._ledger.write() as session:
            session.add(
                RefusalORM(
                    repo=refusal.repo,
                    number=refusal.number,
                    sender=refusal.sender,
                    event=refusal.event,
                    reason=self._ledger.redactor(refusal.reason),
                    created_at=self._clock(),
                )
            )

    def refusals(self, repo: str) -> list[Refusal]:
        with self._ledger.read() as session:
            rows = session.scalars(
                select(RefusalORM).where(RefusalORM.repo == repo).order_by(RefusalORM.id)
            )
            return [Refusal(r.repo, r.number, r.sender, r.event, r.reason) for r in rows]
