"""The SQL ledger: database sessions, the recorder of what tierbot did, and report queries."""

from bot.adapters.ledger.database import Database
from bot.adapters.ledger.recorder import SqlLedger
from bot.adapters.ledger.rows import AttemptRow, ReportRows, SpendRow, StoredCall, TaskRow
from bot.adapters.ledger.tables import (
    REFUSED,
    AttemptRowORM,
    Base,
    CheckResultORM,
    ModelCallORM,
    TaskRowORM,
)
from bot.adapters.sql_time import UTCDateTime

__all__ = [
    "REFUSED",
    "AttemptRow",
    "AttemptRowORM",
    "Base",
    "CheckResultORM",
    "Database",
    "ModelCallORM",
    "ReportRows",
    "SpendRow",
    "SqlLedger",
    "StoredCall",
    "TaskRow",
    "TaskRowORM",
    "UTCDateTime",
]
