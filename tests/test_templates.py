"""Tests for bot.core.templates: each generator, each decline, and generated tests run by pytest."""

from __future__ import annotations

import ast
import configparser
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.core.templates import generate
from bot.core.types import EditSet
from tests.support.templates import CALC, declined, edits_of, request, run_pytest, write

# --------------------------------------------------------------------------- dispatch


@pytest.mark.parametrize("task_type", ["review", "debug", "feature", ""])
def test_other_task_types_are_declined(task_type: str) -> None:
    reason = declined(generate(request(task_type, "Add tests for calc.py", {"calc.py": CALC})))
    assert reason == f"the template tier has no generator for {task_type} tasks"


# --------------------------------------------------------------------------- stub generator


STUB_TASK = '''Create src/textkit/tokens.py with helpers for splitting text into tokens.

```python
@dataclass(frozen=True)
class Token:
    """One token and where it starts."""
    text: str
    start: int = 0

class Tokenizer:
    def __init__(self, source: str, *, separators: Sequence[str] = (" ", ",")) -> None:
    def next(self) -> Token | None:  # the next token, or None at the end
    @property
    def position(self) -> int:

def tokenize(
    text: str,
    limit: int | None = None,
) -> list[Token]:
    """Split ``text`` into tokens."""

async def fetch(path: Path, /, *, encoding: str = "utf-8") -> str:
```
'''


def test_stub_generator_writes_a_module_of_documented_stubs() -> None:
    repo = {"src/textkit/__init__.py": "", "tests/test_x.py": ""}
    edits = edits_of(generate(request("stub", STUB_TASK, repo)))
    assert list(edits) == ["src/textkit/tokens.py"]
    source = edits["src/textkit/tokens.py"]
    compile(source, "tokens.py", "exec", dont_inherit=True)
    tree = ast.parse(source)
    assert ast.get_docstring(tree) == "Helpers for splitting text into tokens."
    functions = sorted(
        (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)),
        key=lambda n: n.lineno,
    )
    assert [f.name for f in functions] == ["__init__", "next", "position", "tokenize", "fetch"]
    for function in functions:
        assert ast.get_docstring(function), function.name
        assert ast.unparse(function.body[-1]) == "raise NotImplementedError"
    docs = {f.name: ast.get_docstring(f) for f in functions}
    assert docs["next"] == "The next token, or None at the end."
    assert docs["tokenize"] == "Split ``text`` into tokens."
    assert docs["__init__"] == "Create a tokenizer."
    assert "from dataclasses import dataclass\n" in source
    assert "from collections.abc import Sequence\n" in source
    assert "from pathlib import Path\n" in source
    assert "from __future__ import annotations\n" in source
    assert 'separators: Sequence[str] = (" ", ",")' in source
    assert 'async def fetch(path: Path, /, *, encoding: str = "utf-8") -> str:' in source
    token = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Token")
    assert [ast.unparse(s) for s in token.body[1:]] == ["text: str", "start: int = 0"]


@pytest.mark.slow
def test_stub_then_tests_chain_runs_green(tmp_path: Path) -> None:
    repo = {"src/textkit/__init__.py": ""}
    stub = edits_of(generate(request("stub", STUB_TASK, repo)))
    repo.update(stub)
    write(tmp_path, repo)
    write(tmp_path, edits_of(generate(request("config", "configure pytest", repo))))
    write(tmp_path, edits_of(generate(request("tests", "tests for src/textkit/tokens.py", repo))))
    counts, output = run_pytest(tmp_path)
    # Token, Tokenizer, tokenize and fetch: one interface test and one placeholder each.
    assert counts == {"passed": 4, "skipped": 4}, output


