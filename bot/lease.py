"""A claimed job's lease as its worker sees it, and the guard every write and paid call passes.

A worker may write (GitHub, git, the task store, the ledger) or pay for a model call only while
it holds its job's lease. Cancellation is cooperative: the heartbeat thread records renewals
and losses here, and each guarded operation calls ``check`` first, which raises ``LeaseLost``
once the lease was taken by another worker or could not be renewed in time. The local deadline
ends ``margin`` before the database's, so the old worker stops before another may claim.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

Guard = Callable[[], None]


class LeaseLost(Exception):
    """The worker no longer holds its job's lease; it stops before another worker takes over."""


def unguarded() -> None:
    """The guard of work that holds no lease (the CLI, ``tierbot replay``)."""
    return None


class Lease:
    """Valid for ``valid_s`` seconds after ``started`` or the start of the last renewal."""

    def __init__(
        self, started: float, *, valid_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._valid_s = valid_s
        self._clock = clock
        self._until = started + valid_s
        self._lost: str | None = None
        self._lock = threading.Lock()

    def renewed(self, started: float) -> None:
        """A heartbeat that began at ``started`` (before its database write) succeeded."""
        with self._lock:
            self._until = max(self._until, started + self._valid_s)

    def lose(self, why: str) -> None:
        with self._lock:
            self._lost = self._lost or why

    @property
    def lost(self) -> str | None:
        """Why the lease is no longer held, or None while it is."""
        with self._lock:
            if self._lost is None and self._clock() >= self._until:
                self._lost = "the lease could not be renewed in time"
            return self._lost

    def check(self) -> None:
        why = self.lost
        if why is not None:
            raise LeaseLost(why)


class Guarded:
    """``target`` whose ``methods`` call ``guard`` first; every other attribute passes through
    unchanged (so reads, and writes that must happen anyway, such as recording money already
    spent, are never refused)."""

    def __init__(self, target: Any, guard: Guard, methods: Iterable[str]) -> None:
        self._target = target
        self._guard = guard
        self._methods = frozenset(methods)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if name not in self._methods:
            return attr

        def guarded(*args: Any, **kwargs: Any) -> Any:
            self._guard()
            return attr(*args, **kwargs)

        return guarded

    def __repr__(self) -> str:
        return f"Guarded({self._target!r})"
