"""A simulated Actions runner for ``tierbot action``: an event file, the runner's variables, a
real checkout of the emulator's repository, and the GITHUB_OUTPUT / GITHUB_STEP_SUMMARY files."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.github_emulator import GitHubEmulator

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class ActionRun:
    code: int
    stderr: str
    outputs: dict[str, str]
    summary: str


def read_outputs(path: Path) -> dict[str, str]:
    """GITHUB_OUTPUT's ``name<<DELIM`` blocks (and plain ``name=value`` lines)."""
    out: dict[str, str] = {}
    lines = path.read_text().splitlines() if path.exists() else []
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line:
            name, delimiter = line.split("<<", 1)
            end = lines.index(delimiter, i + 1)
            out[name] = "\n".join(lines[i + 1 : end])
            i = end + 1
        else:
            name, _, value = line.partition("=")
            out[name] = value
            i += 1
    return out


class Runner:
    """One job's environment per ``run``; the checkout is made once, as actions/checkout does."""

    def __init__(self, tmp: Path, emulator: GitHubEmulator, repo: str, **env: str) -> None:
        self.tmp = tmp
        self.emulator = emulator
        self.repo = repo
        self.runs = 0
        self.workspace = tmp / "workspace"
        self.extra = dict(env)

    def checkout(self) -> None:
        """A shallow clone with the token in an extra header, as actions/checkout makes it."""
        if self.workspace.exists():
            return
        token = self.emulator.issue_token(self.repo)
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        subprocess.run(
            [
                "git",
                "-c",
                f"http.extraHeader=Authorization: Basic {basic}",
                "clone",
                "-q",
                "--depth",
                "1",
                self.emulator.git_url(self.repo),
                str(self.workspace),
            ],
            check=True,
            capture_output=True,
        )

    def env(
        self, event: str, payload: Mapping[str, Any] | None, token: str | None, **extra: str
    ) -> dict[str, str]:
        self.runs += 1
        job = self.tmp / f"job-{self.runs}"
        job.mkdir()
        event_path = job / "event.json"
        if payload is not None:
            event_path.write_text(json.dumps(payload))
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("GITHUB_", "TIERBOT_", "RUNNER_"))
        }
        env.update(
            {
                "PYTHONPATH": str(ROOT),
                "LITELLM_LOCAL_MODEL_COST_MAP": "True",
                "GITHUB_ACTIONS": "true",
                "GITHUB_EVENT_NAME": event,
                "GITHUB_EVENT_PATH": str(event_path),
                "GITHUB_REPOSITORY": self.repo,
                "GITHUB_API_URL": self.emulator.api_url,
                "GITHUB_SERVER_URL": self.emulator.url,
                "GITHUB_WORKSPACE": str(self.workspace),
                "GITHUB_OUTPUT": str(job / "output"),
                "GITHUB_STEP_SUMMARY": str(job / "summary.md"),
                "GITHUB_RUN_ID": str(1000 + self.runs),
                "GITHUB_RUN_ATTEMPT": "1",
                "RUNNER_TEMP": str(job / "tmp"),
                "TIERBOT_GITHUB_PACING": "off",
            }
        )
        if token is not None:
            env["TIERBOT_GITHUB_TOKEN"] = token
        env.update(self.extra)
        env.update(extra)
        (job / "tmp").mkdir()
        return env

    def run(
        self,
        event: str,
        payload: Mapping[str, Any] | None,
        *,
        token: str | None,
        args: tuple[str, ...] = ("action",),
        **extra: str,
    ) -> ActionRun:
        self.checkout()
        env = self.env(event, payload, token, **extra)
        done = subprocess.run(
            [sys.executable, "-m", "bot", *args],
            env=env,
            cwd=self.workspace,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        job = Path(env["GITHUB_OUTPUT"]).parent
        summary = job / "summary.md"
        return ActionRun(
            done.returncode,
            done.stderr + done.stdout,
            read_outputs(job / "output"),
            summary.read_text() if summary.exists() else "",
        )

    def app_token_env(self) -> dict[str, str]:
        """An App's installation token, as actions/create-github-app-token would hand over."""
        app = self.emulator.app
        return {
            "token": self.emulator.issue_token(self.repo),
            "TIERBOT_BOT_LOGIN": f"{app.slug}[bot]",
            "TIERBOT_APP_ID": str(app.id),
        }
