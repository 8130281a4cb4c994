"""Tests for the template tier's ``tests`` generator: names read, tests written, tests run."""

from __future__ import annotations

import ast
import random
from pathlib import Path

import pytest

from bot.core import templates
from bot.core.templates import (
    PublicName,
    TemplateRequest,
    generate,
    module_import_name,
    public_names,
    skeleton_tests,
)
from bot.core.types import EditSet
from tests.support.templates import (
    CALC,
    assert_keeps_lines,
    declined,
    edits_of,
    nothing_to_do,
    request,
    run_pytest,
    write,
)

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
        "test_precision_value",
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
    assert 'calc = importlib.import_module("pkg.calc")\n' in text
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
    assert "test_precision_value" in new
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
    assert 'calc = importlib.import_module("pkg.calc")\n' in text
    assert "inspect_module.signature(calc.add)" in text
    ast.parse(text)


def test_skeleton_tests_aliases_a_module_named_like_a_helper() -> None:
    text = skeleton_tests("pkg.inspect", [PublicName("look", "function", params=())], None)
    assert text is not None
    assert 'inspect_module = importlib.import_module("pkg.inspect")\n' in text
    assert "inspect.signature(inspect_module.look)" in text


def test_skeleton_tests_for_constants_only_imports_only_the_module() -> None:
    text = skeleton_tests("settings", [PublicName("DEBUG", "constant", value_type="bool")], None)
    assert text is not None
    assert "import inspect" not in text
    assert "import pytest" not in text
    assert "assert isinstance(settings.DEBUG, bool)" in text


# --------------------------------------------------------------------------- tests generator


def test_a_new_tests_directory_is_a_package_never_a_root_conftest() -> None:
    edits = edits_of(
        generate(request("tests", "Please add tests for `calc.py`.", {"calc.py": CALC}))
    )
    # pytest puts the directory above a test package on sys.path: the root, for root modules.
    assert sorted(edits) == ["tests/__init__.py", "tests/test_calc.py"]
    assert edits["tests/test_calc.py"] == skeleton_tests(
        "calc", public_names(CALC), None, source=CALC
    )
    assert edits["tests/__init__.py"] == ""


@pytest.mark.parametrize(
    "extra",
    [
        {"conftest.py": ""},
        {"tests/__init__.py": ""},
        {"pytest.ini": "[pytest]\npythonpath = .\n"},
    ],
)
def test_no_package_init_when_root_modules_are_importable_already(extra: dict[str, str]) -> None:
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
            'config = importlib.import_module("pkg.config")\n',
        ),
        (
            "Add tests for pkg/config.py",  # a shortened path is found by its suffix
            {"src/pkg/__init__.py": "", "src/pkg/config.py": "def load(path): ...\n"},
            "src/pkg/config.py",
            "tests/test_config.py",
            'config = importlib.import_module("pkg.config")\n',
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
            'edits = importlib.import_module("app.core.edits")\n',
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
    ],
)
def test_tests_generator_declines(text: str, repo: dict[str, str], reason: str) -> None:
    assert declined(generate(request("tests", text, repo))) == reason


def test_tests_generator_declines_when_a_listed_module_cannot_be_read() -> None:
    result = generate(TemplateRequest("tests", "tests for calc.py", ["calc.py"], lambda _: None))
    assert declined(result) == (
        "`calc.py` could not be read as text: it is not UTF-8 and declares no encoding "
        "that decodes it"
    )


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
def test_the_new_test_package_makes_the_module_importable_without_the_cwd_on_sys_path(
    tmp_path: Path,
) -> None:
    repo = {"calc.py": CALC}
    write(tmp_path, repo)
    edits = edits_of(generate(request("tests", "Add tests for calc.py", repo)))
    write(tmp_path, {"tests/test_calc.py": edits["tests/test_calc.py"]})
    counts, output = run_pytest(tmp_path, safe_path=True)
    assert counts.get("error") == 1, output  # without tests/__init__.py: ModuleNotFoundError
    write(tmp_path, {"tests/__init__.py": edits["tests/__init__.py"]})
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
        ("PRECISION = 2", "PRECISION = 2.0", "test_precision_value"),
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


# --------------------------------------------------------------------------- what the tests assert

