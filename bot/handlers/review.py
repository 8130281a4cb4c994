"""Review a pull request on its review label, or when it opens (``review.on_open``)."""

from __future__ import annotations

from bot.config import ConfigError
from bot.dispatch import Router
from bot.events import Event
from bot.service.context import Context
from bot.service.gate import labelled_for, may_act
from bot.service.review import TASK_TYPE, review_pull

router = Router()


@router.on("pull_request.labeled")
def review_on_label(event: Event, ctx: Context) -> None:
    config = labelled_for(event, ctx, TASK_TYPE)
    if config is not None and event.repo is not None and event.number is not None:
        review_pull(ctx, event.repo, event.number, config)


@router.on("pull_request.opened", "pull_request.ready_for_review")
def review_on_open(event: Event, ctx: Context) -> None:
    if event.draft or event.repo is None or event.number is None:
        return
    config = ctx.repo_config(event)
    # A broken config is reported when someone asks for tierbot, not on every new PR.
    if isinstance(config, ConfigError) or not config.review.on_open:
        return
    if may_act(event, ctx):
        review_pull(ctx, event.repo, event.number, config)
