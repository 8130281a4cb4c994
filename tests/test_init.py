"""``tierbot init`` against the GitHub emulator: an HTTP client plays the browser.

It opens the local page, posts its form to the emulator's "Create GitHub App" page and follows
the redirect back, as a browser would; the emulator converts the code over real HTTP.
"""

from __future__ import annotations

import json
import re
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from bot.adapters.github.auth import GitHubApp
from bot.cli import main
from bot.manifest_flow import EXIT_DONE, EXIT_FAILED, EXIT_USAGE, InitOptions, Outcome, run_init
from bot.settings import read_env_file
from tests.support.forms import Form
from tests.support.github_emulator import GitHubEmulator
from tests.support.server import ROOT, TierbotProcesses, wait_until

pytest_plugins = ["tests.support.github_emulator.fixtures"]

WEBHOOK = "https://bot.example.com/webhook"


def submit_form(local_url: str) -> httpx.Response:
    """The browser: load the local page, post its form to GitHub; GitHub's redirect."""
    form = Form(httpx.get(local_url).text)
    created = httpx.post(form.action, data=form.fields)
    assert created.status_code == 302, created.text
    return created


def browse(local_url: str) -> httpx.Response:
    """The whole browser side: the form, GitHub's page, and back to the callback."""
    return httpx.get(submit_form(local_url).headers["location"])


class InitRun:
    """``run_init`` in a thread; ``url`` is the local page once it is served."""

    def __init__(self, options: InitOptions) -> None:
        self.lines: list[str] = []
        self.url = ""
        self.ready = threading.Event()
        self.outcome: Outcome | None = None
        self.thread = threading.Thread(target=self._run, args=(options,), daemon=True)
        self.thread.start()

    def _run(self, options: InitOptions) -> None:
        self.outcome = run_init(options, echo=self._echo)
        self.ready.set()

    def _echo(self, line: str) -> None:
        self.lines.append(line)
        found = re.search(r"http://127\.0\.0\.1:\d+/", line)
        if found:
            self.url = found.group(0)
            self.ready.set()

    def wait_ready(self) -> str:
        assert self.ready.wait(30), "the local page was never served"
        assert self.url, self.outcome
        return self.url

    def result(self) -> Outcome:
        self.thread.join(60)
        assert self.outcome is not None, "run_init did not return"
        return self.outcome


