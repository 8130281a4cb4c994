"""The App-manifest flow of ``tierbot init``: a local page, GitHub's redirect, the credentials.

The local page (on 127.0.0.1 only) posts the manifest to GitHub; GitHub sends the browser back
to ``/callback`` with a one-time ``code``, which is exchanged for the App's id, private key
and webhook secret. They are written (``bot/app_files.py``) only when everything else has
succeeded: a failure or a cancelled flow leaves no file behind.
"""

from __future__ import annotations

import errno
import hmac
import os
import secrets
import shlex
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bot import app_manifest
from bot.app_files import ENV_FILE, KEY_FILE, CredentialsNotWritten, write_credentials
from bot.app_manifest import AppCredentials

EXIT_DONE = 0
EXIT_FAILED = 1  # the flow ran and did not end with an App: cancelled, refused, timed out
EXIT_USAGE = 2  # nothing was started: bad option, port in use, files in the way
CALLBACK = "/callback"


class InitError(Exception):
    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class InitOptions:
    webhook_url: str
    name: str = "tierbot"
    org: str | None = None
    homepage: str | None = None
    github_url: str = app_manifest.GITHUB_URL
    host: str = "127.0.0.1"
    port: int = 0  # 0: a free port
    directory: Path = Path(".tierbot")
    force: bool = False
    timeout_s: float = 900.0

    @property
    def env_path(self) -> Path:
        return self.directory / ENV_FILE

    @property
    def key_path(self) -> Path:
        return self.directory / KEY_FILE


@dataclass(frozen=True)
class Outcome:
    code: int
    lines: tuple[str, ...]  # for the terminal
    page: str = ""  # for the browser

    @classmethod
    def failed(cls, message: str, code: int = EXIT_FAILED) -> Outcome:
        return cls(code, (message,), app_manifest.message_page("tierbot init failed", message))


class Flow:
    """One run: the ``state`` it expects back, and the single outcome it ends with. Whoever
    claims it first (the callback, the time-out, Ctrl-C) decides; later claims lose."""

    def __init__(self) -> None:
        self.state = secrets.token_urlsafe(24)
        self.done = threading.Event()
        self.outcome: Outcome | None = None
        self._claimed = False
        self._lock = threading.Lock()

    def claim(self) -> bool:
        with self._lock:
            first, self._claimed = not self._claimed, True
            return first

    def end(self, outcome: Outcome) -> None:
        self.outcome = outcome
        self.done.set()


def run_init(
    options: InitOptions,
    *,
    echo: Callable[[str], None],
    open_browser: Callable[[str], object] | None = None,
) -> Outcome:
    """Serve the page, wait for GitHub's redirect (or the time-out), return what happened."""
    try:
        app_manifest.check_http_url(options.github_url, "--github-url")
        app_manifest.check_http_url(options.webhook_url, "the webhook URL")
        if options.homepage is not None:
            app_manifest.check_http_url(options.homepage, "the homepage URL")
        check_targets(options)
        sock = bind(options.host, options.port)
    except ValueError as exc:
        return Outcome.failed(str(exc), EXIT_USAGE)
    except InitError as exc:
        return Outcome.failed(str(exc), exc.code)
    flow = Flow()
    local = f"http://{options.host}:{sock.getsockname()[1]}"
    manifest = app_manifest.build_manifest(
        name=options.name,
        webhook_url=options.webhook_url,
        redirect_url=local + CALLBACK,
        homepage=options.homepage,
    )
    action = app_manifest.creation_url(options.github_url, flow.state, options.org)
    page = app_manifest.form_page(action, manifest)
    server, thread = _serve(sock, _local_app(flow, page, options))
    try:
        echo(f"Open {local}/ in your browser to create the GitHub App {options.name!r}.")
        if open_browser is not None:
            open_browser(local + "/")
        return _wait(flow, options.timeout_s)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def _wait(flow: Flow, timeout_s: float) -> Outcome:
    try:
        if not flow.done.wait(timeout_s) and flow.claim():
            return Outcome.failed(
                f"no answer from GitHub within {timeout_s:g} s: nothing was written. "
                "Run tierbot init again (--timeout waits longer)."
            )
        flow.done.wait()  # the callback claimed it first: its conversion is under way
    except KeyboardInterrupt:
        if flow.claim():
            return Outcome.failed("cancelled: nothing was written.")
        flow.done.wait()
    assert flow.outcome is not None
    return flow.outcome


