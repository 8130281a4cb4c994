"""Settings: the allowlist and the secret values a process holds, read from one environment."""

from __future__ import annotations

import pytest

from bot.access import AccessError
from bot.core.logs import REDACTED
from bot.settings import Settings
from tests.support import planted

ENV = {
    **planted.ENV,
    "TIERBOT_PRIVATE_KEY": planted.private_key_pem(0),
    "TIERBOT_ALLOWED_KEY_ENVS": "CORP_LLM_KEY",
    "CORP_LLM_KEY": "corp-llm-key-31415926",
    "AWS_SECRET_ACCESS_KEY": "aws-secret-27182818",
    "PIP_INDEX_URL": "https://ci:pip-pass-1618033@pypi.corp.example/simple",
    "HOME": "/home/someone",
    "TIERBOT_PRIVATE_KEY_PATH": "/etc/tierbot/app-key.pem",
    "SHORT_TOKEN": "abc",
}


def test_the_redactor_knows_every_secret_value_of_the_environment():
    redact = Settings.from_env(ENV).redactor()
    values = [
        planted.ENV["OPENAI_API_KEY"],  # an allowed key variable
        "corp-llm-key-31415926",  # one the operator allowed
        planted.ENV["TIERBOT_WEBHOOK_SECRET"],
        planted.ENV["GITHUB_TOKEN"],  # named like a credential
        "aws-secret-27182818",
        planted.DB_PASSWORD,  # the password of a URL
        "pip-pass-1618033",
        *planted.pem_body_lines(planted.private_key_pem(0))[:-1],
    ]

    out = redact.values("\n".join(values))

    assert [v for v in values if v in out] == []
    assert out.count(REDACTED) == len(values)


def test_names_and_paths_that_are_not_secrets_stay():
    redact = Settings.from_env(ENV).redactor()
    text = "/home/someone /etc/tierbot/app-key.pem abc db.internal"

    assert redact.values(text) == text


def test_models_are_given_only_the_allowed_key_variables():
    settings = Settings.from_env(ENV)

    assert settings.model_keys() == {
        "CORP_LLM_KEY": "corp-llm-key-31415926",
        "OPENAI_API_KEY": planted.ENV["OPENAI_API_KEY"],
    }


def test_a_malformed_allowlist_stops_the_settings():
    with pytest.raises(AccessError, match="TIERBOT_ALLOWED_API_BASES"):
        Settings.from_env({"TIERBOT_ALLOWED_API_BASES": "not a url"})


def test_settings_never_show_secrets_in_their_repr():
    assert "webhook-secret" not in repr(Settings.from_env(ENV))