SHAPES = '''\
"""Shapes."""

import enum
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

SIDES = 4
KINDS = Literal["square", "circle"]
NAME = "square"
RATIO = (1, 2.5)
DEBUG = False
COMPUTED = SIDES * 2
GROWS = []
GROWS.append(1)
SCRATCH = 1
del SCRATCH


class Shape:
    pass


class Square(Shape):
    def area(self, side: float) -> float:
        return side * side


class Colour(enum.Enum):
    RED = 1
    GREEN = "g"
    CRIMSON = 1


class Mode(enum.Enum):
    FAST = enum.auto()
    SLOW = enum.auto()


@dataclass
class Box:
    w: int
    h: int = 0
    tags: list = field(default_factory=list)
    cache: dict = field(init=False, default_factory=dict)


class Point(NamedTuple):
    x: int
    y: int


class ShapeError(ValueError):
    pass
'''


def test_the_interface_tests_assert_what_the_source_says(tmp_path: Path) -> None:
    text = skeleton_tests("geo.shapes", public_names(SHAPES), None, source=SHAPES)
    assert text is not None
    for line in [
        "assert shapes.SIDES == 4",
        'assert shapes.NAME == "square"',
        "assert shapes.RATIO == (1, 2.5)",
        "assert shapes.DEBUG is False",
        "def test_computed_type",
        'assert typing.get_args(shapes.KINDS) == ("square", "circle")',
        "assert issubclass(shapes.Square, shapes.Shape)",
        "assert issubclass(shapes.ShapeError, ValueError)",
        'assert list(shapes.Colour.__members__) == ["RED", "GREEN", "CRIMSON"]',
        'assert [m.value for m in shapes.Colour.__members__.values()] == [1, "g", 1]',
        'assert list(shapes.Mode.__members__) == ["FAST", "SLOW"]',
        "assert [f.name for f in dataclasses.fields(shapes.Box)] == [",
        '        "cache",',
        'assert list(shapes.Point._fields) == ["x", "y"]',
    ]:
        assert line in text, line
    assert "hasattr" not in text
    assert "shapes.GROWS ==" not in text  # changed after the assignment: only its type
    assert "SCRATCH" not in text  # deleted at import time
    assert "Mode.__members__.values()" not in text  # auto(): values not in the source
    write(tmp_path, {"geo/__init__.py": "", "geo/shapes.py": SHAPES, "tests/test_shapes.py": text})
    counts, output = run_pytest(tmp_path)
    assert counts.get("failed", 0) == 0 and counts["passed"] >= 10, output


@pytest.mark.slow
@pytest.mark.parametrize(
    ("old", "new", "failing"),
    [
        ('NAME = "square"', 'NAME = "circle"', "test_name_value"),
        ("class Square(Shape):", "class Square:", "test_square_interface"),
        ("    CRIMSON = 1\n", "    CRIMSON = 3\n", "test_colour_interface"),
        ("    h: int = 0\n", "", "test_box_interface"),
    ],
)
def test_the_interface_tests_fail_when_the_interface_changes(
    tmp_path: Path, old: str, new: str, failing: str
) -> None:
    text = skeleton_tests("geo.shapes", public_names(SHAPES), None, source=SHAPES)
    assert text is not None and old in SHAPES
    write(tmp_path, {"geo/__init__.py": "", "tests/test_shapes.py": text})
    write(tmp_path, {"geo/shapes.py": SHAPES.replace(old, new)})
    counts, output = run_pytest(tmp_path)
    assert counts.get("failed") == 1, output
    assert f"FAILED tests/test_shapes.py::{failing}" in output


def test_a_package_that_rebinds_the_module_name_does_not_shadow_it(tmp_path: Path) -> None:
    # python-slugify: `from slugify import slugify` is the function the package re-exports.
    repo = {
        "slugify/__init__.py": "from .slugify import slugify\n",
        "slugify/slugify.py": 'def slugify(text: str) -> str:\n    return "-".join(text.split())\n',
    }
    edits = edits_of(generate(request("tests", "Add tests for slugify/slugify.py", repo)))
    text = edits["tests/test_slugify.py"]
    assert 'slugify = importlib.import_module("slugify.slugify")' in text
    write(tmp_path, {**repo, **edits})
    counts, output = run_pytest(tmp_path, safe_path=True)
    assert counts == {"passed": 1, "skipped": 1}, output


