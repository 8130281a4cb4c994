"""Tests for bot.core.templates: each generator, each decline, and generated tests run by pytest."""

from __future__ import annotations

import ast
import configparser
import os
import random
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest
import yaml

from bot.core import templates
from bot.core.templates import (
    Declined,
    PublicName,
    TemplateRequest,
    generate,
    module_import_name,
    public_names,
    skeleton_tests,
)
from bot.core.types import EditSet


def request(task_type: str, text: str, repo: Mapping[str, str]) -> TemplateRequest:
    return TemplateRequest(task_type, text, tuple(repo), repo.get)


def edits_of(result: EditSet | Declined) -> dict[str, str]:
    assert isinstance(result, EditSet), result
    contents = {edit.path: edit.content for edit in result.edits}
    assert all(isinstance(c, str) for c in contents.values())
    return {path: content for path, content in contents.items() if content is not None}


def declined(result: EditSet | Declined) -> str:
    assert isinstance(result, Declined), result
    return result.reason


def write(root: Path, files: Mapping[str, str]) -> None:
    for path, content in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)


def assert_keeps_lines(old: str, new: str) -> None:
    """Every line of ``old`` is still in ``new``, in the same order."""
    lines = new.split("\n")
    position = 0
    for line in old.rstrip("\n").split("\n"):
        assert line in lines[position:], line
        position = lines.index(line, position) + 1


_SUMMARY_LINE = re.compile(r"\d+ (?:passed|failed|skipped|errors?)\b.* in [\d.]+s")
_COUNT = re.compile(r"(\d+) (passed|failed|skipped|errors?|deselected|xfailed|xpassed|warnings?)")


def run_pytest(cwd: Path, *args: str, safe_path: bool = False) -> tuple[dict[str, int], str]:
    """Run real pytest in ``cwd``; return the counts of its summary line and its output.

    ``safe_path`` runs ``python -P``: the working directory is then not on ``sys.path``, as
    under a plain ``pytest`` command.
    """
    env = {k: v for k, v in os.environ.items() if k not in {"PYTEST_ADDOPTS", "PYTHONPATH"}}
    command = [sys.executable, *(["-P"] if safe_path else []), "-m", "pytest", "-q"]
    command += ["-p", "no:cacheprovider", "-W", "error", *args]
    proc = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    output = proc.stdout + proc.stderr
    lines = [line for line in proc.stdout.splitlines() if _SUMMARY_LINE.search(line)]
    assert lines, output
    counts = {
        kind.rstrip("s") if kind.endswith("s") and kind != "passed" else kind: int(n)
        for n, kind in _COUNT.findall(lines[-1])
    }
    return counts, output


CALC = '''"""A tiny calculator."""

PRECISION = 2


def add(a: int, b: int) -> int:
    return a + b


class Calculator:
    def __init__(self, precision: int = PRECISION) -> None:
        self.precision = precision

    def total(self, *values: float) -> float:
        return round(sum(values), self.precision)

    @property
    def digits(self) -> int:
        return self.precision
'''


# --------------------------------------------------------------------------- dispatch


@pytest.mark.parametrize("task_type", ["review", "debug", "feature", ""])
def test_other_task_types_are_declined(task_type: str) -> None:
    reason = declined(generate(request(task_type, "Add tests for calc.py", {"calc.py": CALC})))
    assert reason == f"the template tier has no generator for {task_type} tasks"


# --------------------------------------------------------------------------- repository layout


@pytest.mark.parametrize(
    ("path", "files", "expected"),
    [
        ("calc.py", ["calc.py"], "calc"),
        ("src/pkg/config.py", ["src/pkg/__init__.py", "src/pkg/config.py"], "pkg.config"),
        ("src/pkg/config.py", ["src/pkg/config.py"], "pkg.config"),  # namespace package
        ("src/ns/pkg/mod.py", ["src/ns/pkg/__init__.py"], "ns.pkg.mod"),
        (
            "bot/core/edits.py",
            ["bot/__init__.py", "bot/core/__init__.py", "bot/core/edits.py"],
            "bot.core.edits",
        ),
        ("pkg/config.py", ["pkg/config.py"], "pkg.config"),
        ("pkg/__init__.py", ["pkg/__init__.py"], "pkg"),
        ("./calc.py", ["./calc.py"], "calc"),
        ("backend/app/x.py", ["backend/app/__init__.py", "backend/app/x.py"], "app.x"),
    ],
)
def test_module_import_name(path: str, files: list[str], expected: str) -> None:
    assert module_import_name(path, files) == expected


