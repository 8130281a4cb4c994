"""The GitHub App manifest tierbot needs, and the pages and files of the manifest flow (pure).

GitHub's flow: a page POSTs the manifest to ``<github>/settings/apps/new?state=S`` (or
``/organizations/ORG/settings/apps/new``); the user confirms on GitHub, which redirects to the
manifest's ``redirect_url`` with ``?code=C&state=S``; ``POST /app-manifests/C/conversions``
then answers the new App's id, private key and webhook secret (the code is single-use and
lives an hour). ``bot/manifest_flow.py`` does the I/O; everything here is data.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from bot.events import HANDLED_EVENTS

GITHUB_URL = "https://github.com"
GITHUB_API_URL = "https://api.github.com"

# Exactly what the handlers use; docs/deploy.md explains each line.
PERMISSIONS: Mapping[str, str] = {
    "actions": "read",  # workflow runs, jobs and their logs
    "checks": "read",  # CI results of the bot's PRs
    "contents": "write",  # clone, push tierbot/* branches (never workflows: no such grant)
    "issues": "write",  # status comments, labels
    "metadata": "read",  # required by GitHub; also collaborator permissions
    "pull_requests": "write",  # open PRs, reviews, labels on PRs
}

# The permission GitHub requires before an App may subscribe to each event.
EVENT_PERMISSION: Mapping[str, str] = {
    "issues": "issues",
    "issue_comment": "issues",
    "pull_request": "pull_requests",
    "check_run": "checks",
    "check_suite": "checks",
    "workflow_run": "actions",
    "workflow_job": "actions",
}

# GitHub sends these to every App; they cannot be subscribed to.
ALWAYS_DELIVERED = frozenset({"installation", "ping"})


def default_events() -> list[str]:
    """The events the router handles, minus those GitHub delivers unasked."""
    return sorted(HANDLED_EVENTS - ALWAYS_DELIVERED)


def api_url_for(github_url: str) -> str:
    """github.com's API is api.github.com; GitHub Enterprise Server's is ``<host>/api/v3``."""
    base = github_url.rstrip("/")
    return GITHUB_API_URL if base == GITHUB_URL else f"{base}/api/v3"


def creation_url(github_url: str, state: str, org: str | None = None) -> str:
    """Where the form posts the manifest: the user's settings, or an organisation's."""
    base = github_url.rstrip("/")
    owner = f"/organizations/{quote(org, safe='')}" if org else ""
    return f"{base}{owner}/settings/apps/new?{urlencode({'state': state})}"


def check_http_url(value: str, what: str) -> str:
    """``value`` if it is an absolute http(s) URL, else ValueError naming ``what``."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{what} must be an http(s) URL, not {value[:80]!r}")
    return value


def build_manifest(
    *, name: str, webhook_url: str, redirect_url: str, homepage: str | None = None
) -> dict[str, Any]:
    """The manifest: private App, webhook on, exactly tierbot's permissions and events."""
    check_http_url(webhook_url, "the webhook URL")
    if homepage is None:
        parts = urlsplit(webhook_url)
        homepage = f"{parts.scheme}://{parts.netloc}"
    return {
        "name": name,
        "url": check_http_url(homepage, "the homepage URL"),
        "description": "Routes coding tasks by complexity; CI on its PRs drives escalation.",
        "hook_attributes": {"url": webhook_url, "active": True},
        "redirect_url": check_http_url(redirect_url, "the redirect URL"),
        "public": False,
        "default_permissions": dict(PERMISSIONS),
        "default_events": default_events(),
    }


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html>\n<html lang=en><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title>\n<body>\n{body}\n</body></html>\n"
    )


def form_page(action: str, manifest: Mapping[str, Any]) -> str:
    """The local page: a form that posts the manifest to GitHub and submits itself."""
    value = html.escape(json.dumps(manifest), quote=True)
    name = html.escape(str(manifest.get("name", "")))
    return _page(
        "Create the tierbot GitHub App",
        f'<form id="manifest" action="{html.escape(action, quote=True)}" method="post">\n'
        f'<input type="hidden" name="manifest" value="{value}">\n'
        f"<p>Sending the manifest of the GitHub App <b>{name}</b> to GitHub…</p>\n"
        '<button type="submit">Create the GitHub App</button>\n</form>\n'
        '<script>document.getElementById("manifest").submit();</script>',
    )


def message_page(title: str, text: str, link: str | None = None) -> str:
    """What the browser shows when the flow ends: the outcome, and where to go next."""
    more = (
        f'<p><a href="{html.escape(link, quote=True)}">{html.escape(link)}</a></p>' if link else ""
    )
    return _page(title, f"<h1>{html.escape(title)}</h1>\n<p>{html.escape(text)}</p>\n{more}")


@dataclass(frozen=True)
class AppCredentials:
    """What the conversion answers and ``tierbot serve`` needs; ``repr`` hides the secrets."""

    app_id: int
    slug: str
    name: str
    html_url: str
    webhook_secret: str
    pem: str

    def __repr__(self) -> str:
        return f"AppCredentials(app_id={self.app_id}, slug={self.slug!r})"

    @property
    def install_url(self) -> str:
        return f"{self.html_url.rstrip('/')}/installations/new"


def parse_conversion(body: Any) -> AppCredentials:
    """The conversion's 201 body as credentials, or ValueError saying what is missing."""
    if not isinstance(body, dict):
        raise ValueError("GitHub's answer is not a JSON object")
    app_id = body.get("id")
    if not isinstance(app_id, int) or isinstance(app_id, bool):
        raise ValueError("GitHub's answer has no numeric App id")
    pem = body.get("pem")
    if not isinstance(pem, str) or "PRIVATE KEY-----" not in pem:
        raise ValueError("GitHub's answer has no private key (pem)")
    secret = body.get("webhook_secret")
    if not isinstance(secret, str) or not secret:
        # GitHub documents it as nullable; without it no delivery could be verified.
        raise ValueError("GitHub's answer has no webhook secret")
    slug = str(body.get("slug") or "")
    return AppCredentials(
        app_id=app_id,
        slug=slug,
        name=str(body.get("name") or slug),
        html_url=str(body.get("html_url") or ""),
        webhook_secret=secret,
        pem=pem.strip() + "\n",
    )


def _quoted(name: str, value: str) -> str:
    # Single quotes read back literally both in python-dotenv and in a POSIX shell.
    if "'" in value or "\n" in value or "\r" in value:
        raise ValueError(f"{name} cannot be written to an env file: it holds a quote or newline")
    return f"{name}='{value}'"


def env_file_text(credentials: AppCredentials, *, key_path: str, api_url: str) -> str:
    """The env file ``tierbot serve --env-file`` reads: the App's id, secret and key path."""
    lines = [
        f"# GitHub App {credentials.name!r} (id {credentials.app_id}), created by tierbot init.",
        f"# {credentials.html_url}",
        "# Holds the webhook secret: keep it private (mode 0600), never commit it.",
        _quoted("TIERBOT_APP_ID", str(credentials.app_id)),
        _quoted("TIERBOT_WEBHOOK_SECRET", credentials.webhook_secret),
        _quoted("TIERBOT_PRIVATE_KEY_PATH", key_path),
        _quoted("TIERBOT_GITHUB_API_URL", api_url),
    ]
    return "\n".join(lines) + "\n"