def test_a_re_export_is_checked_for_identity(tmp_path: Path) -> None:
    repo = {
        "pkg/__init__.py": "from .core import run\nfrom os import sep\n\n"
        "__all__ = ['run', 'sep', 'gone']\n",
        "pkg/core.py": "def run():\n    return 1\n",
    }
    edits = edits_of(generate(request("tests", "Add tests for pkg/__init__.py", repo)))
    text = edits["tests/test_pkg.py"]
    assert 'assert pkg.run is importlib.import_module("pkg.core").run' in text
    assert 'assert pkg.sep is importlib.import_module("os").sep' in text
    assert 'reason="what gone is cannot be read from the source"' in text
    write(tmp_path, {**repo, "pkg/__init__.py": repo["pkg/__init__.py"].replace(", 'gone'", "")})
    write(tmp_path, edits)
    counts, output = run_pytest(tmp_path)
    assert counts == {"passed": 2, "skipped": 1}, output


# --------------------------------------------------------------------------- docstring examples

TEXTS = '''\
"""Text helpers."""

import re

WORD = re.compile(r"\\w+")


class TextError(ValueError):
    pass


def words(text):
    """The words of ``text``.

    >>> words("a b")
    ['a', 'b']
    >>> words("") == []
    True
    >>> len(words("x y z"))
    3
    """
    return WORD.findall(text)


def shout(text):
    """Upper case.

    >>> loud = shout("hi")
    >>> loud
    'HI'
    >>> print(loud)
    HI
    >>> shout(3)
    Traceback (most recent call last):
        ...
    TextError: not a string
    """
    if not isinstance(text, str):
        raise TextError("not a string")
    return text.upper()


def pair(a, b):
    """A pair.

    >>> pair(1, 2)
    Pair(a=1, b=2)
    >>> pair(1, 2)   # doctest: +ELLIPSIS
    Pair(...)
    >>> pair(3, 4)
    Pair(a=3, b=4)
    """
    return Pair(a, b)


class Pair:
    """Two things.

    >>> Pair(1, 2).a
    1
    >>> mystery(1)
    2
    """

    def __init__(self, a, b):
        self.a, self.b = a, b

    def __repr__(self):
        return f"Pair(a={self.a}, b={self.b})"


def now_ish():
    """Depends on the clock.

    >>> import time
    >>> now_ish() < time.time() + 1
    True
    """
    import time

    return time.time()
'''


def test_docstring_examples_become_assertions(tmp_path: Path) -> None:
    text = skeleton_tests("texts", public_names(TEXTS), None, source=TEXTS)
    assert text is not None
    tree = ast.parse(text)
    bodies = {
        n.name: [ast.unparse(s) for s in n.body]
        for n in tree.body
        if isinstance(n, ast.FunctionDef)
    }
    assert bodies["test_words_examples"] == [
        "assert texts.words('a b') == ['a', 'b']",
        "assert (texts.words('') == []) is True",
        "assert len(texts.words('x y z')) == 3",
    ]
    assert bodies["test_shout_examples"] == [
        "loud = texts.shout('hi')",
        "assert loud == 'HI'",
        "assert str(loud) == 'HI'",
        "with pytest.raises(texts.TextError):\n    texts.shout(3)",
    ]
    # A repr compared as doctest does; at the ELLIPSIS example the rest of the docstring stops.
    assert bodies["test_pair_examples"] == ["assert repr(texts.pair(1, 2)) == 'Pair(a=1, b=2)'"]
    # `mystery` is no name of the module: the example before it stays, nothing after.
    assert bodies["test_pair_class_examples"] == ["assert texts.Pair(1, 2).a == 1"]
    assert "test_now_ish_examples" not in bodies  # the clock: a placeholder instead
    assert "test_now_ish_behaviour" in bodies
    write(tmp_path, {"texts.py": TEXTS, "tests/__init__.py": "", "tests/test_texts.py": text})
    counts, output = run_pytest(tmp_path)
    assert counts.get("failed", 0) == 0 and counts["passed"] >= 8, output


def test_examples_that_the_suite_runs_as_doctests_are_not_repeated() -> None:
    repo = {"texts.py": TEXTS, "pytest.ini": "[pytest]\naddopts = --doctest-modules\n"}
    edits = edits_of(generate(request("tests", "Add tests for texts.py", repo)))
    text = edits["tests/test_texts.py"]
    for covered in ("words", "shout", "pair", "pair_class", "now_ish"):
        assert f"def test_{covered}_" not in text
    assert "def test_text_error_interface" in text  # no example: no doctest covers it