@pytest.mark.parametrize(
    ("path", "files", "expected"),
    [
        ("calc.py", ["calc.py"], "tests/test_calc.py"),
        ("calc.py", ["calc.py", "tests/test_other.py"], "tests/test_calc.py"),
        ("calc.py", ["calc.py", "test/test_other.py"], "test/test_calc.py"),
        ("calc.py", ["calc.py", "test/a.py", "tests/b.py"], "tests/test_calc.py"),
        ("src/pkg/config.py", ["src/pkg/__init__.py"], "tests/test_config.py"),
        ("pkg/__init__.py", ["pkg/__init__.py"], "tests/test_pkg.py"),
    ],
)
def test_test_path_for(path: str, files: list[str], expected: str) -> None:
    assert templates.test_path_for(path, files) == expected


# --------------------------------------------------------------------------- public names


def test_public_names_reads_functions_classes_and_constants() -> None:
    source = """
import os
from typing import overload

MAX_SIZE = 10
RATIO = -0.5
GREETING = f"hi {os.sep}"
TABLE = {"a": 1}
NOTHING = None
lower_case = 3
_PRIVATE = 1
ANNOTATED_ONLY: int

@overload
def add(a: int) -> int: ...
@overload
def add(a: str) -> str: ...
def add(a, b=1, /, c=2, *rest, key, **extra):
    return a

async def fetch(url):
    return url

def _hidden():
    pass
"""
    names = {n.name: n for n in public_names(source)}
    assert list(names) == ["MAX_SIZE", "RATIO", "GREETING", "TABLE", "NOTHING", "add", "fetch"]
    assert names["MAX_SIZE"] == PublicName("MAX_SIZE", "constant", value_type="int")
    assert names["RATIO"].value_type == "float"
    assert names["GREETING"].value_type == "str"
    assert names["TABLE"].value_type == "dict"
    assert names["NOTHING"].value_type == "None"
    assert names["add"] == PublicName(
        "add", "function", params=("a", "b", "c", "rest", "key", "extra")
    )
    assert names["fetch"] == PublicName("fetch", "function", params=("url",), is_async=True)


def test_public_names_reads_classes_with_their_methods() -> None:
    source = """
import abc
from dataclasses import dataclass, field
from typing import ClassVar, NamedTuple

class Base:
    def __init__(self, name, *, strict=False):
        self.name = name
    def load(self, path): ...
    @property
    def size(self): ...
    @size.setter
    def size(self, value): ...
    @classmethod
    def create(cls, name): ...
    @staticmethod
    def parse(text): ...
    @abc.abstractmethod
    async def run(self): ...
    @some.registry
    def hooked(self): ...
    def _private(self): ...
    class Inner: ...
    replaced = None
    def replaced(self): ...
    replaced = 3

class Child(Base):
    def __init__(self, name, extra):
        super().__init__(name)

@dataclass(frozen=True)
class Point:
    x: int
    y: int = 0
    tags: list = field(default_factory=list)
    cache: dict = field(init=False, default_factory=dict)
    LIMIT: ClassVar[int] = 3

class Pair(NamedTuple):
    left: int
    right: int

class Meta(metaclass=abc.ABCMeta):
    def __init__(self, a): ...

class Imported(os.PathLike):
    def __init__(self, a): ...

class NoInit:
    pass
"""
    names = {n.name: n for n in public_names(source)}
    base = names["Base"]
    assert base.kind == "class"
    assert base.params == ("name", "strict")
    assert {m.name: m for m in base.methods} == {
        "load": PublicName("load", "method", params=("self", "path")),
        "size": PublicName("size", "property"),
        "create": PublicName("create", "classmethod", params=("name",)),
        "parse": PublicName("parse", "staticmethod", params=("text",)),
        "run": PublicName("run", "method", params=("self",), is_async=True),
        "hooked": PublicName("hooked", "attribute"),
        "Inner": PublicName("Inner", "attribute"),
        "replaced": PublicName("replaced", "attribute"),
    }
    assert names["Child"].params == ("name", "extra")  # a same-module base with no metaclass
    assert names["Point"].params == ("x", "y", "tags")
    assert names["Pair"].params == ("left", "right")
    assert names["Meta"].params is None
    assert names["Imported"].params is None  # an unknown base might bring a metaclass
    assert names["NoInit"].params is None


