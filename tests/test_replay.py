"""`tierbot replay`: a recorded delivery through the same router, without side effects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import EXIT_USAGE, main
from tests.test_app import LABELED


def write(tmp_path: Path, payload: object) -> Path:
    path = tmp_path / "delivery.json"
    path.write_text(json.dumps(payload))
    return path


def test_dry_run_prints_what_would_happen(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("TIERBOT_APP_ID", raising=False)
    monkeypatch.chdir(tmp_path)
    code = main(["replay", str(write(tmp_path, LABELED)), "--event", "issues", "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0
    assert "issues.labeled for o/r: " in out
    assert "bot.handlers.tasks.start_task_on_label" in out
    assert "assuming alice has write access" in out
    assert "would run a stub task for o/r#7 on tierbot/issue-7, from template up to junior" in out
    assert list(tmp_path.iterdir()) == [tmp_path / "delivery.json"]  # nothing written


def test_dry_run_of_an_event_no_handler_takes(tmp_path, capsys):
    payload = {**LABELED, "label": {"name": "bug"}}
    assert main(["replay", str(write(tmp_path, payload)), "--event", "issues", "--dry-run"]) == 0
    assert "no writes" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "cannot read"),
        (json.dumps({"action": "labeled", "issue": {}}), "not a valid issues payload"),
    ],
    ids=["not-json", "wrong-shape"],
)
def test_bad_files_exit_2(tmp_path, capsys, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    assert main(["replay", str(path), "--event", "issues", "--dry-run"]) == EXIT_USAGE
    assert message in capsys.readouterr().err
