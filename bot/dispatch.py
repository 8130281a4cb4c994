"""Map events to handlers, in registration order: ``router.on("issues.labeled")(handler)``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from bot.events import Event

Handler = Callable[[Event, Any], None]
# Called when a job ends without success for good: (event, context, why). It tells the people
# waiting (a status comment stuck at "Starting" otherwise stays stuck).
FailureHandler = Callable[[Event, Any, str], None]
_H = TypeVar("_H")


class Router:
    def __init__(self) -> None:
        # A list, not a dict of sets: handlers for one event run in a fixed, readable order.
        self._routes: list[tuple[str, Handler]] = []
        self._failures: list[tuple[str, FailureHandler]] = []

    def on(self, *kinds: str) -> Callable[[Handler], Handler]:
        """Register for ``"name"`` (any action) or ``"name.action"``."""
        return _registrar(self._routes, kinds)

    def on_failure(self, *kinds: str) -> Callable[[FailureHandler], FailureHandler]:
        """Register what to do when a job for these events fails for good."""
        return _registrar(self._failures, kinds)

    def include(self, other: Router) -> None:
        self._routes.extend(other._routes)
        self._failures.extend(other._failures)

    def handlers_for(self, event: Event) -> list[Handler]:
        return _matching(self._routes, event)

    def failure_handlers_for(self, event: Event) -> list[FailureHandler]:
        return _matching(self._failures, event)


def _registrar(routes: list[tuple[str, _H]], kinds: tuple[str, ...]) -> Callable[[_H], _H]:
    def register(handler: _H) -> _H:
        for kind in kinds:
            routes.append((kind, handler))
        return handler

    return register


def _matching(routes: list[tuple[str, _H]], event: Event) -> list[_H]:
    seen: list[_H] = []
    for kind, handler in routes:
        if kind in (event.name, event.kind) and handler not in seen:
            seen.append(handler)
    return seen
