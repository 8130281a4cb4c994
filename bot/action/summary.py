"""The job summary (a Markdown cost table) and the step outputs, in the runner's file formats."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, select

from bot.action.snapshot import CALLS
from bot.core.state import money


@dataclass(frozen=True)
class CallLine:
    tier: str
    model: str
    prompt_tokens: int | None
    completion_tokens: int | None
    cost_usd: float | None
    outcome: str
    this_run: bool


def calls(ledger: Engine, *, since: datetime) -> list[CallLine]:
    """Every model call the ledger holds (this run's and those loaded from GitHub)."""
    with ledger.connect() as conn:
        rows = conn.execute(select(CALLS).order_by(CALLS.c.id)).mappings()
        return [
            CallLine(
                r["tier"],
                r["model"],
                r["prompt_tokens"],
                r["completion_tokens"],
                r["cost_usd"],
                r["outcome"],
                r["created_at"] >= since,
            )
            for r in rows
        ]


def total(lines: Sequence[CallLine]) -> float | None:
    """The sum, or None when a call's cost is unknown (a refused call was never made)."""
    costs = [c.cost_usd for c in lines if c.outcome != "refused"]
    return None if any(c is None for c in costs) else float(sum(c or 0.0 for c in costs))


def render(headline: str, lines: Sequence[CallLine], notes: Sequence[str] = ()) -> str:
    out = ["### tierbot", "", headline, ""]
    out += [f"> {note}" for note in notes]
    if notes:
        out.append("")
    if not lines:
        out.append("No model call was made.")
        return "\n".join(out) + "\n"
    out += [
        "| | tier | model | tokens in | tokens out | cost | outcome |",
        "| - | - | - | -: | -: | -: | - |",
    ]
    for n, c in enumerate(lines, 1):
        mark = "this run" if c.this_run else "earlier"
        out.append(
            f"| {n} ({mark}) | {c.tier} | `{c.model}` | {_n(c.prompt_tokens)} | "
            f"{_n(c.completion_tokens)} | {money(c.cost_usd)} | {c.outcome} |"
        )
    now = [c for c in lines if c.this_run]
    out += [
        "",
        f"**This run:** {money(total(now))} over {len(now)} call(s). "
        f"**The task so far:** {money(total(lines))}.",
    ]
    return "\n".join(out) + "\n"


def _n(value: int | None) -> str:
    return "?" if value is None else str(value)


def append_summary(path: Path | None, text: str) -> None:
    if path is not None:
        with path.open("a", encoding="utf-8") as f:
            f.write(text)


def write_outputs(path: Path | None, outputs: Mapping[str, str]) -> None:
    """``name<<DELIM`` blocks, so no value can start a line that sets another output."""
    if path is None:
        return
    with path.open("a", encoding="utf-8") as f:
        for name, value in outputs.items():
            delimiter = f"tierbot_{uuid.uuid4().hex}"
            f.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
