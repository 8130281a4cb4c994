"""The gates every trigger shares (who may act, which label), comment tasks' tier, error text."""

from __future__ import annotations

import logging

from bot.actions import Refuse
from bot.config import ConfigError, RepoConfig
from bot.core.context import strip_html_comments
from bot.core.logs import scrub
from bot.core.routing import type_for_label
from bot.events import Event
from bot.service.context import Context
from bot.service.status import report_config_error

log = logging.getLogger("tierbot.gate")
MAX_DETAIL_CHARS = 600


def may_act(event: Event, ctx: Context) -> bool:
    """The sender may trigger work; otherwise the refusal is recorded, never silently dropped."""
    refusal = ctx.sender_may_act(event)
    if refusal is None:
        return True
    assert event.repo is not None
    sender = event.sender.login if event.sender else "?"
    ctx.executor.apply(Refuse(event.repo.full_name, event.number, sender, event.kind, refusal))
    ctx.echo(f"refused {event.kind} on {event.repo.full_name}#{event.number}: {refusal}")
    log.info("refused %s on %s#%s: %s", event.kind, event.repo.full_name, event.number, refusal)
    return False


def labelled_for(event: Event, ctx: Context, task_type: str) -> RepoConfig | None:
    """The repo config when ``event`` adds ``task_type``'s label to a pull request by a writer.

    The label is the config's (``task_types.<type>.label``), so the config is read first; a
    broken config is reported on the PR only when the label looks like tierbot's own.
    """
    label = event.label or ""
    if not event.is_pull_request or event.repo is None or event.number is None or not label:
        return None
    config = ctx.repo_config(event)
    if isinstance(config, ConfigError):
        if label.startswith("tierbot:"):
            report_config_error(ctx, event.repo.full_name, event.number, config)
        return None
    if type_for_label(config, label) != task_type:
        return None
    return config if may_act(event, ctx) else None


def comment_tier(config: RepoConfig, task_type: str) -> str:
    """The tier a comment task runs at: its task type's start tier, else the top of the ladder.

    Reviews and diagnoses need a model: a template start tier gives way to the first model
    tier above it.
    """
    spec = config.task_types.get(task_type)
    start = spec.start if spec is not None else config.ladder[-1]
    above = config.ladder[config.ladder.index(start) :]
    return next((t for t in above if not config.tier(t).is_template), config.ladder[-1])


def comment_detail(text: str) -> str:
    """Error text on its way into a comment: no secrets, no hidden markers, one bounded line."""
    flat = " ".join(strip_html_comments(scrub(text)).split())
    return flat[:MAX_DETAIL_CHARS] + ("..." if len(flat) > MAX_DETAIL_CHARS else "")
