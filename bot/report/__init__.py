"""The spend report: where the AI budget went, built from the ledger (``build``) and shown as
JSON or tables (``render``)."""

from bot.report.build import (
    ASSUMPTION,
    DEFAULT_LADDER,
    UNKNOWN,
    Cost,
    Escalation,
    Report,
    SpendLine,
    TierRate,
    build_report,
    summarize,
)
from bot.report.render import render_table, report_to_json

__all__ = [
    "ASSUMPTION",
    "DEFAULT_LADDER",
    "UNKNOWN",
    "Cost",
    "Escalation",
    "Report",
    "SpendLine",
    "TierRate",
    "build_report",
    "render_table",
    "report_to_json",
    "summarize",
]