def test_public_names_respects_dunder_all() -> None:
    source = """
from .helpers import helper
__all__ = ["run", "helper"]
__all__ += ["_exported"]
def run(): ...
def _exported(): ...
def not_listed(): ...
"""
    assert public_names(source) == [
        PublicName("run", "function", params=()),
        PublicName("helper", "attribute"),
        PublicName("_exported", "function", params=()),
    ]


def test_public_names_ignores_computed_dunder_all() -> None:
    source = "import other\n__all__ = other.names()\ndef run(): ...\n"
    assert [n.name for n in public_names(source)] == ["run"]


def test_public_names_raises_on_syntax_error() -> None:
    with pytest.raises(SyntaxError):
        public_names("def broken(:\n")


# --------------------------------------------------------------------------- skeleton tests


def test_skeleton_tests_writes_an_assertion_per_name_and_skipped_placeholders() -> None:
    text = skeleton_tests("pkg.calc", public_names(CALC), None)
    assert text is not None
    tree = ast.parse(text)
    tests = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert list(tests) == [
        "test_precision_type",
        "test_add_signature",
        "test_add_behaviour",
        "test_calculator_interface",
        "test_calculator_behaviour",
    ]
    for name, node in tests.items():
        if name.endswith("_behaviour"):
            label = "add()" if "add" in name else "Calculator"
            assert [ast.unparse(d) for d in node.decorator_list] == [
                f"pytest.mark.skip(reason='behaviour of {label} not specified yet')"
            ]
            assert [ast.unparse(s) for s in node.body] == [
                f"pytest.fail('write a test of what {label} does')"
            ]
        else:
            assert not node.decorator_list
            assert all(isinstance(stmt, ast.Assert) for stmt in node.body)
    assert "from pkg import calc\n" in text
    assert 'assert list(inspect.signature(calc.add).parameters) == ["a", "b"]' in text
    assert 'isinstance(inspect.getattr_static(calc.Calculator, "digits"), property)' in text


def test_skeleton_tests_returns_none_when_every_name_is_covered() -> None:
    names = public_names(CALC)
    first = skeleton_tests("calc", names, None)
    assert first is not None
    assert skeleton_tests("calc", names, first) is None


def test_skeleton_tests_counts_hand_written_tests_as_covering() -> None:
    existing = """import calc


def test_sum_of_two() -> None:
    assert calc.add(1, 2) == 3


class TestCalculator:
    def test_it(self) -> None:
        pass
"""
    text = skeleton_tests("calc", public_names(CALC), existing)
    assert text is not None
    new = text[len(existing.rstrip("\n")) :]
    assert "test_precision_type" in new
    assert "calc.add" not in new
    assert "Calculator" not in new


def test_appending_keeps_existing_content_and_adds_imports_after_its_imports() -> None:
    existing = '''"""Hand-written tests."""

import calc
from calc import add  # noqa: F401


def test_add() -> None:
    assert calc.add(1, 2) == 3
'''
    text = skeleton_tests("calc", public_names(CALC), existing)
    assert text is not None
    assert_keeps_lines(existing, text)
    assert text.startswith('"""Hand-written tests."""\n\nimport calc\nfrom calc import add')
    assert "import inspect\nimport pytest\n\n\ndef test_add()" in text
    assert text.count("import calc\n") == 1  # the existing import is reused
    assert "def test_add_signature" not in text  # add is already tested
    assert "def test_calculator_interface" in text


