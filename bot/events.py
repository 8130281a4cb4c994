"""Typed events from raw GitHub webhook payloads: parsed once here, read everywhere else."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# The events tierbot acts on. Others are accepted (202) and ignored: GitHub adds events over
# time and a delivery the bot does not know is not an error.
HANDLED_EVENTS = frozenset(
    {
        "issues",
        "issue_comment",
        "pull_request",
        "check_suite",
        "check_run",
        "workflow_run",
        "workflow_job",
        "installation",
        "ping",
    }
)
TASK_BRANCH = re.compile(r"^tierbot/issue-([0-9]{1,18})$")
# What may reach a database column: actions are stored in String(64), owner and repository
# names in the job key (String(255)); ids and numbers in 64-bit integers.
ACTION = re.compile(r"[A-Za-z0-9_.-]{1,64}")
REPO_PART = re.compile(r"[A-Za-z0-9_.-]{1,100}")
MAX_ID = 2**63 - 1
MAX_KEY = 255


class EventError(ValueError):
    """A payload that does not have the shape GitHub documents for its event."""


@dataclass(frozen=True)
class Actor:
    login: str
    is_bot: bool


@dataclass(frozen=True)
class RepoRef:
    owner: str
    name: str
    default_branch: str

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


@dataclass(frozen=True)
class Event:
    """What every handler needs; ``payload`` stays available for rare extra fields."""

    name: str
    action: str | None
    delivery_id: str
    installation_id: int | None
    repo: RepoRef | None
    sender: Actor | None
    payload: Mapping[str, Any] = field(repr=False)
    number: int | None = None  # issue or pull request number
    is_pull_request: bool = False
    label: str | None = None
    title: str = ""
    body: str = ""
    head_branch: str | None = None
    head_sha: str | None = None
    conclusion: str | None = None
    pull_numbers: tuple[int, ...] = ()
    comment_id: int | None = None
    draft: bool = False

    @property
    def kind(self) -> str:
        return f"{self.name}.{self.action}" if self.action else self.name

    @property
    def task_issue(self) -> int | None:
        """The issue a tierbot task branch belongs to (``tierbot/issue-<n>``)."""
        match = TASK_BRANCH.match(self.head_branch or "")
        return int(match.group(1)) if match else None

    @property
    def key(self) -> str:
        """Jobs with the same key never run at once: one issue or pull request at a time."""
        repo = self.repo.full_name if self.repo else "-"
        issue = self.task_issue
        if issue is not None:
            return f"{repo}#{issue}"
        if self.number is not None:
            return f"{repo}#{self.number}"
        if self.pull_numbers:
            return f"{repo}#{self.pull_numbers[0]}"
        if self.head_branch:
            return _bounded(repo, "@", self.head_branch)
        return _bounded(repo, ":", self.delivery_id)


def _bounded(repo: str, separator: str, name: str) -> str:
    """``repo<separator>name``, or a digest of the name when that is too long for the column.

    Git allows longer branch names than the key column holds; the same name still gives the
    same key, so its jobs still run one at a time.
    """
    key = f"{repo}{separator}{name}"
    if len(key) <= MAX_KEY:
        return key
    return f"{repo}{separator}sha256:{hashlib.sha256(name.encode()).hexdigest()[:32]}"


def _mapping(data: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise EventError(f"{where} must be an object")
    return data


def _str(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise EventError(f"{where}.{key} must be a string")
    return value


def _int(data: Mapping[str, Any], key: str, where: str) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_ID:
        raise EventError(f"{where}.{key} must be an integer from 0 to 2**63 - 1")
    return value


def _name(data: Mapping[str, Any], key: str, where: str) -> str:
    value = _str(data, key, where)
    if not REPO_PART.fullmatch(value):
        raise EventError(f"{where}.{key} must be 1 to 100 letters, digits, '_', '.' or '-'")
    return value


def action_of(payload: Any) -> str:
    """The payload's ``action`` ("" when it has none), checked before it is stored."""
    action = payload.get("action") if isinstance(payload, Mapping) else None
    if action is None or action == "":
        return ""
    if not isinstance(action, str) or not ACTION.fullmatch(action):
        raise EventError("payload.action must be up to 64 letters, digits, '_', '.' or '-'")
    return action