@pytest.mark.slow
def test_generated_python_is_lint_and_format_clean(tmp_path: Path) -> None:
    pytest.importorskip("ruff")
    repo = {"src/textkit/__init__.py": ""}
    repo.update(edits_of(generate(request("stub", STUB_TASK, repo))))
    repo.update(edits_of(generate(request("tests", "tests for src/textkit/tokens.py", repo))))
    repo.update({"calc.py": CALC})
    repo.update(edits_of(generate(request("tests", "tests for calc.py", repo))))
    write(tmp_path, repo)
    ruff = [sys.executable, "-m", "ruff"]
    options = ["--isolated", "--no-cache"]
    check = subprocess.run(
        [*ruff, "check", *options, "--select", "E,F,W,I,B,UP", "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    form = subprocess.run(
        [*ruff, "format", *options, "--check", "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert form.returncode == 0, form.stdout + form.stderr


def test_stub_generator_reads_signatures_from_prose() -> None:
    text = (
        "Create `src/pkg/newsub/util.py`\n"
        "- `def slugify(title: str) -> str` — turn a title into a URL slug\n"
        "- `class Cache:`\n"
        "  - `def get(self, key: str) -> str | None`: look a key up\n"
        "- `def clear(self) -> None`\n"
    )
    edits = edits_of(generate(request("stub", text, {"src/pkg/__init__.py": ""})))
    assert sorted(edits) == ["src/pkg/newsub/__init__.py", "src/pkg/newsub/util.py"]
    tree = ast.parse(edits["src/pkg/newsub/util.py"])
    slugify, cache = tree.body[2], tree.body[3]
    assert isinstance(slugify, ast.FunctionDef)
    assert ast.get_docstring(slugify) == "Turn a title into a URL slug."
    assert isinstance(cache, ast.ClassDef)
    methods = [n for n in cache.body if isinstance(n, ast.FunctionDef)]
    assert [m.name for m in methods] == ["get", "clear"]
    assert ast.get_docstring(methods[0]) == "Look a key up."
    assert ast.get_docstring(tree) == "The ``pkg.newsub.util`` module (stubs to be implemented)."
    ast.parse(edits["src/pkg/newsub/__init__.py"])


def test_stub_keeps_class_attributes_and_fields_but_not_bodies() -> None:
    text = """Create src/pkg/colors.py with a small palette.

```python
class Color(Enum):  # a colour of the palette
    RED = 1
    GREEN = 2

@dataclass
class Theme:
    background: str = "#fff"  # a hash inside a string is not a comment
    accent: Color = Color.RED
    def render(self) -> str: return "<html>"

def pick(name: str) -> Color: ...  # pick a colour by name
```
"""
    edits = edits_of(generate(request("stub", text, {"src/pkg/__init__.py": ""})))
    source = edits["src/pkg/colors.py"]
    assert source == (
        '''"""A small palette."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Color(Enum):
    """A colour of the palette."""

    RED = 1
    GREEN = 2


@dataclass
class Theme:
    """Theme."""

    background: str = "#fff"
    accent: Color = Color.RED

    def render(self) -> str:
        """Render."""
        raise NotImplementedError


def pick(name: str) -> Color:
    """Pick a colour by name."""
    raise NotImplementedError
'''
    )


def test_stub_docstrings_cannot_break_out_of_the_string() -> None:
    text = 'Create evil.py that says """ and \\ and "\n`def g(a)`: ends with a quote "\n'
    edits = edits_of(generate(request("stub", text, {})))
    tree = ast.parse(edits["evil.py"])
    assert ast.get_docstring(tree) == 'Says """ and \\ and ".'
    function = tree.body[2]
    assert isinstance(function, ast.FunctionDef)
    assert ast.get_docstring(function) == 'Ends with a quote ".'
    assert len(tree.body) == 3


@pytest.mark.parametrize(
    ("text", "repo", "reason"),
    [
        (
            "Write `def parse(text: str) -> list[str]`",
            {},
            "the task names no target path; say where the module goes, "
            "e.g. 'Create src/pkg/util.py with ...'",
        ),
        (
            "Create src/pkg/util.py with a parser",
            {},
            "the task gives no signature to stub; write them as `def name(arg: type) -> type:` "
            "or `class Name:` lines, ideally in a code fence",
        ),
        (
            "Create src/pkg/config.py with `def load()`",
            {"src/pkg/config.py": "X = 1\n"},
            "src/pkg/config.py already exists; the stub generator only creates new modules",
        ),
        (
            "Create my-util.py with `def load()`",
            {},
            "my-util.py is not a valid Python module name",
        ),
        (
            "Like a.py and b.py, `def load()`",
            {},
            "several new module paths are named (a.py, b.py); name one target per stub task",
        ),
        (
            'Create x.py:\n```\ndef f(x=__import__("os").system("id")): ...\n```',
            {},
            "the signature of f calls __import__('os').system() when the module is imported; "
            "stubs copy only names, literals and annotations",
        ),
        (
            "Create x.py:\n```\ndef f(key=lambda v: v): ...\n```",
            {},
            "the signature of f uses 'lambda v: v'; stubs copy only names, literals and "
            "annotations, nothing that computes at import time",
        ),
        (
            "Create x.py:\n```\nclass Error(BaseError):\n```",
            {},
            "Error needs BaseError when the module is imported, but the task does not define it "
            "and it is not a known standard-library name",
        ),
        (
            "Create x.py:\n```\ndef f(a, a): ...\n```",
            {},
            "the signature 'def f(a, a)' does not parse: duplicate argument 'a' in function "
            "definition",
        ),
        (
            "Create x.py:\n```\ndef f(a): ...\ndef f(b): ...\n```",
            {},
            "f is declared twice in the module",
        ),
        (
            "Create x.py:\n```\nclass A:\n    class B:\n        pass\n```",
            {},
            "B is nested in A; the stub generator writes only top-level classes",
        ),
        (
            "Create x.py:\n```\ndef f(a,\n```",
            {},
            "the signature 'def f(a,' is never closed",
        ),
    ],
)
def test_stub_generator_declines(text: str, repo: dict[str, str], reason: str) -> None:
    assert declined(generate(request("stub", text, repo))) == reason


@pytest.mark.parametrize(
    ("task_type", "text", "repo"),
    [
        (
            "tests",
            "Add tests for src/pkg/calc.py",
            {"src/pkg/__init__.py": "", "src/pkg/calc.py": CALC},
        ),
        ("stub", STUB_TASK, {"src/textkit/__init__.py": ""}),
        ("config", "Add CI, pytest.ini, editorconfig and pre-commit", {"src/pkg/a.py": ""}),
    ],
)
def test_every_generator_is_byte_stable(task_type: str, text: str, repo: dict[str, str]) -> None:
    results = {generate(request(task_type, text, dict(reversed(repo.items())))) for _ in range(3)}
    results.add(generate(request(task_type, text, repo)))
    assert len(results) == 1
    (result,) = results
    assert isinstance(result, EditSet)


@pytest.mark.parametrize(
    ("task_type", "text", "repo", "reason"),
    [
        (
            "tests",
            "Add tests for calc.py",
            {"calc.py": "X = 1\x00\n"},
            "calc.py has a syntax error: source code string cannot contain null bytes; "
            "the template tier only reads valid Python",
        ),
        (
            "stub",
            "Create a.py with `def f(x=1" + "+1" * 3000 + ")`",
            {},
            "the signature 'def f(x=1"
            + "+1" * 34
            + "...' does not parse: too deeply nested to parse",
        ),
    ],
)
def test_pathological_input_is_declined_not_raised(
    task_type: str, text: str, repo: dict[str, str], reason: str
) -> None:
    assert declined(generate(request(task_type, text, repo))) == reason


def test_stub_target_prefers_the_path_after_a_creation_verb() -> None:
    text = "Following src/pkg/config.py, create src/pkg/util.py with `def f() -> None`"
    repo = {"src/pkg/__init__.py": "", "src/pkg/config.py": "X = 1\n"}
    assert list(edits_of(generate(request("stub", text, repo)))) == ["src/pkg/util.py"]


# --------------------------------------------------------------------------- config generator


@pytest.mark.parametrize(
    ("repo", "expected"),
    [
        ({"tests/test_a.py": ""}, {"testpaths": "tests", "addopts": "-ra"}),
        ({"test/test_a.py": ""}, {"testpaths": "test", "addopts": "-ra"}),
        (
            {"src/pkg/__init__.py": ""},
            {"testpaths": "tests", "pythonpath": "src", "addopts": "-ra"},
        ),
    ],
)
def test_config_writes_pytest_ini(repo: dict[str, str], expected: dict[str, str]) -> None:
    edits = edits_of(generate(request("config", "Add a pytest.ini", repo)))
    parser = configparser.ConfigParser()
    parser.read_string(edits["pytest.ini"])
    assert dict(parser["pytest"]) == expected


@pytest.mark.parametrize(
    ("repo", "install"),
    [
        ({}, ["python -m pip install --upgrade pip", "python -m pip install pytest"]),
        (
            {
                "pyproject.toml": '[project]\nname = "x"\n'
                '[project.optional-dependencies]\ntest = ["pytest"]\n',
                "requirements.txt": "",
            },
            [
                "python -m pip install --upgrade pip",
                "python -m pip install -r requirements.txt",
                'python -m pip install -e ".[test]"',
                "python -m pip install pytest",
            ],
        ),
        (
            {"setup.py": ""},
            [
                "python -m pip install --upgrade pip",
                "python -m pip install -e .",
                "python -m pip install pytest",
            ],
        ),
    ],
)
def test_config_writes_a_ci_workflow(repo: dict[str, str], install: list[str]) -> None:
    edits = edits_of(generate(request("config", "Set up GitHub Actions CI for tests", repo)))
    assert list(edits) == [".github/workflows/ci.yml"]
    workflow = yaml.safe_load(edits[".github/workflows/ci.yml"])
    assert workflow[True] == ["push", "pull_request"]  # YAML 1.1 reads the key `on` as True
    job = workflow["jobs"]["test"]
    assert job["strategy"]["matrix"]["python-version"] == ["3.11", "3.12"]
    steps = {step.get("name", step.get("uses")): step for step in job["steps"]}
    assert steps["actions/setup-python@v5"]["with"]["python-version"] == (
        "${{ matrix.python-version }}"
    )
    assert steps["Install"]["run"].splitlines() == install
    assert steps["Test"]["run"] == "python -m pytest -q"


def test_config_writes_editorconfig() -> None:
    edits = edits_of(generate(request("config", "Add an EditorConfig file", {})))
    parser = configparser.ConfigParser()
    parser.read_string("[top]\n" + edits[".editorconfig"])
    assert parser["top"]["root"] == "true"
    assert parser["*"]["indent_style"] == "space"
    assert parser["*"]["end_of_line"] == "lf"


@pytest.mark.slow
def test_config_writes_a_valid_pre_commit_config(tmp_path: Path) -> None:
    pytest.importorskip("pre_commit")
    edits = edits_of(generate(request("config", "Add a pre-commit config", {})))
    config = yaml.safe_load(edits[".pre-commit-config.yaml"])
    (repo,) = config["repos"]
    assert repo["repo"] == "https://github.com/astral-sh/ruff-pre-commit"
    assert re.fullmatch(r"v\d+\.\d+\.\d+", repo["rev"])
    assert [hook["id"] for hook in repo["hooks"]] == ["ruff-check", "ruff-format"]
    write(tmp_path, edits)
    proc = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-config", ".pre-commit-config.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_config_writes_every_file_named() -> None:
    edits = edits_of(generate(request("config", "Add .editorconfig and pre-commit hooks", {})))
    assert list(edits) == [".editorconfig", ".pre-commit-config.yaml"]


@pytest.mark.parametrize(
    ("text", "repo", "reason"),
    [
        (
            "Add a Makefile",
            {},
            "no config file the template tier knows is named in the task (pytest.ini, "
            ".github/workflows/ci.yml, .editorconfig, .pre-commit-config.yaml)",
        ),
        (
            "Configure pytest",
            {"pyproject.toml": "[tool.pytest.ini_options]\naddopts = '-q'\n"},
            "pytest is already configured in pyproject.toml",
        ),
        (
            "Configure pytest",
            {"setup.cfg": "[metadata]\nname = x\n\n[tool:pytest]\naddopts = -q\n"},
            "pytest is already configured in setup.cfg",
        ),
        (
            "Configure pytest",
            {"tox.ini": "[tox]\nenvlist = py311\n\n[pytest]\naddopts = -q\n"},
            "pytest is already configured in tox.ini",
        ),
        (
            "Add pytest.ini",
            {"pytest.ini": "[pytest]\n"},
            "pytest is already configured in pytest.ini",
        ),
        (
            "Add a CI workflow",
            {".github/workflows/ci.yml": "name: CI\n"},
            ".github/workflows/ci.yml already exists; the template tier only creates it",
        ),
        (
            "Add .editorconfig",
            {".editorconfig": "root = true\n"},
            ".editorconfig already exists; the template tier only creates it",
        ),
        (
            "Add a pre-commit config",
            {".pre-commit-config.yaml": "repos: []\n"},
            ".pre-commit-config.yaml already exists; the template tier only creates it",
        ),
    ],
)
def test_config_generator_declines(text: str, repo: dict[str, str], reason: str) -> None:
    assert declined(generate(request("config", text, repo))) == reason


def test_pytest_config_is_written_when_pyproject_has_none() -> None:
    repo = {"pyproject.toml": '[project]\nname = "x"\n\n[tool.ruff]\nline-length = 100\n'}
    assert list(edits_of(generate(request("config", "pytest config please", repo)))) == [
        "pytest.ini"
    ]
