"""The repository's GitHub workflow files pass actionlint and SchemaStore's schemas.

``.ci/lint-workflows`` runs both (CI runs it too); here it also runs on deliberately broken
files, to show each check bites before trusting it on ours.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.support.services import require_service

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / ".ci" / "lint-workflows"
ACTION = (
    "name: x\ndescription: y\n"
    "runs:\n  using: composite\n  steps:\n    - run: echo hi\n      shell: bash\n"
)


def lint(root: Path) -> subprocess.CompletedProcess[str]:
    # The tools sit beside this interpreter in a venv that is not on PATH.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    for tool in ("actionlint", "check-jsonschema"):
        require_service(
            tool, shutil.which(tool, path=path) is not None, "pip install -e '.[test]' brings it"
        )
    env = {**os.environ, "PATH": path}
    return subprocess.run(
        ["bash", str(SCRIPT), str(root)], capture_output=True, text=True, env=env, check=False
    )


def test_this_repositorys_workflows_pass() -> None:
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    workflows = len(list((ROOT / ".github" / "workflows").glob("*.y*ml")))
    assert f"workflow checks: {workflows} workflow(s)" in result.stdout


def test_a_workflow_with_a_bad_expression_fails(tmp_path: Path) -> None:
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)
    (folder / "bad.yml").write_text(
        "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - run: echo ${{ github.nope }}\n"
    )
    result = lint(tmp_path)
    assert result.returncode != 0
    assert 'property "nope" is not defined' in result.stdout


def test_an_action_file_is_held_to_its_schema(tmp_path: Path) -> None:
    (tmp_path / "action.yml").write_text(ACTION)
    good = lint(tmp_path)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "0 workflow(s), 1 action file(s) passed" in good.stdout
    (tmp_path / "action.yml").write_text(ACTION.replace("description: y\n", ""))
    bad = lint(tmp_path)
    assert bad.returncode != 0
    assert "'description' is a required property" in bad.stdout


def test_ci_runs_the_ci_script_with_postgres_on_push_and_pull_request() -> None:
    ci: dict[Any, Any] = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    triggers = ci.get("on", ci.get(True))  # YAML 1.1 reads a bare `on` as true
    assert set(triggers) == {"push", "pull_request"}
    (job,) = ci["jobs"].values()
    postgres = job["services"]["postgres"]
    assert postgres["env"] == {"POSTGRES_HOST_AUTH_METHOD": "trust", "POSTGRES_DB": "test"}
    assert postgres["ports"] == ["5432:5432"]
    python = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/setup-python"))
    assert python["with"]["python-version"] == "3.11"
    assert job["steps"][-1]["run"] == "bash .ci/run"
