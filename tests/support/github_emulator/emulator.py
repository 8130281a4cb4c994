"""``GitHubEmulator``: the server's lifecycle, and the helpers tests use to act as GitHub users.

The server is uvicorn on a loopback socket bound before start (port 0 gives a free port), in a
background thread. Helpers change state exactly as the matching user action on GitHub would,
webhooks included, so ``emulator.label_issue(...)`` is what a maintainer adding a label is.
"""

from __future__ import annotations

import contextlib
import functools
import secrets
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import jwt
import uvicorn

from . import auth, gitrepo, payloads
from .app import build_app
from .ci import CiRunner
from .faults import Faults
from .git_http import GitHttp
from .hub import Actor, Hub
from .render import Urls
from .rest import Services
from .state import WORKFLOW_BOT, App, Installation, Issue, Repo, Store, User, utcnow
from .webhooks import Delivery, WebhookSender

DEFAULT_APP_ID = 424242
DEFAULT_SECRET = "test-webhook-secret"
DEFAULT_PERMISSIONS = {
    "actions": "read",
    "checks": "read",
    "contents": "write",
    "issues": "write",
    "metadata": "read",
    "pull_requests": "write",
}


@functools.cache
def _shared_key_pair() -> tuple[bytes, bytes]:
    # RSA generation costs ~0.1 s; one pair per test process is enough.
    return auth.generate_key_pair()


