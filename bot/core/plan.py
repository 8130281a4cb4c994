"""The orchestrator's plan: typed subtasks, and the planner's JSON answer read.

Pure. The planner tier answers with one JSON object in the format ``plan.md.j2`` states;
``parse_plan`` reads it into a :class:`Plan` or says why it cannot; ``bot.core.plan_checks``
judges it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.core.answers import extract_json, without_quote

# Bounds that keep a plan readable and its JSON inside the status comment's hidden marker
# (GitHub refuses a comment over 65,536 characters; the table and the run state share it).
MAX_SUMMARY_CHARS = 500
MAX_TITLE_CHARS = 100
MAX_INSTRUCTIONS_CHARS = 2000
MAX_SIGNATURES_CHARS = 3000
MAX_PLAN_CHARS = 40_000
# Ids go into commit trailers (``Tierbot-Subtask: <id>``) and branch-local bookkeeping.
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")
# The first answer and one retry with the reasons; then the single-ladder run.
PLANNER_ATTEMPTS = 2


@dataclass(frozen=True)
class Subtask:
    """One typed piece of the plan: one ladder, one commit, the files it alone may write."""

    id: str
    type: str
    title: str
    instructions: str
    files: tuple[str, ...]
    depends_on: tuple[str, ...] = ()
    signatures: tuple[str, ...] = ()  # for a stub: the definitions the new module must hold
    hard: bool = False  # the plan's hard core: starts at the planner's tier

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "type": self.type,
            "title": self.title,
            "instructions": self.instructions,
            "files": list(self.files),
            "depends_on": list(self.depends_on),
        }
        if self.signatures:
            data["signatures"] = list(self.signatures)
        if self.hard:
            data["hard"] = True
        return data


@dataclass(frozen=True)
class Plan:
    summary: str
    subtasks: tuple[Subtask, ...]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.subtasks)

    def subtask(self, subtask_id: str) -> Subtask:
        for subtask in self.subtasks:
            if subtask.id == subtask_id:
                return subtask
        raise KeyError(subtask_id)

    def owners(self) -> dict[str, str]:
        """Each named file -> the id of the (first) subtask that names it."""
        owned: dict[str, str] = {}
        for subtask in self.subtasks:
            for path in subtask.files:
                owned.setdefault(path, subtask.id)
        return owned

    def to_json(self) -> dict[str, Any]:
        return {"summary": self.summary, "subtasks": [s.to_json() for s in self.subtasks]}


class PlanError(ValueError):
    """The planner's answer holds no usable plan."""


def parse_plan(text: str) -> Plan | list[str]:
    """The plan in the planner's answer, or the reasons it is unusable (never raises)."""
    try:
        data = extract_json(text, (dict,), PlanError)
    except PlanError as exc:
        return [without_quote(exc)]
    return plan_from_json(data)


def plan_from_json(data: Any) -> Plan | list[str]:
    """A plan from its JSON form (the planner's answer, or a stored run state)."""
    if not isinstance(data, Mapping):
        return [f"the plan must be a JSON object, not {_kind(data)}"]
    reasons: list[str] = []
    summary = data.get("summary", "")
    if not isinstance(summary, str):
        reasons.append(f'"summary" must be a string, not {_kind(summary)}')
        summary = ""
    raw = data.get("subtasks")
    if not isinstance(raw, list):
        reasons.append(f'"subtasks" must be a list of objects, not {_kind(raw)}')
        return reasons
    subtasks = []
    for index, item in enumerate(raw, 1):
        subtask = _subtask(index, item, reasons)
        if subtask is not None:
            subtasks.append(subtask)
    return reasons or Plan(summary.strip(), tuple(subtasks))


def _subtask(index: int, item: Any, reasons: list[str]) -> Subtask | None:
    where = f"subtask {index}"
    if not isinstance(item, Mapping):
        reasons.append(f"{where} must be a JSON object, not {_kind(item)}")
        return None
    before = len(reasons)
    raw_id = item.get("id")
    if isinstance(raw_id, str) and raw_id:
        where = f"subtask {raw_id!r}" if ID_PATTERN.fullmatch(raw_id) else where
    fields = {name: _text(item, name, where, reasons) for name in ("id", "type", "title")}
    instructions = _text(item, "instructions", where, reasons)
    files = _strings(item, "files", where, reasons)
    depends_on = _strings(item, "depends_on", where, reasons, required=False)
    signatures = item.get("signatures", [])
    if isinstance(signatures, str):  # one signature block given as a string: take it as is
        signatures = [signatures]
    signatures = _strings({"signatures": signatures}, "signatures", where, reasons, required=False)
    hard = item.get("hard", False)
    if not isinstance(hard, bool):
        reasons.append(f'{where}: "hard" must be true or false, not {_kind(hard)}')
    if len(reasons) > before:
        return None
    return Subtask(
        id=fields["id"],
        type=fields["type"],
        title=fields["title"],
        instructions=instructions,
        files=tuple(files),
        depends_on=tuple(depends_on),
        signatures=tuple(signatures),
        hard=hard,
    )


def _text(item: Mapping[str, Any], name: str, where: str, reasons: list[str]) -> str:
    value = item.get(name)
    if not isinstance(value, str) or not value.strip():
        reasons.append(f'{where}: "{name}" must be a non-empty string, not {_kind(value)}')
        return ""
    return value.strip()


def _strings(
    item: Mapping[str, Any], name: str, where: str, reasons: list[str], *, required: bool = True
) -> list[str]:
    value = item.get(name, None if required else [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        reasons.append(f'{where}: "{name}" must be a list of strings, not {_kind(value)}')
        return []
    return [v.strip() for v in value]


def _kind(value: Any) -> str:
    if value is None:
        return "missing or null"
    return {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
    }.get(type(value), type(value).__name__)
