"""Writing the App's credentials: all or nothing, owner-only, existing files kept unless forced."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from bot.app_files import CredentialsNotWritten, write_credentials
from bot.app_manifest import AppCredentials
from bot.settings import read_env_file

CREDS = AppCredentials(
    app_id=9,
    slug="tb",
    name="tb",
    html_url="https://github.com/apps/tb",
    webhook_secret="s3cret",
    pem="-----BEGIN RSA PRIVATE KEY-----\nnew\n-----END RSA PRIVATE KEY-----\n",
)
API = "https://api.github.com"


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_a_new_folder_gets_owner_only_files_and_a_gitignore(tmp_path: Path) -> None:
    folder = tmp_path / "deep" / ".tierbot"
    env, key = write_credentials(folder, CREDS, api_url=API)
    assert names(folder) == [".gitignore", "app.env", "private-key.pem"]
    assert key.read_text() == CREDS.pem
    assert read_env_file(env)["TIERBOT_PRIVATE_KEY_PATH"] == str(key.resolve())
    assert {stat.S_IMODE(p.stat().st_mode) for p in (env, key)} == {0o600}
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_a_file_that_appeared_meanwhile_is_kept_and_nothing_else_stays(tmp_path: Path) -> None:
    (tmp_path / "app.env").write_text("TIERBOT_APP_ID='1'\n")
    with pytest.raises(CredentialsNotWritten, match=r"GitHub created the App 'tb' \(id 9\)"):
        write_credentials(tmp_path, CREDS, api_url=API)
    assert names(tmp_path) == ["app.env"]  # the key placed before it was taken back
    assert (tmp_path / "app.env").read_text() == "TIERBOT_APP_ID='1'\n"


def test_a_forced_write_that_fails_half_way_restores_the_old_files(tmp_path: Path) -> None:
    (tmp_path / "private-key.pem").write_text("old key\n")
    (tmp_path / "app.env").mkdir()  # replacing it fails after the key was already replaced
    with pytest.raises(CredentialsNotWritten, match=r"https://github\.com/apps/tb"):
        write_credentials(tmp_path, CREDS, api_url=API, force=True)
    assert (tmp_path / "private-key.pem").read_text() == "old key\n"
    assert names(tmp_path) == ["app.env", "private-key.pem"]  # no temporary file, no backup


def test_a_forced_write_replaces_and_leaves_no_backup(tmp_path: Path) -> None:
    (tmp_path / "private-key.pem").write_text("old key\n")
    (tmp_path / "app.env").write_text("OLD=1\n")
    write_credentials(tmp_path, CREDS, api_url=API, force=True)
    assert (tmp_path / "private-key.pem").read_text() == CREDS.pem
    assert "OLD" not in read_env_file(tmp_path / "app.env")
    assert names(tmp_path) == ["app.env", "private-key.pem"]


def test_a_failure_in_a_folder_it_created_removes_the_folder(tmp_path: Path) -> None:
    unquotable = AppCredentials(9, "tb", "tb", "https://github.com/apps/tb", "it's", "pem")
    with pytest.raises(CredentialsNotWritten, match="holds a quote or newline"):
        write_credentials(tmp_path / "new", unquotable, api_url=API)
    assert names(tmp_path) == []