class GitHubEmulator:
    """A GitHub stand-in on loopback. Use as a context manager or call start()/stop()."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        root: Path | None = None,
        app_id: int = DEFAULT_APP_ID,
        app_slug: str = "tierbot",
        app_owner: str = "tierbot-dev",
        private_key_pem: bytes | None = None,
        webhook_url: str | None = None,
        webhook_secret: str | None = DEFAULT_SECRET,
        token_lifetime: float = 3600.0,
    ) -> None:
        self.host = host
        self._requested_port = port
        self._own_root = root is None
        self._root_arg = root
        self.root: Path | None = None
        self._app_config = (app_id, app_slug, app_owner, private_key_pem)
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.token_lifetime = token_lifetime
        self.faults = Faults()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.store: Store | None = None
        self.hub: Hub | None = None
        self.ci: CiRunner | None = None
        self.services: Services | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> GitHubEmulator:
        self.root = self._root_arg or Path(tempfile.mkdtemp(prefix="github-emulator-"))
        (self.root / "repos").mkdir(parents=True, exist_ok=True)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._requested_port))
        sock.listen(128)
        self._socket = sock
        urls = Urls(f"http://{self.host}:{sock.getsockname()[1]}")

        store = Store(self.root)
        app_id, slug, owner, key = self._app_config
        private, public = (key, auth.public_key_of(key)) if key else _shared_key_pair()
        store.app = App(
            id=app_id,
            slug=slug,
            name=slug,
            owner=store.user(owner),
            bot=store.user(f"{slug}[bot]", type="Bot"),
            private_key_pem=private,
            public_key_pem=public,
            client_id=f"Iv1.{secrets.token_hex(8)}",
            created_at=utcnow(),
            permissions=dict(DEFAULT_PERMISSIONS),
            events=[
                "check_run",
                "check_suite",
                "issue_comment",
                "issues",
                "pull_request",
                "pull_request_review",
                "push",
                "workflow_job",
                "workflow_run",
            ],
        )
        sender = WebhookSender(
            url=self.webhook_url,
            secret=self.webhook_secret,
            app_id=app_id,
            should_drop=self.faults.should_drop,
        )
        hub = Hub(store, sender, urls)
        ci = CiRunner(hub)
        hub.after_pull_opened = self._ci_for_opened_pull
        self.store, self.hub, self.ci = store, hub, ci
        self.services = Services(
            store=store,
            hub=hub,
            ci=ci,
            urls=urls,
            token_lifetime=self.token_lifetime,
            log_secret=secrets.token_bytes(16),
        )
        git = GitHttp(store, self._on_git_push)
        app = build_app(self.services, self.faults, git)
        config = uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="none",
            http="h11",
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [sock]},
            name="github-emulator",
            daemon=True,
        )
        sender.start()
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the GitHub emulator did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self.ci is not None:
            with contextlib.suppress(TimeoutError):
                self.ci.wait(timeout=30)
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self.hub is not None:
            self.hub.sender.stop()
        if self._socket is not None:
            self._socket.close()
        if self._own_root and self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
        self._server = self._thread = self._socket = None

    def __enter__(self) -> GitHubEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- where it is --------------------------------------------------------------------------

    def _need(self) -> tuple[Store, Hub, CiRunner, Services]:
        if not (self.store and self.hub and self.ci and self.services):
            raise RuntimeError("the emulator is not started")
        return self.store, self.hub, self.ci, self.services

    @property
    def url(self) -> str:
        """The web root, e.g. ``http://127.0.0.1:PORT`` (html_url, git)."""
        return self._need()[3].urls.web

    @property
    def api_url(self) -> str:
        """The REST base URL (GitHub Enterprise style): ``<url>/api/v3``."""
        return self._need()[3].urls.api

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def git_url(self, full_name: str) -> str:
        return f"{self.url}/{full_name}.git"

    @property
    def app(self) -> App:
        app = self._need()[0].app
        assert app is not None
        return app

    @property
    def app_id(self) -> int:
        return self.app.id

    @property
    def private_key_pem(self) -> bytes:
        return self.app.private_key_pem

    @property
    def sender(self) -> WebhookSender:
        return self._need()[1].sender

    @property
    def tamper(self) -> Callable[[str, str, Any], Any] | None:
        """A hook ``(method, route, body) -> body`` applied to every JSON response (tests)."""
        return self._need()[3].tamper

    @tamper.setter
    def tamper(self, hook: Callable[[str, str, Any], Any] | None) -> None:
        self._need()[3].tamper = hook

    def set_webhook(self, url: str | None, secret: str | None = DEFAULT_SECRET) -> None:
        """Point deliveries at ``url`` (the bot's ``/webhook``), signed with ``secret``."""
        sender = self.sender
        sender.url = url
        sender.secret = secret.encode() if secret else None

    # -- setup: users, installations, repositories -------------------------------------------

    def user(self, login: str, *, type: str = "User") -> User:
        return self._need()[0].user(login, type=type)

    def install(self, account: str, *, notify: bool = False) -> Installation:
        """Install the App on ``account`` (a user or org); ``notify`` sends installation.created."""
        store, hub, _, services = self._need()
        with store.lock:
            for inst in store.installations.values():
                if inst.account.login.lower() == account.lower():
                    return inst
            who = store.user(account)
            inst = Installation(id=store.new_id("installation"), account=who, created_at=utcnow())
            store.installations[inst.id] = inst
        if notify:
            body = {
                "action": "created",
                "installation": payloads.installation(services.urls, self.app, inst),
                "repositories": [],
                "sender": payloads.user(services.urls, who),
            }
            hub.emit("installation", body)
        return inst

    def create_repo(
        self,
        full_name: str,
        files: Mapping[str, str] | None = None,
        *,
        private: bool = True,
        default_branch: str = "main",
        description: str | None = None,
        install: bool = True,
        owner_type: str = "User",
    ) -> Repo:
        """A repository with one commit of ``files`` on ``default_branch``; App installed."""
        store, _, _, _ = self._need()
        owner_login, _, name = full_name.partition("/")
        owner = store.user(owner_login, type=owner_type)
        path = store.root / "repos" / owner.login / f"{name}.git"
        gitrepo.init_bare(path, default_branch)
        gitrepo.commit_files(
            path,
            default_branch,
            files or {"README.md": f"# {name}\n"},
            "Initial commit",
            author=(owner.login, f"{owner.login}@example.com"),
        )
        now = utcnow()
        repo = Repo(
            id=store.new_id("repo"),
            owner=owner,
            name=name,
            path=path,
            private=private,
            default_branch=default_branch,
            created_at=now,
            pushed_at=now,
            description=description,
        )
        with store.lock:
            store.repos[full_name.lower()] = repo
        if install:
            self.install(owner.login)
        return repo

    def repo(self, full_name: str) -> Repo:
        return self._need()[1].repo(full_name)

    def add_collaborator(self, full_name: str, login: str, role: str = "write") -> User:
        """Give ``login`` a role: read, triage, write, maintain or admin."""
        store = self._need()[0]
        who = store.user(login)
        with store.lock:
            self.repo(full_name).collaborators[who.login] = role
        return who

    # -- credentials --------------------------------------------------------------------------

    def app_jwt(
        self,
        *,
        iat_offset: int = -60,
        lifetime: int = 600,
        iss: Any = None,
        key: bytes | None = None,
    ) -> str:
        """A JWT as the App would sign it (tests can skew it to see it refused)."""
        now = int(time.time())
        claims = {
            "iat": now + iat_offset,
            "exp": now + iat_offset + lifetime,
            "iss": str(self.app_id) if iss is None else iss,
        }
        return jwt.encode(claims, key or self.private_key_pem, algorithm="RS256")

    def installation_for(self, full_name: str) -> Installation:
        inst = self._need()[0].installation_for(self.repo(full_name))
        if inst is None:
            raise LookupError(f"the App is not installed on {full_name}")
        return inst

    def issue_token(
        self, full_name_or_installation: str | int, lifetime: float | None = None
    ) -> str:
        """An installation token without the JWT round trip (test setup)."""
        store = self._need()[0]
        key = full_name_or_installation
        inst = store.installations[key] if isinstance(key, int) else self.installation_for(key)
        return auth.issue_token(store, inst, lifetime or self.token_lifetime).value

    def issue_workflow_token(self, full_name: str) -> str:
        """A workflow run's GITHUB_TOKEN for ``full_name``: it acts as github-actions[bot], and
        the pushes and pull requests it makes start no CI."""
        store = self._need()[0]
        inst = self.installation_for(full_name)
        return auth.issue_token(store, inst, self.token_lifetime, workflow=True).value

    def revoke_token(self, token: str) -> None:
        store = self._need()[0]
        with store.lock:
            store.tokens[token].revoked = True

    def expire_tokens(self) -> None:
        """Make every token issued so far expired, as if their hour had passed."""
        store = self._need()[0]
        with store.lock:
            for token in store.tokens.values():
                token.expires_at = utcnow()

    # -- acting as GitHub users ---------------------------------------------------------------

    def _issue(self, full_name: str, number: int) -> tuple[Repo, Issue]:
        repo = self.repo(full_name)
        return repo, self._need()[1].issue(repo, number)

    def open_issue(
        self,
        full_name: str,
        title: str,
        body: str = "",
        *,
        user: str = "alice",
        labels: Iterable[str] = (),
    ) -> Issue:
        hub = self._need()[1]
        return hub.open_issue(self.repo(full_name), title, body, Actor(self.user(user)), labels)

    def label_issue(
        self, full_name: str, number: int, label: str, *, sender: str = "alice"
    ) -> None:
        """Add ``label`` as ``sender``: ``issues.labeled`` (or ``pull_request.labeled``)."""
        repo, item = self._issue(full_name, number)
        self._need()[1].add_labels(repo, item, [label], Actor(self.user(sender)))

    def unlabel_issue(
        self, full_name: str, number: int, label: str, *, sender: str = "alice"
    ) -> None:
        repo, item = self._issue(full_name, number)
        self._need()[1].remove_label(repo, item, label, Actor(self.user(sender)))

    def comment(self, full_name: str, number: int, body: str, *, user: str = "alice") -> int:
        """Comment as ``user`` (``issue_comment.created``); returns the comment id."""
        repo, item = self._issue(full_name, number)
        return self._need()[1].add_comment(repo, item, body, Actor(self.user(user))).id

    def push_files(
        self,
        full_name: str,
        branch: str,
        files: Mapping[str, str | None],
        message: str = "Update",
        *,
        user: str = "alice",
    ) -> str:
        """Commit and "push" ``files`` to ``branch`` as ``user``: push webhook, PR sync, CI."""
        repo = self.repo(full_name)
        before = gitrepo.resolve(repo.path, f"refs/heads/{branch}") or gitrepo.ZERO_SHA
        sha = gitrepo.commit_files(
            repo.path,
            branch,
            files,
            message,
            author=(user, f"{user}@example.com"),
            start=f"refs/heads/{repo.default_branch}",
        )
        self._after_push(repo, {f"refs/heads/{branch}": (before, sha)}, self.user(user))
        return sha

    def open_pull(
        self,
        full_name: str,
        head: str,
        *,
        base: str | None = None,
        title: str = "Change",
        body: str = "",
        user: str = "alice",
    ) -> Issue:
        """Open a PR as ``user`` (``pull_request.opened``; CI runs on its head)."""
        repo = self.repo(full_name)
        return self._need()[1].open_pull(
            repo,
            title=title,
            head=head,
            base=base or repo.default_branch,
            body=body,
            actor=Actor(self.user(user)),
        )

    def merge_pull(self, full_name: str, number: int, *, user: str = "alice") -> str:
        """Merge as ``user``: merge commit on the base, ``pull_request.closed`` (merged), the
        issues it closes ("Closes #n") closed; returns the merge commit sha."""
        repo, item = self._issue(full_name, number)
        return self._need()[1].merge(repo, item, Actor(self.user(user)))

    def close_issue(self, full_name: str, number: int, *, user: str = "alice") -> None:
        repo, item = self._issue(full_name, number)
        self._need()[1].close(repo, item, Actor(self.user(user)))

    # -- webhooks -----------------------------------------------------------------------------

    def deliver(self, event: str, payload: Mapping[str, Any] | bytes) -> Delivery:
        """Send any payload (e.g. an octokit example file's bytes) as GitHub would."""
        return self.sender.send(event, payload)

    def ping(self) -> Delivery:
        services = self._need()[3]
        sender = self.sender
        body = payloads.ping(
            services.urls,
            self.app,
            sender.hook_id,
            sender.url or "",
            # `installation` is not a hook event: Apps get it whatever they subscribe to.
            sorted(self._need()[1].subscribed - {"installation"}),
        )
        return sender.send("ping", body)

    def redeliver(self, guid: str) -> Delivery:
        return self.sender.redeliver(guid)

    def deliveries(self, event: str | None = None, action: str | None = None) -> list[Delivery]:
        return self.sender.deliveries(event, action)

    def wait_for_webhooks(self, timeout: float = 10.0) -> None:
        self.sender.wait(timeout)

    def wait_for_ci(self, timeout: float = 60.0) -> None:
        """Wait for every CI run started so far, then for the webhooks they sent."""
        self._need()[2].wait(timeout)
        self.wait_for_webhooks(timeout)

    # -- internals ----------------------------------------------------------------------------

    def _on_git_push(
        self, repo: Repo, changes: dict[str, tuple[str, str]], workflow: bool = False
    ) -> None:
        # Over git the pusher is whoever owns the token: the App's bot account, or
        # github-actions[bot] for a workflow's GITHUB_TOKEN, whose pushes start no CI.
        if workflow:
            self._after_push(repo, changes, self.user(WORKFLOW_BOT, type="Bot"), ci=False)
        else:
            self._after_push(repo, changes, self.app.bot)

    def _after_push(
        self, repo: Repo, changes: dict[str, tuple[str, str]], pusher: User, *, ci: bool = True
    ) -> None:
        _, hub, runner, _ = self._need()
        moved = hub.pushed(repo, changes, pusher)
        if not ci:
            return
        by_branch: dict[str, list[Issue]] = {}
        for item in moved:
            assert item.pull is not None
            by_branch.setdefault(item.pull.head_ref, []).append(item)
        for branch, items in by_branch.items():
            before, after = changes[f"refs/heads/{branch}"]
            runner.trigger(repo, items, branch, before, after, pusher)

    def _ci_for_opened_pull(self, repo: Repo, item: Issue) -> None:
        # `on: pull_request` runs on opened as well as on synchronize.
        pull = item.pull
        assert pull is not None
        self._need()[2].trigger(
            repo, [item], pull.head_ref, pull.base_sha, pull.head_sha, item.user
        )