def check_targets(options: InitOptions) -> None:
    """Before GitHub creates anything: the files can be written, and replace nothing unasked."""
    if not options.force:
        for path in (options.env_path, options.key_path):
            if path.exists():
                raise InitError(
                    f"{path} already exists: pass --force to replace it, or --dir elsewhere",
                    EXIT_USAGE,
                )
    existing = options.directory.absolute()
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise InitError(
            f"cannot write to {options.directory}: {existing} is not a writable folder", EXIT_USAGE
        )


def bind(host: str, port: int) -> socket.socket:
    """The page's socket, bound before anything else so a busy port fails at once."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(16)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise InitError(
                f"port {port} on {host} is in use: choose another with --port "
                "(or --port 0 for a free one)",
                EXIT_USAGE,
            ) from None
        raise InitError(f"cannot listen on {host}:{port}: {exc.strerror}", EXIT_USAGE) from None
    return sock


def _serve(sock: socket.socket, app: Any) -> tuple[Any, threading.Thread]:
    import uvicorn

    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="tierbot-init", daemon=True
    )
    thread.start()
    return server, thread


def _local_app(flow: Flow, page: str, options: InitOptions) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, Response
    from starlette.routing import Route

    async def form(_request: Request) -> Response:
        return HTMLResponse(page)

    # A plain function: Starlette runs it in a thread, so the conversion may block.
    def callback(request: Request) -> Response:
        if not flow.claim():
            ended = "This tierbot init has already ended; see the terminal."
            return HTMLResponse(app_manifest.message_page("Already ended", ended), 409)
        outcome = complete(options, flow.state, request.query_params)
        flow.end(outcome)
        return HTMLResponse(outcome.page, 200 if outcome.code == EXIT_DONE else 400)

    return Starlette(routes=[Route("/", form), Route(CALLBACK, callback)])


def complete(options: InitOptions, state: str, params: Mapping[str, str]) -> Outcome:
    """GitHub's redirect: check ``state``, convert ``code``, write the files."""
    if not hmac.compare_digest(params.get("state", "").encode(), state.encode()):
        return Outcome.failed(
            "the redirect's state does not match the page this run served (another run, or "
            "a forged link): its code was not used and nothing was written."
        )
    code = params.get("code", "")
    if not code:
        return Outcome.failed(
            "GitHub sent the browser back without a code: no App was created, nothing was "
            "written. Run tierbot init again."
        )
    api_url = app_manifest.api_url_for(options.github_url)
    try:
        credentials = convert(api_url, code)
        write_credentials(options.directory, credentials, api_url=api_url, force=options.force)
    except (InitError, CredentialsNotWritten) as exc:
        return Outcome.failed(str(exc))
    return _created(options, credentials)


def _created(options: InitOptions, credentials: AppCredentials) -> Outcome:
    env = shlex.quote(str(options.env_path))
    lines = (
        f"Created the GitHub App {credentials.name!r} (id {credentials.app_id}): "
        f"{credentials.html_url}",
        f"Wrote {options.env_path} and {options.key_path} (mode 0600; keep them private).",
        f"Next: install the App on your repositories: {credentials.install_url}",
        "then start tierbot with:",
        f"  tierbot serve --env-file {env}",
    )
    page = app_manifest.message_page(
        f"Created {credentials.name}",
        "The credentials are written; the terminal shows how to start tierbot. "
        "Install the App on the repositories it should serve:",
        credentials.install_url,
    )
    return Outcome(EXIT_DONE, lines, page)


def convert(api_url: str, code: str, *, timeout_s: float = 30.0) -> AppCredentials:
    """``POST /app-manifests/{code}/conversions``: the new App's credentials."""
    import requests

    from bot.adapters.github.auth import API_VERSION, USER_AGENT
    from bot.adapters.github.retry import describe_body

    url = f"{api_url.rstrip('/')}/app-manifests/{quote(code, safe='')}/conversions"
    headers = {
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": API_VERSION,
        "User-Agent": USER_AGENT,
    }
    try:
        response = requests.post(url, headers=headers, timeout=timeout_s)
    except requests.RequestException as exc:
        raise InitError(f"cannot reach GitHub at {api_url}: {type(exc).__name__}") from None
    try:
        body = response.json()
    except ValueError:
        body = response.text[:400]
    if response.status_code != 201:
        hint = " (a code works once, for an hour)" if response.status_code == 404 else ""
        raise InitError(
            f"GitHub refused the App manifest code{hint}: {response.status_code} "
            f"{describe_body(body) or response.reason}; nothing was written"
        )
    try:
        return app_manifest.parse_conversion(body)
    except ValueError as exc:
        raise InitError(f"{exc}; nothing was written") from None
