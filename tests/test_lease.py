"""The lease a worker holds, and the guard that stops writes and paid calls once it is gone."""

from __future__ import annotations

import pytest

from bot.actions import AddLabels, Commit, UpsertComment
from bot.core.types import EditSet, FileEdit
from bot.executor import Executor
from bot.lease import Guarded, Lease, LeaseLost
from tests.support.fakes import FakeWorkspace


class Monotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_lease_holds_until_its_local_deadline_unless_renewed():
    clock = Monotonic()
    lease = Lease(clock.now, valid_s=30, clock=clock)
    clock.now += 29.9
    lease.check()
    lease.renewed(clock.now - 1)  # a heartbeat that began a second ago
    clock.now += 28.9
    lease.check()
    clock.now += 0.2
    with pytest.raises(LeaseLost, match="could not be renewed in time"):
        lease.check()
    lease.renewed(clock.now)  # too late: a lost lease stays lost
    with pytest.raises(LeaseLost):
        lease.check()


def test_a_lease_taken_by_another_worker_is_lost_at_once():
    clock = Monotonic()
    lease = Lease(clock.now, valid_s=30, clock=clock)
    lease.lose("another worker took the job")
    with pytest.raises(LeaseLost, match="another worker took the job"):
        lease.check()


class Recorder:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def save(self, item: str) -> None:
        self.calls.append(f"save {item}")

    def get(self, item: str) -> str:
        self.calls.append(f"get {item}")
        return item


def test_guarded_methods_check_first_and_the_rest_pass_through():
    lost = []

    def guard() -> None:
        if lost:
            raise LeaseLost("gone")

    store = Recorder()
    guarded = Guarded(store, guard, ("save",))
    guarded.save("a")
    lost.append(True)
    with pytest.raises(LeaseLost):
        guarded.save("b")
    assert guarded.get("c") == "c"  # reads are never refused
    assert store.calls == ["save a", "get c"]


class GitHubWrites:
    def __init__(self) -> None:
        self.writes: list[object] = []

    def upsert_comment(self, *args: object) -> int:
        self.writes.append(args)
        return 1

    def add_labels(self, *args: object) -> None:
        self.writes.append(args)


def test_the_executor_writes_nothing_once_the_lease_is_lost():
    github, ws = GitHubWrites(), FakeWorkspace({"a.py": "A = 1\n"})
    lost: list[bool] = []

    def guard() -> None:
        if lost:
            raise LeaseLost("another worker took the job")

    executor = Executor(github=github, workspace=ws, dry_run=False, guard=guard)
    executor.apply(UpsertComment("o/r", 1, "<!-- m", "<!-- m status"))
    lost.append(True)
    for action in (
        AddLabels("o/r", 1, ("tierbot:done",)),
        Commit(EditSet((FileEdit("a.py", "A = 2\n"),)), "Set A"),
    ):
        with pytest.raises(LeaseLost):
            executor.apply(action)
    assert len(github.writes) == 1 and ws.commits == [] and ws.files["a.py"] == "A = 1\n"
    # A dry run writes nothing anyway and needs no lease.
    applied = Executor(github=github, dry_run=True, guard=guard).apply(AddLabels("o/r", 1, ("x",)))
    assert applied.dry_run and len(github.writes) == 1
