"""The command line: help without heavy imports, version, demo."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bot.cli import main


def test_help_does_not_import_heavy_modules():
    code = (
        "import sys; from bot.cli import main; main(['--help']); "
        "heavy = [m for m in ('litellm', 'sqlalchemy', 'git', 'rich', 'jinja2') "
        "if m in sys.modules]; print(heavy, file=sys.stderr)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "tierbot run" in out.stdout or "run" in out.stdout
    assert out.stderr.strip() == "[]"


def test_version(capsys):
    assert main(["--version"]) == 0
    assert "tierbot" in capsys.readouterr().out


def test_demo_runs_the_free_tier_in_a_sample_repo(tmp_path: Path, capsys):
    target = tmp_path / "demo"
    assert main(["demo", "--dir", str(target)]) == 0
    out, err = capsys.readouterr()
    assert "done on tierbot/add-skeleton-tests-for-shop-cart-py" in out
    assert "tests/test_cart.py" in err
    assert main(["report", "--repo", str(target), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["statuses"] == [{"status": "done", "tasks": 1}]


def test_demo_refuses_a_non_empty_directory(tmp_path: Path, capsys):
    (tmp_path / "x").write_text("mine")
    assert main(["demo", "--dir", str(tmp_path)]) == 2
    assert "is not empty" in capsys.readouterr().err
    assert (tmp_path / "x").read_text() == "mine"


def test_run_without_a_type_never_guesses_a_comment_task(tmp_path: Path, capsys):
    """A traceback points the triage at debug, which comments on a pull request; `run`
    makes commits, so it guesses among the commit types only."""
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "app.py").write_text("def f():\n    return 1\n")
    subprocess.run(["git", "-C", str(repo), "add", "."], check=True)
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "i"],
        check=True,
    )
    text = 'It crashes intermittently:\nTraceback (most recent call last):\n  File "app.py"'
    code = main(["run", text, "--repo", str(repo), "--dry-run", "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert json.loads(out)["task_type"] not in ("debug", "review")
