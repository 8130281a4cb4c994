"""The ``config`` generator: well-known config files for pytest, CI, EditorConfig, pre-commit."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass

from bot.core.templates.layout import Repo, dir_for_tests, uses_src_layout
from bot.core.templates.request import Declined, NothingToDo, Proposal, Suggestion
from bot.core.types import EditSet, FileEdit

# A release named in ruff-pre-commit's README; `pre-commit autoupdate` moves it forward.
RUFF_PRE_COMMIT_REV = "v0.15.22"

CI_PYTHON_VERSIONS = ("3.11", "3.12")
PROTECTED_WHY = (
    "protected by paths.protected in .github/tierbot.yml, so tierbot suggests it instead of "
    "committing it (remove the glob there to let tierbot commit workflow files)"
)


_EDITORCONFIG = """\
# https://editorconfig.org
root = true

[*]
charset = utf-8
end_of_line = lf
insert_final_newline = true
trim_trailing_whitespace = true
indent_style = space
indent_size = 4

[*.{json,toml,yaml,yml}]
indent_size = 2

[*.md]
trim_trailing_whitespace = false

[Makefile]
indent_style = tab
"""

_PRE_COMMIT = f"""\
# https://pre-commit.com: `pre-commit install` once, then the hooks run on every commit.
repos:
  - repo: https://github.com/astral-sh/ruff-pre-commit
    rev: {RUFF_PRE_COMMIT_REV}
    hooks:
      - id: ruff-check
        args: [--fix]
      - id: ruff-format
"""


def _pytest_config_location(repo: Repo) -> str | None:
    for path in ("pytest.ini", ".pytest.ini", "pytest.toml", ".pytest.toml"):
        if repo.exists(path):
            return path
    pyproject = repo.read("pyproject.toml")
    if pyproject is not None:
        try:
            tool = tomllib.loads(pyproject).get("tool", {})
            if isinstance(tool, dict) and "pytest" in tool:
                return "pyproject.toml"
        except tomllib.TOMLDecodeError:
            if re.search(r"^\[tool\.pytest[\].]", pyproject, re.M):
                return "pyproject.toml"
    for path, section in (("setup.cfg", "tool:pytest"), ("tox.ini", "pytest")):
        text = repo.read(path)
        if text is not None and re.search(rf"^\[{re.escape(section)}\]", text, re.M):
            return path
    return None


def _pytest_ini(repo: Repo) -> str:
    lines = [
        "# https://docs.pytest.org/en/stable/reference/customize.html",
        "[pytest]",
        f"testpaths = {dir_for_tests(repo.files)}",
    ]
    if uses_src_layout(repo.files):
        # Tests import the package from src/ without installing it first.
        lines.append("pythonpath = src")
    lines.append("addopts = -ra")
    return "\n".join(lines) + "\n"


def _install_commands(repo: Repo) -> list[str]:
    commands = ["python -m pip install --upgrade pip"]
    for requirements in ("requirements.txt", "requirements-dev.txt", "requirements-test.txt"):
        if repo.exists(requirements):
            commands.append(f"python -m pip install -r {requirements}")
    if repo.exists("pyproject.toml") or repo.exists("setup.py") or repo.exists("setup.cfg"):
        extra = ""
        try:
            project = tomllib.loads(repo.read("pyproject.toml") or "").get("project", {})
            optional = project.get("optional-dependencies", {}) if isinstance(project, dict) else {}
            for name in ("test", "tests", "testing", "dev"):
                if isinstance(optional, dict) and name in optional:
                    extra = f"[{name}]"
                    break
        except tomllib.TOMLDecodeError:
            pass
        commands.append(
            f'python -m pip install -e ".{extra}"' if extra else "python -m pip install -e ."
        )
    commands.append("python -m pip install pytest")
    return commands


def _ci_workflow(repo: Repo) -> str:
    versions = ", ".join(f'"{v}"' for v in CI_PYTHON_VERSIONS)
    install = "\n".join(f"          {c}" for c in _install_commands(repo))
    return f"""\
name: CI

on: [push, pull_request]

permissions:
  contents: read

jobs:
  test:
    runs-on: ubuntu-latest
    strategy:
      fail-fast: false
      matrix:
        python-version: [{versions}]
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: ${{{{ matrix.python-version }}}}
      - name: Install
        run: |
{install}
      - name: Test
        run: python -m pytest -q
"""


@dataclass(frozen=True)
class _ConfigKind:
    path: str
    pattern: re.Pattern[str]
    render: Callable[[Repo], str]


_CONFIG_KINDS = (
    _ConfigKind(
        "pytest.ini",
        re.compile(
            r"pytest\.ini|\bpytest[\s-]+(?:config(?:uration)?|settings|options|ini)\b"
            r"|\bconfigure\s+pytest\b|\b(?:config(?:uration)?|settings)\s+(?:file\s+)?for\s+pytest\b",
            re.IGNORECASE,
        ),
        _pytest_ini,
    ),
    _ConfigKind(
        ".github/workflows/ci.yml",
        re.compile(
            r"\bci\.ya?ml\b|\bgithub\s+actions?\b|\bworkflow\b|\bcontinuous\s+integration\b"
            r"|(?-i:\bCI\b)",  # the acronym only in capitals: "ci" is too common a fragment
            re.IGNORECASE,
        ),
        _ci_workflow,
    ),
    _ConfigKind(
        ".editorconfig", re.compile(r"editor\s*config", re.IGNORECASE), lambda _: _EDITORCONFIG
    ),
    _ConfigKind(
        ".pre-commit-config.yaml",
        re.compile(r"\bpre-?commit\b", re.IGNORECASE),
        lambda _: _PRE_COMMIT,
    ),
)


def generate_config(repo: Repo, text: str) -> EditSet | Declined | NothingToDo:
    """Each well-known config file the task names, if the repository lacks it.

    A file the path policy protects (by default ``.github/workflows/**``) is offered as a
    suggestion in the commit message instead; a task asking only for such files ends with the
    suggestion, since every tier would be refused the same path.
    """
    kinds = [k for k in _CONFIG_KINDS if k.pattern.search(text)]
    if not kinds:
        known = ", ".join(k.path for k in _CONFIG_KINDS)
        return Declined(f"no config file the template tier knows is named in the task ({known})")
    edits: list[FileEdit] = []
    suggestions: list[Suggestion] = []
    for kind in kinds:
        if kind.path == "pytest.ini":
            location = _pytest_config_location(repo)
            if location is not None:
                return NothingToDo(f"pytest is already configured in {location}")
        if repo.exists(kind.path):
            return Declined(f"{kind.path} already exists; the template tier only creates it")
        if repo.protected(kind.path):
            suggestions.append(Suggestion(kind.path, kind.render(repo), PROTECTED_WHY))
        else:
            edits.append(FileEdit(kind.path, kind.render(repo)))
    if not edits:
        shown = "\n\n".join(s.render() for s in suggestions)
        return NothingToDo(
            f"{', '.join(s.path for s in suggestions)}: {PROTECTED_WHY}; add it yourself:\n{shown}"
        )
    return Proposal(tuple(edits), tuple(suggestions))
