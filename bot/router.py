"""Map events to handlers, in registration order: ``router.on("issues.labeled")(handler)``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.events import Event

Handler = Callable[[Event, Any], None]


class Router:
    def __init__(self) -> None:
        # A list, not a dict of sets: handlers for one event run in a fixed, readable order.
        self._routes: list[tuple[str, Handler]] = []

    def on(self, *kinds: str) -> Callable[[Handler], Handler]:
        """Register for ``"name"`` (any action) or ``"name.action"``."""

        def register(handler: Handler) -> Handler:
            for kind in kinds:
                self._routes.append((kind, handler))
            return handler

        return register

    def include(self, other: Router) -> None:
        self._routes.extend(other._routes)

    def handlers_for(self, event: Event) -> list[Handler]:
        seen: list[Handler] = []
        for kind, handler in self._routes:
            if kind in (event.name, event.kind) and handler not in seen:
                seen.append(handler)
        return seen
