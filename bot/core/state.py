"""The status comment: task state for people, plus a hidden marker for the bot to find it again."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MARKER_PREFIX = "<!-- tierbot:state "
MARKER = re.compile(r"<!-- tierbot:state (\{.*?\}) -->", re.DOTALL)
STATUS_ICON = {
    "running": "⏳",
    "done": "✅",
    "needs-human": "🙋",
    "budget-stop": "💸",
    "cancelled": "⏹️",
    "config-error": "⚠️",
    "nothing-to-do": "➖",
}


@dataclass(frozen=True)
class StepLine:
    number: int
    tier: str
    outcome: str
    detail: str
    cost_usd: float | None


def encode_marker(state: Mapping[str, Any]) -> str:
    # "--" cannot appear inside an HTML comment; JSON escapes keep it out.
    text = json.dumps(dict(state), sort_keys=True, separators=(",", ":")).replace("--", "-\\u002d")
    return f"{MARKER_PREFIX}{text} -->"


def decode_marker(body: str) -> dict[str, Any] | None:
    match = MARKER.search(body or "")
    if not match:
        return None
    try:
        data = json.loads(match.group(1))
    except json.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def money(value: float | None) -> str:
    return "unknown" if value is None else f"${value:.4f}"


def render_status(
    *,
    issue: int,
    task_type: str,
    status: str,
    headline: str,
    steps: Sequence[StepLine],
    cost_usd: float | None,
    senior_cost_usd: float | None,
    next_step: str,
    marker: Mapping[str, Any],
    start_reason: str = "",
) -> str:
    """The one comment tierbot keeps on an issue, edited in place at each step."""
    icon = STATUS_ICON.get(status, "")
    lines = [f"### {icon} tierbot: {task_type} task — {status}".strip(), "", headline, ""]
    if start_reason:
        lines += [f"**Why it started there:** {start_reason}", ""]
    if steps:
        lines += ["| # | tier | outcome | cost | detail |", "| - | - | - | - | - |"]
        for s in steps:
            detail = s.detail.replace("|", "\\|").replace("\n", " ")[:160]
            lines.append(
                f"| {s.number} | {s.tier} | {s.outcome} | {money(s.cost_usd)} | {detail} |"
            )
        lines.append("")
    lines.append(f"**Cost so far:** {money(cost_usd)} (all on senior: {money(senior_cost_usd)})")
    if next_step:
        lines.append(f"**Next:** {next_step}")
    lines += ["", encode_marker({"issue": issue, **marker})]
    return "\n".join(lines)
