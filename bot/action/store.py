"""Task state without a database: the issue's status comment carries it in a hidden block.

The block holds the ``IssueTask`` (status, branch, PR, the engine's saved loop state) and the
ledger rows of the issue's task, so the next Action run (CI finished on the bot's PR) resumes
where this one stopped and ``tierbot report --github`` can price the work. Only comments the
token's own account wrote are read, so a pasted block is ignored.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import asdict, fields
from typing import Any

from sqlalchemy import Engine

from bot.action import snapshot
from bot.action.forge import ActionForge
from bot.actions import UpsertComment
from bot.adapters.github import CommentInfo
from bot.core.logs import Redactor, redact_json
from bot.core.state import MARKER_PREFIX
from bot.ports.tasks import IssueTask, Refusal

RUN_PREFIX = "<!-- tierbot:run "
RUN_BLOCK = re.compile(r"\n*<!-- tierbot:run (\S*) -->")
NOTICE_START, NOTICE_END = "<!-- tierbot:notice -->", "<!-- /tierbot:notice -->"
NOTICE_BLOCK = re.compile(r"\n*<!-- tierbot:notice -->.*?<!-- /tierbot:notice -->", re.DOTALL)
# GitHub refuses comments over 65,536 characters; the visible table needs some of them.
MAX_BLOCK = 50_000
ITEM_FIELDS = {f.name for f in fields(IssueTask)}


def task_slug(issue: int) -> str:
    return f"issue-{issue}"


class CommentTaskStore:
    """The ``IssueTaskStore`` of an Action run (``get``, ``save``, ``refuse``)."""

    def __init__(
        self,
        github: ActionForge,
        *,
        act: Callable[[UpsertComment], Any],
        ledger: Engine,
        redactor: Redactor,
        notice: str | None = None,
        warn: Callable[[str], None] = lambda _line: None,
    ) -> None:
        self._github = github
        self._act = act
        self._ledger = ledger
        self._redactor = redactor
        self.notice = notice
        self._warn = warn
        self._items: dict[tuple[str, int], IssueTask] = {}
        self._loaded: set[tuple[str, int]] = set()
        self.refused: list[Refusal] = []
        snapshot.create_tables(ledger)

    # -- the store port --------------------------------------------------------------------

    def get(self, repo: str, issue: int) -> IssueTask | None:
        key = (repo, issue)
        if key in self._items:
            return copy.deepcopy(self._items[key])
        comment = self._status_comment(repo, issue)
        if comment is None:
            return None
        data = self._read_block(comment, repo, issue)
        if data is None:
            return None
        item = _item(data.get("item"), repo, issue)
        if item is None:
            self._warn(f"the state block of {repo}#{issue} holds no task; ignored")
            return None
        item.comment_id = comment.id
        if key not in self._loaded:
            self._loaded.add(key)
            try:
                snapshot.load(self._ledger, data.get("ledger") or {"v": snapshot.VERSION})
            except (snapshot.SnapshotError, ValueError, TypeError) as exc:
                self._warn(f"the ledger rows in {repo}#{issue}'s status comment: {exc}; ignored")
        self._items[key] = item
        return copy.deepcopy(item)

    def save(self, item: IssueTask) -> None:
        key = (item.repo, item.issue)
        self._loaded.add(key)  # rows written from now on are this run's; none to load
        self._items[key] = copy.deepcopy(item)
        comment = self._status_comment(item.repo, item.issue)
        if comment is None:
            return  # the status comment is posted next and saves again
        body = self.body(comment.body, item)
        if body != comment.body:
            self._act(UpsertComment(item.repo, item.issue, MARKER_PREFIX, body))

    def refuse(self, refusal: Refusal) -> None:
        self.refused.append(refusal)

    def items(self) -> list[IssueTask]:
        return [copy.deepcopy(i) for i in self._items.values()]

    # -- the comment -----------------------------------------------------------------------

    def body(self, current: str, item: IssueTask) -> str:
        """``current`` with this run's notice and the state block in place of the old ones."""
        visible = RUN_BLOCK.sub("", NOTICE_BLOCK.sub("", current)).rstrip()
        if self.notice:
            visible += f"\n\n{NOTICE_START}\n{self.notice}\n{NOTICE_END}"
        return f"{visible}\n{RUN_PREFIX}{self._block(item)} -->"

    def _block(self, item: IssueTask) -> str:
        state = asdict(item)
        # The state goes back into prompts when the task resumes: secrets out, code kept.
        state["state"] = redact_json(item.state, self._redactor.tokens)
        ledger = snapshot.dump(
            self._ledger,
            repo=item.repo,
            slug=task_slug(item.issue),
            budget_key=f"{item.repo}#{item.issue}",
        )
        encoded = snapshot.encode({"item": state, "ledger": ledger})
        if len(encoded) > MAX_BLOCK:
            encoded = snapshot.encode({"item": state, "ledger": snapshot.lighten(ledger)})
        if len(encoded) > MAX_BLOCK:
            self._warn(
                f"the ledger rows of {item.repo}#{item.issue} do not fit in its status comment; "
                "only the task's state is kept"
            )
            encoded = snapshot.encode({"item": state, "ledger": None})
        return encoded

    def _status_comment(self, repo: str, issue: int) -> CommentInfo | None:
        for comment in self._github.comments(repo, issue):
            if MARKER_PREFIX in comment.body and self._github.is_own(comment):
                return comment
        return None

    def _read_block(self, comment: CommentInfo, repo: str, issue: int) -> dict[str, Any] | None:
        match = RUN_BLOCK.search(comment.body)
        if match is None:
            return None
        try:
            return snapshot.decode(match.group(1))
        except snapshot.SnapshotError as exc:
            self._warn(f"the state block in {repo}#{issue}'s status comment is {exc}; ignored")
            return None


def read_block(body: str) -> dict[str, Any] | None:
    """The decoded block of a status comment, or None (absent or unreadable)."""
    match = RUN_BLOCK.search(body)
    if match is None:
        return None
    try:
        return snapshot.decode(match.group(1))
    except snapshot.SnapshotError:
        return None


def _item(data: Any, repo: str, issue: int) -> IssueTask | None:
    if not isinstance(data, dict):
        return None
    values = {k: v for k, v in data.items() if k in ITEM_FIELDS}
    values.update(repo=repo, issue=issue)  # the comment's place decides, not its text
    try:
        item = IssueTask(**values)
    except TypeError:
        return None
    if not isinstance(item.status, str) or not (item.state is None or isinstance(item.state, dict)):
        return None
    if not (item.triage is None or isinstance(item.triage, dict)):
        return None
    return item