def test_appending_avoids_names_the_existing_file_already_binds() -> None:
    existing = "inspect = None\n\n\ndef test_nothing() -> None:\n    assert inspect is None\n"
    text = skeleton_tests("pkg.calc", [PublicName("add", "function", params=("a",))], existing)
    assert text is not None
    assert "import inspect as inspect_module\n" in text
    assert "from pkg import calc\n" in text
    assert "inspect_module.signature(calc.add)" in text
    ast.parse(text)


def test_skeleton_tests_aliases_a_module_named_like_a_helper() -> None:
    text = skeleton_tests("pkg.inspect", [PublicName("look", "function", params=())], None)
    assert text is not None
    assert "from pkg import inspect as inspect_module\n" in text
    assert "inspect.signature(inspect_module.look)" in text


def test_skeleton_tests_for_constants_only_imports_only_the_module() -> None:
    text = skeleton_tests("settings", [PublicName("DEBUG", "constant", value_type="bool")], None)
    assert text is not None
    assert "import inspect" not in text
    assert "import pytest" not in text
    assert "assert isinstance(settings.DEBUG, bool)" in text


# --------------------------------------------------------------------------- tests generator


def test_tests_generator_writes_the_test_file_and_a_root_conftest() -> None:
    edits = edits_of(
        generate(request("tests", "Please add tests for `calc.py`.", {"calc.py": CALC}))
    )
    assert sorted(edits) == ["conftest.py", "tests/test_calc.py"]
    assert edits["tests/test_calc.py"] == skeleton_tests("calc", public_names(CALC), None)
    ast.parse(edits["conftest.py"])


@pytest.mark.parametrize(
    "extra",
    [
        {"conftest.py": ""},
        {"tests/__init__.py": ""},
        {"pytest.ini": "[pytest]\npythonpath = .\n"},
    ],
)
def test_no_root_conftest_when_root_modules_are_importable_already(extra: dict[str, str]) -> None:
    edits = edits_of(generate(request("tests", "tests for calc.py", {"calc.py": CALC, **extra})))
    assert sorted(edits) == ["tests/test_calc.py"]


@pytest.mark.parametrize(
    ("text", "repo", "module_path", "test_path", "import_line"),
    [
        (
            "Add tests for src/pkg/config.py",
            {"src/pkg/__init__.py": "", "src/pkg/config.py": "def load(path): ...\n"},
            "src/pkg/config.py",
            "tests/test_config.py",
            "from pkg import config\n",
        ),
        (
            "Add tests for pkg/config.py",  # a shortened path is found by its suffix
            {"src/pkg/__init__.py": "", "src/pkg/config.py": "def load(path): ...\n"},
            "src/pkg/config.py",
            "tests/test_config.py",
            "from pkg import config\n",
        ),
        (
            "Tests for `app.core.edits` please",  # a backticked dotted module name
            {
                "app/__init__.py": "",
                "app/core/__init__.py": "",
                "app/core/edits.py": "def apply(edit): ...\n",
                "test/test_other.py": "",
            },
            "app/core/edits.py",
            "test/test_edits.py",
            "from app.core import edits\n",
        ),
        (
            "Cover the `calc` module",
            {"calc.py": CALC, "tests/__init__.py": ""},
            "calc.py",
            "tests/test_calc.py",
            "import calc\n",
        ),
    ],
)
def test_tests_generator_finds_named_modules(
    text: str, repo: dict[str, str], module_path: str, test_path: str, import_line: str
) -> None:
    edits = edits_of(generate(request("tests", text, repo)))
    assert test_path in edits
    assert import_line in edits[test_path]


def test_tests_generator_ignores_hidden_html_comments() -> None:
    text = "Nothing to see <!-- add tests for calc.py -->"
    reason = declined(generate(request("tests", text, {"calc.py": CALC})))
    assert reason.startswith("the task names no Python module to test")