def _actor(data: Any) -> Actor | None:
    if not isinstance(data, Mapping) or not isinstance(data.get("login"), str):
        return None
    login = data["login"]
    return Actor(login, data.get("type") == "Bot" or login.endswith("[bot]"))


def _repo(data: Any) -> RepoRef | None:
    if data is None:
        return None
    repo = _mapping(data, "repository")
    owner = _mapping(repo.get("owner"), "repository.owner")
    return RepoRef(
        owner=_name(owner, "login", "repository.owner"),
        name=_name(repo, "name", "repository"),
        default_branch=str(repo.get("default_branch") or "main"),
    )


def parse_event(name: str, delivery_id: str, payload: Any) -> Event:
    """Build an Event; raise EventError when a field a handler relies on is malformed."""
    data = _mapping(payload, "payload")
    action = action_of(data) or None
    installation = data.get("installation")
    installation_id = (
        _int(installation, "id", "installation") if isinstance(installation, Mapping) else None
    )
    common: dict[str, Any] = {
        "name": name,
        "action": action,
        "delivery_id": delivery_id,
        "installation_id": installation_id,
        "repo": _repo(data.get("repository")),
        "sender": _actor(data.get("sender")),
        "payload": data,
    }
    if name in ("issues", "issue_comment"):
        issue = _mapping(data.get("issue"), "issue")
        common.update(
            number=_int(issue, "number", "issue"),
            is_pull_request="pull_request" in issue,
            title=str(issue.get("title") or ""),
            body=str(issue.get("body") or ""),
        )
        if name == "issue_comment":
            comment = _mapping(data.get("comment"), "comment")
            common.update(
                body=str(comment.get("body") or ""), comment_id=_int(comment, "id", "comment")
            )
    elif name == "pull_request":
        pull = _mapping(data.get("pull_request"), "pull_request")
        head = _mapping(pull.get("head"), "pull_request.head")
        common.update(
            number=_int(pull, "number", "pull_request"),
            is_pull_request=True,
            title=str(pull.get("title") or ""),
            body=str(pull.get("body") or ""),
            head_branch=_str(head, "ref", "pull_request.head"),
            head_sha=_str(head, "sha", "pull_request.head"),
            draft=bool(pull.get("draft")),
        )
    elif name in ("check_suite", "check_run", "workflow_run", "workflow_job"):
        common.update(_ci_fields(name, data))
    if name in ("issues", "pull_request") and action in ("labeled", "unlabeled"):
        label = data.get("label")
        common["label"] = _str(_mapping(label, "label"), "name", "label")
    return Event(**common)


def _ci_fields(name: str, data: Mapping[str, Any]) -> dict[str, Any]:
    body = _mapping(data.get(name), name)
    if name == "check_run":
        suite = _mapping(body.get("check_suite"), "check_run.check_suite")
        branch, sha = suite.get("head_branch"), _str(body, "head_sha", name)
        pulls = body.get("pull_requests") or []
    elif name == "workflow_job":
        branch, sha = body.get("head_branch"), _str(body, "head_sha", name)
        pulls = []
    else:
        branch, sha = body.get("head_branch"), _str(body, "head_sha", name)
        pulls = body.get("pull_requests") or []
    if not isinstance(pulls, list):
        raise EventError(f"{name}.pull_requests must be a list")
    numbers = tuple(
        p["number"]
        for p in pulls
        if isinstance(p, Mapping)
        and isinstance(p.get("number"), int)
        and 0 <= p["number"] <= MAX_ID
    )
    conclusion = body.get("conclusion")
    return {
        "head_branch": branch if isinstance(branch, str) else None,
        "head_sha": sha,
        "conclusion": conclusion if isinstance(conclusion, str) else None,
        "pull_numbers": numbers,
    }