# ------------------------------------------------------------------- line endings, encodings


def test_a_crlf_test_file_is_extended_with_crlf_only() -> None:
    existing = "import calc\r\n\r\n\r\ndef test_add():\r\n    assert calc.add(1, 2) == 3\r\n"
    repo = {"calc.py": CALC, "tests/__init__.py": "", "tests/test_calc.py": existing}
    edits = edits_of(generate(request("tests", "Add tests for calc.py", repo)))
    text = edits["tests/test_calc.py"]
    assert_keeps_lines(existing.replace("\r\n", "\n"), text.replace("\r\n", "\n"))
    assert "\n" not in text.replace("\r\n", "")  # no bare LF anywhere
    assert "def test_calculator_interface() -> None:\r\n" in text


def test_a_latin_1_test_file_is_left_alone_with_the_reason() -> None:
    existing = "# -*- coding: latin-1 -*-\nimport calc\n\n\ndef test_add():\n    assert calc.add\n"
    repo = {"calc.py": CALC, "tests/test_calc.py": existing}
    assert declined(generate(request("tests", "Add tests for calc.py", repo))) == (
        "`tests/test_calc.py` is not UTF-8 (declared latin-1); the template tier writes UTF-8 "
        "only and leaves it as it is"
    )


def test_a_latin_1_module_is_read_by_its_declaration(tmp_path: Path) -> None:
    source = (
        '# -*- coding: latin-1 -*-\n\n\ndef greet():\n    """Hello.\n\n    >>> greet()\n'
        "    'caf\xe9'\n    \"\"\"\n    return 'caf\xe9'\n"
    )
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "latin.py").write_bytes(source.encode("latin-1"))
    from bot.adapters.git import read_source
    from bot.adapters.pathguard import PathGuard

    request_ = TemplateRequest(
        "tests",
        "Add tests for pkg/latin.py",
        ["pkg/__init__.py", "pkg/latin.py"],
        lambda path: read_source(PathGuard(tmp_path), path),
    )
    edits = edits_of(generate(request_))
    assert 'assert latin.greet() == "caf\xe9"' in edits["tests/test_latin.py"]
    write(tmp_path, edits)
    counts, output = run_pytest(tmp_path)
    assert counts == {"passed": 2}, output


def test_what_changes_after_its_definition_is_pinned_by_name_only() -> None:
    source = (
        "def run(a, b):\n    return a\n\n\nrun.__signature__ = None\n\n\n"
        "class Store:\n    def get(self, key):\n        return key\n\n\n"
        "Store.get = lambda self: 1\n"
    )
    names = {n.name: n for n in public_names(source)}
    assert names["run"].params is None
    assert [m.kind for m in names["Store"].methods] == ["attribute"]
    text = skeleton_tests("mod", list(names.values()), None, source=source)
    assert text is not None and "signature(mod.run)" not in text
    assert 'assert "get" in vars(mod.Store)' in text


def test_examples_of_functions_that_print_are_not_turned_into_assertions() -> None:
    source = '''\
def show(x):
    """Show it.

    >>> show(1)
    value: 1
    """
    _emit(f"value: {x}")


def _emit(text):
    print(text)
'''
    text = skeleton_tests("out", public_names(source), None, source=source)
    assert text is not None
    assert "test_show_examples" not in text and "def test_show_behaviour" in text


@pytest.mark.parametrize(
    ("text", "repo", "reason"),
    [
        (
            "Add tests for missing.py and gone.py",
            {"calc.py": CALC},
            "none of the named modules exist in the repository (tasks see committed files "
            "only): missing.py, gone.py",
        ),
        (
            "Add tests for calc.py",
            {
                "calc.py": "def add(a, b):\n    return a + b\n",
                "tests/test_calc.py": "import calc\n\n\ndef test_add():\n"
                "    assert calc.add(1, 1) == 2\n",
            },
            "every public name already has a test in tests/test_calc.py; nothing is left to add",
        ),
    ],
)
def test_invalid_or_finished_tests_tasks_are_nothing_to_do(
    text: str, repo: dict[str, str], reason: str
) -> None:
    # Not a decline: no model tier could do better, so the task must not climb.
    assert nothing_to_do(generate(request("tests", text, repo))) == reason
