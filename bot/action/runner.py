"""What the Actions runner hands a step: its environment, read once and checked."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from bot.adapters.github import DEFAULT_API_URL

EXIT_USAGE = 2
# The account a workflow's own GITHUB_TOKEN acts as.
WORKFLOW_BOT = "github-actions[bot]"


class RunnerError(Exception):
    """The runner's environment cannot run the action; the message names the variable."""


class TokenKind(StrEnum):
    """Whose token the action holds, which decides whether CI will run on what it pushes."""

    DEFAULT = "default"  # the workflow's GITHUB_TOKEN: its pushes and PRs start no workflow
    APP = "app"  # a GitHub App's installation token (actions/create-github-app-token)
    PAT = "pat"  # a personal access token (fine-grained or classic)


@dataclass(frozen=True)
class RunnerEnv:
    event_name: str
    event_path: Path
    repository: str
    api_url: str
    workspace: Path | None
    temp: Path
    token: str = field(repr=False)
    token_kind: TokenKind
    bot_login: str | None  # who the token acts as, when the caller knows (App slug + [bot])
    app_id: int | None
    config_path: str
    output: Path | None
    summary: Path | None
    run_id: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RunnerEnv:
        """Raises :class:`RunnerError` naming the first variable missing or malformed."""
        name = _need(env, "GITHUB_EVENT_NAME", "the event that started the workflow")
        path = _need(env, "GITHUB_EVENT_PATH", "the file holding the event's payload")
        repository = _need(env, "GITHUB_REPOSITORY", "owner/name of the repository")
        token = (env.get("TIERBOT_GITHUB_TOKEN") or env.get("GITHUB_TOKEN") or "").strip()
        if not token:
            raise RunnerError(
                "TIERBOT_GITHUB_TOKEN is not set: pass the action's github-token input "
                "(GITHUB_TOKEN is read when it is absent)"
            )
        default = (env.get("TIERBOT_DEFAULT_TOKEN") or "").strip()
        login = (env.get("TIERBOT_BOT_LOGIN") or "").strip() or None
        raw_app = (env.get("TIERBOT_APP_ID") or "").strip()
        if raw_app and not raw_app.isdigit():
            raise RunnerError(f"TIERBOT_APP_ID must be the App's numeric id, not {raw_app[:40]!r}")
        if default and token == default:
            kind, login = TokenKind.DEFAULT, WORKFLOW_BOT
        elif login is not None and login.endswith("[bot]"):
            kind = TokenKind.APP
        else:
            kind = TokenKind.PAT
        api_url = (env.get("GITHUB_API_URL") or "").strip() or DEFAULT_API_URL
        if not api_url.startswith(("https://", "http://")):
            raise RunnerError(f"GITHUB_API_URL must be an http(s) URL, not {api_url[:80]!r}")
        workspace = (env.get("GITHUB_WORKSPACE") or "").strip()
        temp = (env.get("RUNNER_TEMP") or "").strip()
        return cls(
            event_name=name,
            event_path=Path(path),
            repository=repository,
            api_url=api_url.rstrip("/"),
            workspace=Path(workspace) if workspace else None,
            temp=Path(temp) if temp else Path("/tmp"),
            token=token,
            token_kind=kind,
            bot_login=login,
            app_id=int(raw_app) if raw_app else None,
            config_path=(env.get("TIERBOT_CONFIG_PATH") or "").strip() or ".github/tierbot.yml",
            output=_optional_path(env, "GITHUB_OUTPUT"),
            summary=_optional_path(env, "GITHUB_STEP_SUMMARY"),
            run_id=f"{env.get('GITHUB_RUN_ID', 'local')}.{env.get('GITHUB_RUN_ATTEMPT', '1')}",
        )

    def read_event(self) -> dict[str, Any]:
        try:
            data = json.loads(self.event_path.read_text("utf-8"))
        except FileNotFoundError:
            raise RunnerError(
                f"GITHUB_EVENT_PATH names {self.event_path}, which does not exist"
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise RunnerError(
                f"GITHUB_EVENT_PATH {self.event_path} cannot be read: {exc}"
            ) from None
        except json.JSONDecodeError as exc:
            raise RunnerError(f"GITHUB_EVENT_PATH {self.event_path} is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise RunnerError(f"GITHUB_EVENT_PATH {self.event_path} does not hold a JSON object")
        return data


def _need(env: Mapping[str, str], name: str, what: str) -> str:
    value = (env.get(name) or "").strip()
    if not value:
        raise RunnerError(f"{name} is not set ({what}); tierbot action runs inside GitHub Actions")
    return value


def _optional_path(env: Mapping[str, str], name: str) -> Path | None:
    value = (env.get(name) or "").strip()
    return Path(value) if value else None