@pytest.mark.parametrize(
    ("text", "repo", "reason"),
    [
        (
            "Add some tests",
            {"calc.py": CALC},
            "the task names no Python module to test; name one by path, e.g. src/pkg/module.py",
        ),
        (
            "Add tests for missing.py and gone.py",
            {"calc.py": CALC},
            "none of the named modules exist in the repository: missing.py, gone.py",
        ),
        (
            "Add tests for ../calc.py",
            {"calc.py": CALC},
            "the task names no Python module to test; name one by path, e.g. src/pkg/module.py",
        ),
        (
            "Add tests for calc.py",
            {"calc.py": "def broken(:\n    pass\n"},
            "calc.py has a syntax error at line 1: invalid syntax; "
            "the template tier only reads valid Python",
        ),
        (
            "Add tests for calc.py",
            {"calc.py": "_CACHE = {}\n\n\ndef _helper():\n    pass\n"},
            "calc.py defines nothing public to test",
        ),
        (
            "Add tests for calc.py",
            {"calc.py": "__all__ = []\n\n\ndef run():\n    pass\n"},
            "calc.py defines nothing public to test",
        ),
        (
            "Fix tests/test_calc.py and setup.py",
            {"calc.py": CALC, "tests/test_calc.py": "", "setup.py": ""},
            "the task names only test, setup or script files (tests/test_calc.py, setup.py); "
            "name the module to test",
        ),
        (
            "Add tests for config.py",
            {"a/config.py": "X = 1\n", "b/config.py": "X = 1\n"},
            "`config.py` matches several files (a/config.py, b/config.py); name the full path",
        ),
        (
            "Add tests for a/config.py and b/config.py",
            {"a/config.py": "X = 1\n", "b/config.py": "X = 1\n"},
            "a/config.py and b/config.py would both get their tests in tests/test_config.py; "
            "name them in separate tasks",
        ),
        (
            "Add tests for my-tool.py",
            {"my-tool.py": "X = 1\n"},
            "my-tool.py cannot be imported: 'my-tool' is not a module name",
        ),
        (
            "Add tests for calc.py",
            {"calc.py": CALC, "tests/test_calc.py": "def test_(:\n"},
            "tests/test_calc.py has a syntax error at line 1: invalid syntax; "
            "fix it before adding tests",
        ),
        (
            "Add tests for calc.py",
            {
                "calc.py": "def add(a, b):\n    return a + b\n",
                "tests/test_calc.py": "import calc\n\n\ndef test_add():\n"
                "    assert calc.add(1, 1) == 2\n",
            },
            "every public name already has a test in tests/test_calc.py; "
            "behaviour tests need a model tier",
        ),
    ],
)
def test_tests_generator_declines(text: str, repo: dict[str, str], reason: str) -> None:
    assert declined(generate(request("tests", text, repo))) == reason


def test_tests_generator_declines_when_a_listed_module_cannot_be_read() -> None:
    result = generate(TemplateRequest("tests", "tests for calc.py", ["calc.py"], lambda _: None))
    assert declined(result) == "calc.py is listed in the repository but could not be read"


def test_output_is_deterministic_whatever_the_file_order() -> None:
    repo = {
        "src/pkg/__init__.py": "",
        "src/pkg/calc.py": CALC,
        "src/pkg/other.py": "def run(): ...\n",
        "tests/test_x.py": "",
    }
    text = "Add tests for src/pkg/calc.py and src/pkg/other.py"
    first = generate(request("tests", text, repo))
    paths = list(repo)
    random.Random(4).shuffle(paths)
    shuffled = generate(TemplateRequest("tests", text, paths, repo.get))
    assert isinstance(first, EditSet)
    assert first == shuffled
    assert first.paths == ("tests/test_calc.py", "tests/test_other.py")


# --------------------------------------------------------------------------- generated tests, run


@pytest.mark.slow
def test_generated_tests_pass_with_placeholders_skipped(tmp_path: Path) -> None:
    repo = {"calc.py": CALC}
    write(tmp_path, repo)
    write(tmp_path, edits_of(generate(request("tests", "Add tests for calc.py", repo))))
    counts, output = run_pytest(tmp_path, "-rs")
    assert counts == {"passed": 3, "skipped": 2}, output
    assert "behaviour of add() not specified yet" in output  # -rs lists the skip reasons


