"""``action.yml`` and the reusable ``.github/workflows/tierbot.yml`` say what the code reads.

``.ci/lint-workflows`` (actionlint and SchemaStore's schemas) checks their syntax; these tests
check that they hand ``tierbot action`` the variables it reads, and ask for no more than it needs.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]


def load(path: str) -> Any:
    data = yaml.safe_load((ROOT / path).read_text())
    # YAML 1.1 reads the key "on" as True.
    if True in data:
        data["on"] = data.pop(True)
    return data


def test_the_action_installs_itself_and_runs_tierbot_action_with_the_runners_token() -> None:
    action = load("action.yml")
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    install = next(s for s in steps if "pip install" in s.get("run", ""))
    assert install["env"]["ACTION_PATH"] == "${{ github.action_path }}"
    [run] = [s for s in steps if s.get("id") == "tierbot"]
    assert run["run"] == "tierbot action"
    env = run["env"]
    assert env["TIERBOT_DEFAULT_TOKEN"] == "${{ github.token }}"
    assert "inputs.github-token" in env["TIERBOT_GITHUB_TOKEN"]
    assert action["inputs"]["github-token"]["default"] == "${{ github.token }}"
    # Every variable the runner module reads is one the action sets (or the runner provides).
    source = (ROOT / "bot" / "action" / "runner.py").read_text()
    read = set(re.findall(r'"(TIERBOT_[A-Z_]+)"', source))
    assert read <= set(env), read - set(env)
    for name in ("status", "cost", "pull-request", "task-cost"):
        assert action["outputs"][name]["value"] == f"${{{{ steps.tierbot.outputs.{name} }}}}"


def test_the_reusable_workflow_is_called_with_least_privilege_one_run_per_issue() -> None:
    flow = load(".github/workflows/tierbot.yml")
    assert set(flow["on"]) == {"workflow_call"}
    assert flow["permissions"] == {}
    job = flow["jobs"]["tierbot"]
    assert job["permissions"] == {
        "contents": "write",
        "issues": "write",
        "pull-requests": "write",
        "actions": "read",
        "checks": "read",
    }
    group = flow["concurrency"]["group"]
    for part in (
        "github.event.issue.number",
        "github.event.pull_request.number",
        "github.event.workflow_run.head_branch",
    ):
        assert part in group
    assert flow["concurrency"]["cancel-in-progress"] is False
    assert "startsWith(github.event.workflow_run.head_branch, 'tierbot/')" in job["if"]
    [step] = [s for s in job["steps"] if s.get("id") == "tierbot"]
    assert step["uses"].endswith("/tierbot@v1")
