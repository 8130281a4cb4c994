"""Drive the pull request handlers against the GitHub emulator and the scripted model server.

A ``Bench`` holds a real ``GitHubForge`` on the emulator, a ``SqlLedger`` on a temporary
SQLite file, litellm's real HTTP path to the scripted server, and the webhook payloads the
emulator sent, so a test acts as a GitHub user and then hands the real event to a handler.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.adapters.git import CliGit
from bot.adapters.github import GitHubApp, GitHubForge
from bot.adapters.github_tasks import IssueTaskStore
from bot.adapters.ledger import SqlLedger
from bot.adapters.llm import LiteLLMModels
from bot.adapters.prices import load_price_table
from bot.core.review import MARKER_PREFIX
from bot.events import Event, parse_event
from bot.executor import Executor
from bot.service.context import Context
from tests.support.github_emulator import GitHubEmulator
from tests.support.github_emulator.receiver import WebhookReceiver
from tests.support.github_emulator.state import Issue
from tests.support.model_server import ScriptedModelServer
from tests.support.repos import SINGLE_LADDER_TYPE

REPO = "octo/shop"
SENIOR = "senior-model"
JUNIOR = "junior-model"
PASSING = "python -c 'print(42)'"


def repo_config(
    models_url: str, *, check: str = PASSING, senior_timeout: float = 10, extra: str = ""
) -> str:
    """Every model tier on the scripted server, with prices, so costs are known."""
    return f"""\
tiers:
  intern:
    model: openai/intern-model
    api_base: {models_url}
    api_key_env: null
    max_tokens: 1000
    context_tokens: 8000
    timeout: 10
  junior:
    model: openai/{JUNIOR}
    api_base: {models_url}
    api_key_env: null
    max_tokens: 1000
    context_tokens: 16000
    timeout: 10
    price: {{input_per_mtok: 0.15, output_per_mtok: 0.6}}
  senior:
    model: openai/{SENIOR}
    api_base: {models_url}
    api_key_env: null
    max_tokens: 2000
    context_tokens: 24000
    timeout: {senior_timeout}
    price: {{input_per_mtok: 3.0, output_per_mtok: 15.0}}
check:
  command: "{check}"
  timeout: 60
{SINGLE_LADDER_TYPE}{extra}"""


@dataclass
class Bench:
    emulator: GitHubEmulator
    models: ScriptedModelServer
    receiver: WebhookReceiver
    app: GitHubApp
    ledger: SqlLedger
    workdir: Path
    _forge: GitHubForge | None = None
    _ctx: Context | None = None

    @property
    def forge(self) -> GitHubForge:
        assert self._forge is not None, "make_repo first"
        return self._forge

    @property
    def ctx(self) -> Context:
        assert self._ctx is not None, "make_repo first"
        return self._ctx

    @property
    def store(self) -> IssueTaskStore:
        store: IssueTaskStore = self.ctx.store
        return store

    # -- acting as GitHub ------------------------------------------------------------------

    def make_repo(self, files: dict[str, str], *, config: str | None = None) -> None:
        """``octo/shop`` with the App installed, alice (write) and rita (read), and a context."""
        text = config if config is not None else repo_config(self.models.url)
        self.emulator.create_repo(REPO, {**files, ".github/tierbot.yml": text})
        self.emulator.add_collaborator(REPO, "alice", "write")
        self.emulator.add_collaborator(REPO, "rita", "read")
        installation = self.emulator.installation_for(REPO).id
        self._forge = GitHubForge(self.app, installation, pace_requests_s=None, pace_writes_s=None)
        store = IssueTaskStore(self.ledger)
        self._ctx = Context(
            github=self._forge,
            store=store,
            ledger=self.ledger,
            models=LiteLLMModels(env={}),
            prices=load_price_table(),
            workdir=self.workdir,
            executor=Executor(github=self._forge, refusals=store, dry_run=False),
            git=CliGit(),
        )

    def dry_run(self, echo: Callable[[str], None]) -> None:
        """From now on the context's executor writes nothing and says what it would do."""
        self.ctx.echo = echo
        self.ctx.executor = Executor(github=self.forge, dry_run=True, echo=echo)

    def open_pull(
        self, branch: str, files: dict[str, str | None], *, title: str = "Change", body: str = ""
    ) -> int:
        self.emulator.push_files(REPO, branch, files, "Change")
        return self.emulator.open_pull(REPO, branch, title=title, body=body).number

    def event(self, name: str, action: str | None = None) -> Event:
        """The newest delivery of ``name`` (and ``action``), parsed as the worker would."""
        self.emulator.wait_for_webhooks()
        with self.receiver.lock:
            received = list(self.receiver.received)
        for item in reversed(received):
            if item.headers.get("X-GitHub-Event") != name:
                continue
            payload = json.loads(item.body)
            if action is None or payload.get("action") == action:
                return parse_event(name, item.headers["X-GitHub-Delivery"], payload)
        raise AssertionError(f"no {name}.{action} delivery among {self.receiver.events()}")

    def label(self, number: int, label: str, *, sender: str = "alice") -> Event:
        self.emulator.label_issue(REPO, number, label, sender=sender)
        return self.event("pull_request" if self.issue(number).pull else "issues", "labeled")

    def say(self, number: int, body: str, *, user: str = "alice") -> Event:
        self.emulator.comment(REPO, number, body, user=user)
        return self.event("issue_comment", "created")

    # -- reading GitHub's state --------------------------------------------------------------

    def issue(self, number: int) -> Issue:
        return self.emulator.repo(REPO).issues[number]

    def bot_comments(self, number: int) -> list[Any]:
        return [c for c in self.issue(number).comments if c.via_app]

    def summaries(self, number: int) -> list[Any]:
        return [c for c in self.bot_comments(number) if MARKER_PREFIX in c.body]

    def reviews(self, number: int) -> list[Any]:
        pull = self.issue(number).pull
        assert pull is not None
        return list(pull.reviews)

    def review_comments(self, number: int) -> list[Any]:
        pull = self.issue(number).pull
        assert pull is not None
        return list(pull.review_comments)

    def prompts(self, model: str = SENIOR) -> list[str]:
        """Every message text sent to ``model``."""
        return [
            str(m.get("content", ""))
            for request in self.models.requests_for(model)
            for m in request.messages
        ]
