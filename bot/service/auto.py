"""``tierbot:auto``: triage an issue, then start the chosen type's task as its label would.

The decision is ``bot/orchestrator/triage.py: decide``, the one `tierbot run` makes without
``--type``: free when the words decide, else one metered call to the cheapest model tier,
recorded as its own ledger task of type ``triage``. It is kept with the issue's task and shown
in the status comment; a concrete task label applied later replaces the auto task.
"""

from __future__ import annotations

from bot.config import RepoConfig
from bot.core.types import Status
from bot.events import Event
from bot.orchestrator.github import make_orchestrator
from bot.orchestrator.triage import Decision, decide, triage_tier
from bot.service import tasks
from bot.service.context import Context


def start(ctx: Context, event: Event, config: RepoConfig) -> None:
    """Triage the issue ``event`` labelled (once: a repeated event or a resumed task keeps the
    first decision), then start the task of the chosen type; ``feature`` is the orchestrator."""
    assert event.repo is not None and event.number is not None
    repo, issue, label = event.repo.full_name, event.number, event.label or ""
    title, text = event.title, event.body
    existing = ctx.store.get(repo, issue)
    kept = existing is not None and existing.label == label and existing.triage
    if kept and existing is not None and existing.status in (Status.RUNNING, Status.DONE):
        assert existing.triage is not None
        decision = Decision.from_json(existing.triage)
    else:
        decision = triage_issue(ctx, config, repo, issue, f"{title}\n\n{text}")
    ctx.echo(f"{repo}#{issue} triaged: {decision.type} ({decision.source}: {decision.reason})")
    tasks.start(
        ctx,
        event.repo,
        config,
        issue=issue,
        label=label,
        task_type=decision.type,
        title=title,
        text=text,
        triage=decision.to_json(),
    )


def triage_issue(ctx: Context, config: RepoConfig, repo: str, issue: int, text: str) -> Decision:
    """The words decide for free; otherwise the one call, which a dry run does not make."""
    free = decide(text, config, None, repo=repo)
    if free.source != "dry-run":
        return free
    paid = ctx.executor.begin(
        f"ask the {triage_tier(config)} tier once which task {repo}#{issue} is",
        lambda: decide(text, config, make_orchestrator(ctx, config, repo), repo=repo),
    )
    return paid if paid is not None else free
