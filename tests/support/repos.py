"""Temporary real git repositories for tests (git is never mocked)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

IDENTITY = ["-c", "user.name=Test User", "-c", "user.email=test@example.com"]
PYTEST_CHECK = f"{sys.executable} -m pytest -q -p no:cacheprovider"
# A one-function repository, its test of the missing mul(a, b), and model replies adding it.
CALC = "def add(a, b):\n    return a + b\n"
MUL_TEST = "from calc import mul\n\n\ndef test_mul():\n    assert mul(2, 3) == 6\n"
GOOD_MUL = (
    "### calc.py\n```python\ndef add(a, b):\n    return a + b\n\n\n"
    "def mul(a, b):\n    return a * b\n```\n"
)
WRONG_MUL = GOOD_MUL.replace("a * b", "a + b")
WRONG_MUL2 = GOOD_MUL.replace("a * b", "a - b")


def git(repo: Path, *args: str) -> str:
    out = subprocess.run(
        ["git", *IDENTITY, *args], cwd=repo, check=True, capture_output=True, text=True
    )
    return out.stdout


def make_repo(root: Path, files: Mapping[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    write(root, files)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    return root


def write(root: Path, files: Mapping[str, str]) -> None:
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


# `tierbot:feature` runs the orchestrator; tests of one task on one ladder label `tierbot:change`.
SINGLE_LADDER_TYPE = """\
task_types:
  change: {start: junior, ceiling: senior, output: commit, attempts: 2}
"""


def tier_config(
    server_url: str, *, check: str = PYTEST_CHECK, extra: str = "", junior_key_env: str = "null"
) -> str:
    """A repo config whose model tiers all point at the scripted model server."""
    return f"""\
tiers:
  intern:
    model: openai/intern-model
    api_base: {server_url}
    max_tokens: 2000
    context_tokens: 16000
    timeout: 10
  junior:
    model: openai/junior-model
    api_base: {server_url}
    api_key_env: {junior_key_env}
    max_tokens: 2000
    context_tokens: 16000
    timeout: 10
    price: {{input_per_mtok: 0.15, output_per_mtok: 0.6}}
  senior:
    model: openai/senior-model
    api_base: {server_url}
    api_key_env: null
    max_tokens: 4000
    context_tokens: 32000
    timeout: 10
    price: {{input_per_mtok: 3.0, output_per_mtok: 15.0}}
check:
  command: "{check}"
  timeout: 120
{SINGLE_LADDER_TYPE}{extra}"""
