"""The App manifest and the manifest flow's pages and files, as data."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bot import app_manifest
from bot.app_manifest import AppCredentials
from bot.events import HANDLED_EVENTS
from bot.settings import read_env_file
from tests.support.forms import Form
from tests.support.github_emulator.emulator import DEFAULT_PERMISSIONS

DOCS = Path(__file__).resolve().parents[1] / "docs" / "deploy.md"


def manifest(**overrides: str) -> dict:
    args = {
        "name": "tierbot",
        "webhook_url": "https://bot.example.com/webhook",
        "redirect_url": "http://127.0.0.1:4567/callback",
        **overrides,
    }
    return app_manifest.build_manifest(**args)


def test_manifest_asks_for_exactly_what_tierbot_uses() -> None:
    built = manifest()
    # The emulator's stand-in App has these too, so every emulator test runs with what a
    # real install grants; docs/deploy.md lists them (see below).
    assert built["default_permissions"] == DEFAULT_PERMISSIONS
    assert built["default_permissions"]["contents"] == "write"
    assert "workflows" not in built["default_permissions"]  # bots never write workflows
    assert built["default_events"] == [
        "check_run",
        "check_suite",
        "issue_comment",
        "issues",
        "pull_request",
        "workflow_job",
        "workflow_run",
    ]
    assert built["public"] is False
    assert built["hook_attributes"] == {"url": "https://bot.example.com/webhook", "active": True}
    assert built["redirect_url"] == "http://127.0.0.1:4567/callback"
    assert built["url"] == "https://bot.example.com"  # the homepage defaults to the host


def test_every_handled_event_is_subscribed_or_always_delivered() -> None:
    events = set(manifest()["default_events"])
    assert events | app_manifest.ALWAYS_DELIVERED == HANDLED_EVENTS
    granted = manifest()["default_permissions"]
    for event in events:  # GitHub refuses an event whose permission is not granted
        assert app_manifest.EVENT_PERMISSION[event] in granted, event


def test_deploy_docs_list_the_manifests_permissions() -> None:
    rows = re.findall(r"^ *\| (\w[\w ]*?) \| (Read and write|Read-only) \|", DOCS.read_text(), re.M)
    documented = {
        name.lower().replace(" ", "_"): "write" if access == "Read and write" else "read"
        for name, access in rows
    }
    assert documented == dict(app_manifest.PERMISSIONS)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("webhook_url", "bot.example.com/webhook", "the webhook URL must be an http"),
        ("webhook_url", "ftp://bot.example.com/webhook", "the webhook URL must be an http"),
        ("homepage", "example", "the homepage URL must be an http"),
    ],
)
def test_bad_urls_are_refused_by_name(field: str, value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        manifest(**{field: value})


def test_creation_url_for_an_account_an_organisation_and_enterprise_server() -> None:
    assert app_manifest.creation_url("https://github.com", "a b") == (
        "https://github.com/settings/apps/new?state=a+b"
    )
    assert app_manifest.creation_url("https://github.com/", "s", org="acme/x") == (
        "https://github.com/organizations/acme%2Fx/settings/apps/new?state=s"
    )
    assert app_manifest.api_url_for("https://github.com") == "https://api.github.com"
    assert app_manifest.api_url_for("https://ghe.corp/") == "https://ghe.corp/api/v3"


def test_form_page_carries_the_manifest_intact_and_submits_itself() -> None:
    hostile = manifest(name='tier"bot</script><script>alert(1)</script>&amp;')
    page = app_manifest.form_page("https://github.com/settings/apps/new?state=x&y", hostile)
    reader = Form(page)
    assert reader.action == "https://github.com/settings/apps/new?state=x&y"
    assert json.loads(reader.fields["manifest"]) == hostile
    assert reader.scripts == ['document.getElementById("manifest").submit();']


CONVERSION = {
    "id": 77,
    "slug": "tierbot-ci",
    "name": "tierbot ci",
    "html_url": "https://github.com/apps/tierbot-ci",
    "webhook_secret": "s3cret",
    "pem": "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----",
}


def test_conversion_answer_becomes_credentials_that_hide_their_secrets() -> None:
    creds = app_manifest.parse_conversion(CONVERSION)
    assert (creds.app_id, creds.slug, creds.webhook_secret) == (77, "tierbot-ci", "s3cret")
    assert creds.pem.endswith("-----\n")
    assert creds.install_url == "https://github.com/apps/tierbot-ci/installations/new"
    assert "s3cret" not in repr(creds) and "MIIE" not in repr(creds)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"id": "77"}, "no numeric App id"),
        ({"id": True}, "no numeric App id"),
        ({"pem": ""}, "no private key"),
        ({"webhook_secret": None}, "no webhook secret"),
    ],
)
def test_an_incomplete_conversion_answer_is_refused(change: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        app_manifest.parse_conversion({**CONVERSION, **change})
    with pytest.raises(ValueError, match="not a JSON object"):
        app_manifest.parse_conversion(["id", 77])


def test_env_file_reads_back_as_written(tmp_path: Path) -> None:
    creds = app_manifest.parse_conversion(CONVERSION)
    key = str(tmp_path / "dir with space" / "private-key.pem")
    path = tmp_path / "app.env"
    path.write_text(app_manifest.env_file_text(creds, key_path=key, api_url="https://x/api/v3"))
    assert read_env_file(path) == {
        "TIERBOT_APP_ID": "77",
        "TIERBOT_WEBHOOK_SECRET": "s3cret",
        "TIERBOT_PRIVATE_KEY_PATH": key,
        "TIERBOT_GITHUB_API_URL": "https://x/api/v3",
    }


def test_env_file_refuses_a_value_it_could_not_quote() -> None:
    creds = AppCredentials(1, "s", "n", "https://h/apps/s", "se'cret", "pem")
    with pytest.raises(ValueError, match="TIERBOT_WEBHOOK_SECRET cannot be written"):
        app_manifest.env_file_text(creds, key_path="/k", api_url="https://api.github.com")
