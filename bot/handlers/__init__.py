"""Event handlers, one module per event family, composed into one router."""

from __future__ import annotations

from bot.dispatch import Router


def build_router() -> Router:
    from bot.handlers import ci, commands, debug, failures, review, tasks

    router = Router()
    router.include(tasks.router)
    router.include(ci.router)
    router.include(review.router)
    router.include(debug.router)
    router.include(commands.router)
    router.include(failures.router)
    return router