@pytest.mark.slow
def test_root_conftest_makes_the_module_importable_without_the_cwd_on_sys_path(
    tmp_path: Path,
) -> None:
    repo = {"calc.py": CALC}
    write(tmp_path, repo)
    edits = edits_of(generate(request("tests", "Add tests for calc.py", repo)))
    write(tmp_path, {"tests/test_calc.py": edits["tests/test_calc.py"]})
    counts, output = run_pytest(tmp_path, safe_path=True)
    assert counts.get("error") == 1, output  # without conftest.py: ModuleNotFoundError
    write(tmp_path, {"conftest.py": edits["conftest.py"]})
    counts, output = run_pytest(tmp_path, safe_path=True)
    assert counts == {"passed": 3, "skipped": 2}, output


@pytest.mark.slow
@pytest.mark.parametrize(
    ("old", "new", "failing"),
    [
        ("def add(a: int, b: int)", "def add(a: int, b: int, c: int = 0)", "test_add_signature"),
        ("def add(a: int, b: int)", "def add(x: int, y: int)", "test_add_signature"),
        ("def total(self, *values", "def sum(self, *values", "test_calculator_interface"),
        ("    @property\n", "", "test_calculator_interface"),
        ("precision: int = PRECISION", "digits: int = PRECISION", "test_calculator_interface"),
        ("PRECISION = 2", "PRECISION = 2.0", "test_precision_type"),
    ],
)
def test_generated_tests_fail_when_the_interface_changes(
    tmp_path: Path, old: str, new: str, failing: str
) -> None:
    repo = {"calc.py": CALC}
    write(tmp_path, edits_of(generate(request("tests", "Add tests for calc.py", repo))))
    assert old in CALC
    write(tmp_path, {"calc.py": CALC.replace(old, new)})
    counts, output = run_pytest(tmp_path)
    assert counts == {"failed": 1, "passed": 2, "skipped": 2}, output
    assert f"FAILED tests/test_calc.py::{failing}" in output


@pytest.mark.slow
def test_generated_tests_for_a_src_layout_run_with_the_generated_pytest_ini(
    tmp_path: Path,
) -> None:
    repo = {
        "src/shop/__init__.py": "",
        "src/shop/cart.py": '''"""A shopping cart."""

from dataclasses import dataclass, field

CURRENCY = "EUR"


@dataclass
class Cart:
    owner: str
    items: list[str] = field(default_factory=list)

    def add(self, item: str, /, quantity: int = 1) -> None:
        self.items.extend([item] * quantity)

    @classmethod
    def empty(cls, owner: str) -> "Cart":
        return cls(owner)


async def checkout(cart: Cart, *, dry_run: bool = False) -> int:
    return len(cart.items)
''',
    }
    write(tmp_path, repo)
    write(tmp_path, edits_of(generate(request("config", "Add a pytest config", repo))))
    write(tmp_path, edits_of(generate(request("tests", "Test src/shop/cart.py", repo))))
    assert "pythonpath = src" in (tmp_path / "pytest.ini").read_text()
    assert not (tmp_path / "conftest.py").exists()
    counts, output = run_pytest(tmp_path, safe_path=True)
    assert counts == {"passed": 3, "skipped": 2}, output


@pytest.mark.slow
def test_appended_tests_run_next_to_the_existing_ones(tmp_path: Path) -> None:
    existing = '''"""Hand-written tests."""

import calc


def test_add_adds() -> None:
    assert calc.add(2, 3) == 5
'''
    repo = {"calc.py": CALC, "tests/test_calc.py": existing, "conftest.py": ""}
    write(tmp_path, repo)
    edits = edits_of(generate(request("tests", "More tests for calc.py", repo)))
    assert list(edits) == ["tests/test_calc.py"]
    assert_keeps_lines(existing, edits["tests/test_calc.py"])
    write(tmp_path, edits)
    counts, output = run_pytest(tmp_path)
    # add is covered by the hand-written test: PRECISION and Calculator get tests.
    assert counts == {"passed": 3, "skipped": 1}, output


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
