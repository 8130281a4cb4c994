"""``tierbot calibrate``: each task type's recommendation, as text, JSON, or an edit of
``.github/tierbot.yml`` that keeps the file's comments and layout (ruamel.yaml round trip)."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

from bot.config import RepoConfig
from bot.core.calibration import Recommendation, TaskOutcome, recommend


def calibrate(config: RepoConfig, outcomes: Sequence[TaskOutcome]) -> list[Recommendation]:
    """One recommendation per task type that makes commits (the ones a start tier applies to)."""
    recs = []
    for name, spec in config.task_types.items():
        if spec.output != "commit":
            continue
        recs.append(
            recommend(
                name,
                outcomes,
                ladder=config.ladder,
                configured=spec.start,
                ceiling=spec.ceiling,
                min_history=config.routing.min_history,
            )
        )
    return recs


def to_json(recs: Iterable[Recommendation]) -> list[dict[str, Any]]:
    out = []
    for r in recs:
        out.append(
            {
                "task_type": r.task_type,
                "configured": r.configured,
                "recommended": r.tier,
                "changes": r.changes,
                "reason": r.reason,
                "tasks": r.tasks,
                "needed": r.needed,
                "starts": [
                    {
                        "tier": s.tier,
                        "tasks": s.tasks,
                        "done": s.done,
                        "done_rate": s.done_rate,
                        "done_rate_low": s.interval[0],
                        "done_rate_high": s.interval[1],
                        "cost_per_done_usd": "unknown"
                        if s.cost_per_done_usd is None and s.unknown_cost
                        else s.cost_per_done_usd,
                        "unknown_cost_tasks": s.unknown_cost,
                    }
                    for s in r.records
                ],
            }
        )
    return out


def advice(r: Recommendation) -> str | None:
    """What to do with the type's start tier, or None when there is no recommendation."""
    if r.tier is None:
        return None
    return f"start at {r.tier} instead of {r.configured}" if r.changes else f"keep {r.configured}"


def describe(recs: Iterable[Recommendation]) -> list[str]:
    """Plain lines for a terminal."""
    lines = []
    for r in recs:
        said = advice(r)
        verdict = f"no recommendation: {r.reason}" if said is None else f"{said}: {r.reason}"
        lines.append(f"{r.task_type}: {verdict}")
        for s in r.records:
            low, high = s.interval
            cost = s.cost_per_done_usd
            shown = "unknown" if cost is None else f"${cost:.4f}"
            lines.append(
                f"    from {s.tier}: {s.done}/{s.tasks} done "
                f"(95% CI {low:.0%}–{high:.0%}), {shown} per done task"
            )
    return lines


def apply_to_yaml(text: str | None, recs: Iterable[Recommendation]) -> tuple[str, list[str]]:
    """``text`` (the repository's config, or None) with each changed start tier written in;
    comments, key order and quoting elsewhere are kept. Returns the new text and the keys set."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap

    yaml = YAML()
    yaml.preserve_quotes = True
    doc = yaml.load(text) if text and text.strip() else None
    if doc is None:
        doc = CommentedMap()
    if not isinstance(doc, dict):
        raise ValueError("the config file's top level is not a mapping")
    changed = []
    for r in recs:
        if not r.changes:
            continue
        types = doc.setdefault("task_types", CommentedMap())
        entry = types.get(r.task_type)
        if entry is None:
            entry = types[r.task_type] = CommentedMap()
        if not isinstance(entry, dict):
            raise ValueError(f"task_types.{r.task_type} is not a mapping")
        entry["start"] = r.tier
        changed.append(f"task_types.{r.task_type}.start: {r.tier}")
    out = io.StringIO()
    yaml.dump(doc, out)
    return out.getvalue(), changed


def waiting(recs: Iterable[Recommendation]) -> str:
    """What the types without a recommendation still need, e.g. ``tests needs 15 more ended
    tasks``; empty when every type has one."""
    parts = [
        f"{r.task_type} needs {r.needed} more ended task{'s' if r.needed != 1 else ''}"
        for r in recs
        if r.tier is None and r.needed
    ]
    return "; ".join(parts)


def evidence_table(rec: Recommendation) -> list[str]:
    """A type's start tiers as a Markdown table: tasks, done (Wilson 95 % interval), cost."""
    lines = [
        "| start tier | tasks | done | done rate (95 % CI) | cost per done task |",
        "| --- | ---: | ---: | --- | ---: |",
    ]
    for s in rec.records:
        low, high = s.interval
        cost = s.cost_per_done_usd
        shown = "unknown" if cost is None else f"${cost:.4f}"
        if s.unknown_cost:
            shown += f" ({s.unknown_cost} of {s.tasks} unpriced)"
        rate = "–" if s.done_rate is None else f"{s.done_rate:.0%}"
        lines.append(
            f"| {s.tier} | {s.tasks} | {s.done} | {rate} ({low:.0%}–{high:.0%}) | {shown} |"
        )
    return lines


def pr_body(recs: Sequence[Recommendation], changed: Sequence[str], *, source: str) -> str:
    """The calibration pull request's body: each type's verdict with its evidence."""
    out = [
        f"tierbot calibrated where each task type should start, from {source}. A start "
        "tier's record counts every task that started there: how many ended done (with a 95 % "
        "Wilson interval) and all the money spent on them per done task, escalations and "
        "tasks that ended without a result included.",
        "",
        "This pull request changes `.github/tierbot.yml` only:",
        "",
        *[f"- `{c}`" for c in changed],
    ]
    for r in recs:
        said = advice(r)
        heading = f"{r.task_type}: {said or f'no recommendation yet ({r.reason})'}"
        out += ["", f"### {heading}"]
        if r.records:
            out += ["", *evidence_table(r)]
    out += ["", "Re-running `tierbot calibrate --apply --github` updates this pull request."]
    return "\n".join(out) + "\n"
