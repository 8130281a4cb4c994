"""Settings from the environment and from an env file (``--env-file``): the allowlist and
the secret values a process holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.access import AccessError
from bot.core.logs import REDACTED
from bot.settings import EnvFileError, Settings, environ_with_file, read_env_file
from tests.support import planted


def test_env_file_values_fill_in_and_the_environment_wins(tmp_path: Path) -> None:
    path = tmp_path / "app.env"
    path.write_text(
        "# a comment\n"
        "TIERBOT_APP_ID='12'\n"
        "export TIERBOT_WEBHOOK_SECRET=from-file\n"
        'TIERBOT_WORKDIR="/srv/work"\n'
        "\n"
    )
    environ = {"TIERBOT_WEBHOOK_SECRET": "from-env", "TIERBOT_WORKDIR": "/srv/work", "HOME": "/h"}
    merged, shadowed = environ_with_file(environ, path)
    assert merged == {
        "TIERBOT_APP_ID": "12",
        "TIERBOT_WEBHOOK_SECRET": "from-env",
        "TIERBOT_WORKDIR": "/srv/work",
        "HOME": "/h",
    }
    assert shadowed == ["TIERBOT_WEBHOOK_SECRET"]  # the same value is no override
    settings = Settings.from_env(merged)
    assert settings.webhook_secret == "from-env"
    assert settings.env["TIERBOT_APP_ID"] == "12"


def test_no_env_file_is_the_environment_alone() -> None:
    assert environ_with_file({"A": "1"}, None) == ({"A": "1"}, [])


def test_a_line_that_does_not_parse_is_an_error_naming_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "app.env"
    path.write_text("TIERBOT_APP_ID=1\nnot a binding\n")
    with pytest.raises(EnvFileError, match=r"app\.env:2: not a NAME=value line"):
        read_env_file(path)


def test_a_missing_env_file_is_an_error_not_an_empty_one(tmp_path: Path) -> None:
    with pytest.raises(EnvFileError, match=r"cannot read the env file .*missing\.env"):
        read_env_file(tmp_path / "missing.env")


def test_serve_refuses_an_env_file_it_cannot_parse(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    path = tmp_path / "app.env"
    path.write_text("TIERBOT_WEBHOOK_SECRET=x\n=oops\n")
    assert main(["serve", "--workers", "0", "--env-file", str(path)]) == 2
    assert f"tierbot: error: {path}:2: not a NAME=value line" in capsys.readouterr().err


def test_serve_says_which_variable_the_environment_overrides(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.cli import main

    path = tmp_path / "app.env"
    path.write_text("TIERBOT_WEBHOOK_SECRET='from-file'\n")
    monkeypatch.setenv("TIERBOT_WEBHOOK_SECRET", "")  # an empty export still wins
    assert main(["serve", "--workers", "0", "--env-file", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"TIERBOT_WEBHOOK_SECRET from the environment overrides {path}" in err
    assert "TIERBOT_WEBHOOK_SECRET is not set" in err
    assert "from-file" not in err  # a value is never printed


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
