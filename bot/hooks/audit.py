"""Write what a hook generated to the ledger, one task per generated item, never failing the hook.

The ledger is an audit trail: ``tierbot report`` shows the template tier's free work next to
what the model tiers cost. A hook's job is the commit in front of the developer, so a ledger
that cannot be opened (a read-only git dir, a locked or unreachable database, a missing driver)
costs one note line, never the exit status.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bot.hooks.common import Echo

if TYPE_CHECKING:
    from bot.core.types import Usage
    from bot.ports import CallRecord
    from bot.spec import RepoConfig

TEMPLATE = "template"


@dataclass(frozen=True)
class Item:
    """One generated item: the tests of one public name, or the body of one stub."""

    task_type: str  # "tests" or "stub", the task types `tierbot report` groups by
    title: str
    detail: str  # what was written where
    read_chars: int  # what a model would have read for the same work (the counterfactual)
    wrote_chars: int
    call: CallRecord | None = None  # a model call; None: the template tier (free)
    done: bool = True  # False: a model call that wrote nothing

    @property
    def tier(self) -> str:
        return self.call.tier if self.call is not None else TEMPLATE


def record(
    items: Sequence[Item],
    *,
    repo_root: Path,
    git_dir: Path,
    config: RepoConfig,
    env: Mapping[str, str],
    out: Echo,
    hook: str,
) -> None:
    """Record ``items`` as finished tasks; any failure is one note line on ``out``."""
    if not items:
        return
    try:
        _record(items, repo_root=repo_root, git_dir=git_dir, config=config, env=env)
    except Exception as exc:  # the audit trail must never fail a commit; say why, move on
        detail = " ".join(str(exc).split())[:200] or type(exc).__name__
        out(f"{hook}: note: the ledger was not updated ({detail})")


def _record(
    items: Sequence[Item],
    *,
    repo_root: Path,
    git_dir: Path,
    config: RepoConfig,
    env: Mapping[str, str],
) -> None:
    from bot.adapters.ledger import SqlLedger
    from bot.adapters.prices import load_price_table
    from bot.core import budget as money
    from bot.core.types import Outcome, Status, Task, slugify
    from bot.settings import Settings

    senior_price = money.price_for(config.tier(config.ladder[-1]), load_price_table())
    url = Settings.from_env(env).ledger_url(git_dir)
    with SqlLedger(url) as ledger:
        for item in items:
            started = time.monotonic()
            task = Task(
                type=item.task_type,
                text=item.detail,
                title=item.title[:120],
                slug=slugify(item.title),
            )
            task_id = ledger.start_task(
                repo=str(repo_root), task=task, start_tier=item.tier, ceiling=item.tier
            )
            attempt_id = ledger.start_attempt(task_id, number=1, tier=item.tier)
            call, usage = _call(item, time.monotonic() - started)
            senior = money.cost(senior_price, usage) if call.outcome == "ok" else 0.0
            ledger.record_call(task_id, attempt_id, call)
            ledger.finish_attempt(
                attempt_id,
                outcome=Outcome.GREEN if item.done else Outcome.MODEL_ERROR,
                detail=item.detail,
                commit_sha=None,
                senior_cost_usd=senior,
            )
            ledger.finish_task(
                task_id,
                status=Status.DONE if item.done else Status.NEEDS_HUMAN,
                reason=item.detail
                if item.done
                else f"left as a stub: {call.error or call.outcome}",
                branch=None,
                cost_usd=call.cost_usd if call.outcome != "refused" else 0.0,
                senior_cost_usd=senior,
            )


def _call(item: Item, latency_s: float) -> tuple[CallRecord, Usage]:
    """The item's model call, or the template tier's free one with the tokens it stood for."""
    from bot.core import budget as money
    from bot.core.types import Usage
    from bot.ports import CallRecord

    if item.call is not None:
        return item.call, Usage(item.call.prompt_tokens, item.call.completion_tokens)
    typical = money.CHARS_PER_TOKEN_TYPICAL
    usage = Usage(
        money.estimate_tokens("x" * item.read_chars, chars_per_token=typical),
        money.estimate_tokens("x" * item.wrote_chars, chars_per_token=typical),
    )
    return CallRecord(TEMPLATE, TEMPLATE, 0, 0, 0.0, latency_s, "ok"), usage
