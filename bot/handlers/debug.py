"""Diagnose red CI on a pull request when it gets the debug label (``tierbot:debug``)."""

from __future__ import annotations

from bot.dispatch import Router
from bot.events import Event
from bot.service.context import Context
from bot.service.diagnosis import TASK_TYPE, diagnose_pull
from bot.service.gate import labelled_for

router = Router()


@router.on("pull_request.labeled")
def debug_on_label(event: Event, ctx: Context) -> None:
    config = labelled_for(event, ctx, TASK_TYPE)
    if config is not None and event.repo is not None and event.number is not None:
        diagnose_pull(ctx, event.repo, event.number, config)
