"""Settings from the environment and from an env file (``--env-file``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import EnvFileError, Settings, environ_with_file, read_env_file


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