@pytest.fixture
def options(github_emulator: GitHubEmulator, tmp_path: Path) -> InitOptions:
    return InitOptions(
        webhook_url=WEBHOOK,
        name="tierbot test",
        github_url=github_emulator.url,
        directory=tmp_path / ".tierbot",
        timeout_s=60,
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def leftovers(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_the_flow_creates_the_app_and_writes_owner_only_files(
    github_emulator: GitHubEmulator, options: InitOptions
) -> None:
    run = InitRun(options)
    done = browse(run.wait_ready())
    outcome = run.result()
    assert outcome.code == EXIT_DONE, outcome.lines
    assert done.status_code == 200 and "installations/new" in done.text
    app = github_emulator.app  # the emulator's App is now the one the manifest described
    assert (app.name, app.slug, app.owner.login) == ("tierbot test", "tierbot-test", "octocat")
    assert app.permissions["contents"] == "write" and "workflow_run" in app.events
    env = read_env_file(options.env_path)
    assert env["TIERBOT_APP_ID"] == str(app.id)
    assert env["TIERBOT_GITHUB_API_URL"] == github_emulator.api_url
    assert env["TIERBOT_WEBHOOK_SECRET"] == github_emulator.sender.secret.decode()  # type: ignore[union-attr]
    assert Path(env["TIERBOT_PRIVATE_KEY_PATH"]) == options.key_path.resolve()
    assert options.key_path.read_bytes() == app.private_key_pem
    assert mode(options.key_path) == 0o600 and mode(options.env_path) == 0o600
    assert mode(options.directory) == 0o700
    assert (options.directory / ".gitignore").read_text() == "*\n"
    assert leftovers(options.directory) == [".gitignore", "app.env", "private-key.pem"]
    assert outcome.lines[-1] == f"  tierbot serve --env-file {options.env_path}"
    assert any("/apps/tierbot-test/installations/new" in line for line in outcome.lines)


def test_an_organisation_owns_the_app_it_creates(
    github_emulator: GitHubEmulator, options: InitOptions
) -> None:
    github_emulator.user("acme", type="Organization")
    run = InitRun(replace(options, org="acme"))
    form = Form(httpx.get(run.wait_ready()).text)
    assert form.action.startswith(f"{github_emulator.url}/organizations/acme/settings/apps/new")
    browse(run.url)
    assert run.result().code == EXIT_DONE
    assert github_emulator.app.owner.login == "acme"


def test_the_emulator_refuses_a_manifest_asking_events_it_may_not_see(
    github_emulator: GitHubEmulator,
) -> None:
    """Negative control: the page's check of events against permissions bites."""
    manifest = {
        "name": "x",
        "url": "https://example.com",
        "hook_attributes": {"url": WEBHOOK},
        "redirect_url": "http://127.0.0.1:9/callback",
        "default_permissions": {"issues": "write"},
        "default_events": ["issues", "workflow_run"],
    }
    page = httpx.post(
        f"{github_emulator.url}/settings/apps/new", data={"manifest": json.dumps(manifest)}
    )
    assert page.status_code == 422
    assert "workflow_run needs the actions permission" in page.text


def test_a_redirect_with_another_state_uses_no_code_and_writes_nothing(
    github_emulator: GitHubEmulator, options: InitOptions, tmp_path: Path
) -> None:
    original = github_emulator.app
    run = InitRun(options)
    location = httpx.URL(submit_form(run.wait_ready()).headers["location"])
    forged = location.copy_set_param("state", "forged")
    page = httpx.get(forged)
    outcome = run.result()
    assert outcome.code == EXIT_FAILED and page.status_code == 400
    assert "state does not match" in outcome.lines[0]
    assert location.params["code"] in github_emulator.store.manifest_codes  # never converted
    assert github_emulator.app is original
    assert leftovers(tmp_path) == []


def test_a_redirect_without_a_code_writes_nothing(options: InitOptions, tmp_path: Path) -> None:
    run = InitRun(options)
    location = httpx.URL(submit_form(run.wait_ready()).headers["location"])
    httpx.get(location.copy_remove_param("code"))
    outcome = run.result()
    assert outcome.code == EXIT_FAILED
    assert "without a code: no App was created" in outcome.lines[0]
    assert leftovers(tmp_path) == []


def test_a_browser_that_never_comes_back_times_out_and_writes_nothing(
    options: InitOptions, tmp_path: Path
) -> None:
    run = InitRun(replace(options, timeout_s=0.2))
    url = run.wait_ready()
    outcome = run.result()
    assert outcome.code == EXIT_FAILED
    assert "no answer from GitHub within 0.2 s: nothing was written" in outcome.lines[0]
    assert leftovers(tmp_path) == []
    with pytest.raises(httpx.TransportError):  # the page is gone with the run
        httpx.get(url)


@pytest.mark.parametrize(
    ("name", "code", "message"),
    [
        # GitHub's 404: the code was never issued (or used, or older than an hour).
        ("tierbot test", "0123456789abcdef0123", "GitHub refused the App manifest code (a code"),
        # GitHub's 422: the emulator's own App is called tierbot.
        ("tierbot", None, "422 Validation Failed (Name has already been taken)"),
    ],
)
def test_a_refused_conversion_shows_githubs_words_and_writes_nothing(
    options: InitOptions, tmp_path: Path, name: str, code: str | None, message: str
) -> None:
    run = InitRun(replace(options, name=name))
    location = httpx.URL(submit_form(run.wait_ready()).headers["location"])
    if code is not None:
        location = location.copy_set_param("code", code)
    page = httpx.get(location)
    outcome = run.result()
    assert outcome.code == EXIT_FAILED and page.status_code == 400
    assert message in outcome.lines[0]
    assert outcome.lines[0].endswith("nothing was written")
    assert leftovers(tmp_path) == []


def test_existing_credentials_are_kept_unless_forced(
    github_emulator: GitHubEmulator, options: InitOptions
) -> None:
    options.directory.mkdir()
    options.key_path.write_text("old key\n")
    refused = run_init(options, echo=lambda line: None)
    assert refused.code == EXIT_USAGE
    assert "private-key.pem already exists: pass --force" in refused.lines[0]
    assert options.key_path.read_text() == "old key\n"
    assert not options.env_path.exists()

    run = InitRun(replace(options, force=True))
    browse(run.wait_ready())
    assert run.result().code == EXIT_DONE
    assert options.key_path.read_bytes() == github_emulator.app.private_key_pem
    assert mode(options.key_path) == 0o600
    assert sorted(p.name for p in options.directory.iterdir()) == ["app.env", "private-key.pem"]


def test_a_folder_that_cannot_be_made_is_refused_before_github_is_asked(
    github_emulator: GitHubEmulator, options: InitOptions, tmp_path: Path
) -> None:
    (tmp_path / "a-file").write_text("")
    outcome = run_init(replace(options, directory=tmp_path / "a-file" / "x"), echo=print)
    assert outcome.code == EXIT_USAGE
    assert "a-file is not a writable folder" in outcome.lines[0]


def test_a_port_in_use_is_a_usage_error_and_nothing_is_written(
    options: InitOptions, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        code = main(
            [
                "init",
                "--no-browser",
                "--webhook-url",
                WEBHOOK,
                "--github-url",
                options.github_url,
                "--dir",
                str(options.directory),
                "--port",
                str(port),
            ]
        )
    assert code == EXIT_USAGE
    err = capsys.readouterr().err
    assert f"tierbot: error: port {port} on 127.0.0.1 is in use" in err
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--webhook-url", "bot.example.com"], "the webhook URL must be an http(s) URL"),
        (["--webhook-url", WEBHOOK, "--github-url", "github.com"], "--github-url must be an http"),
        (["--webhook-url", WEBHOOK, "--homepage", "example"], "the homepage URL must be an http"),
    ],
)
def test_a_bad_url_is_a_usage_error_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code = main(["init", "--no-browser", "--dir", str(tmp_path / "x"), *args])
    assert code == EXIT_USAGE
    assert message in capsys.readouterr().err
    assert leftovers(tmp_path) == []


@pytest.fixture
def tierbot(tmp_path: Path) -> Iterator[TierbotProcesses]:
    procs = TierbotProcesses(tmp_path, {"PYTHONPATH": str(ROOT)})
    # Only what init writes may configure the App: nothing inherited from the test's shell.
    for name in ("TIERBOT_WEBHOOK_SECRET", "TIERBOT_APP_ID", "TIERBOT_PRIVATE_KEY"):
        procs.env.pop(name, None)
    try:
        yield procs
    finally:
        procs.stop()


@pytest.mark.slow
def test_tierbot_serve_starts_with_what_init_wrote_and_answers_a_signed_ping(
    github_emulator: GitHubEmulator, tierbot: TierbotProcesses, tmp_path: Path
) -> None:
    command = [sys.executable, "-m", "bot", "init", "--no-browser", "--name", "tierbot e2e"]
    command += ["--webhook-url", tierbot.url, "--github-url", github_emulator.url]
    init = subprocess.Popen(
        command, cwd=tmp_path, env=tierbot.env, stdout=subprocess.PIPE, text=True
    )
    assert init.stdout is not None
    first = init.stdout.readline()
    local = re.search(r"http://127\.0\.0\.1:\d+/", first)
    assert local, first
    browse(local.group(0))
    rest = init.stdout.read()
    assert init.wait(timeout=30) == EXIT_DONE
    assert rest.splitlines()[-1] == "  tierbot serve --env-file .tierbot/app.env"

    tierbot.start_web("--env-file", ".tierbot/app.env", workers=1)
    ping = github_emulator.ping()
    github_emulator.wait_for_webhooks()
    assert ping.status_code == 200, tierbot.logs()
    assert ping.payload["hook"]["app_id"] == github_emulator.app_id
    # The worker serve starts gets the file's settings too, or it would exit at once.
    wait_until(
        lambda: re.search(r"tierbot worker \S+ started", tierbot.logs()),
        what=tierbot.logs,
    )

    env = read_env_file(tmp_path / ".tierbot" / "app.env")
    assert GitHubApp.from_env(env).bot_login() == "tierbot-e2e[bot]"  # the key signs for it
