"""Tests for bot.core.suite: where a repository keeps its tests, what they cover, source bytes."""

from __future__ import annotations

import ast
from collections.abc import Mapping

import pytest

from bot.core.suite.config import pytest_config
from bot.core.suite.coverage import covered_names
from bot.core.suite.layout import Suite, is_test_path
from bot.core.suite.modules import resolve_relative
from bot.core.suite.source import SourceEncodingError, declared_encoding, decode_source


def suite(files: Mapping[str, str]) -> Suite:
    return Suite(files, files.get)


# --------------------------------------------------------------------------- source bytes


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"X = 1\n", "X = 1\n"),
        (b"\xef\xbb\xbfX = '\xc3\xa9'\n", "X = '\u00e9'\n"),  # a UTF-8 BOM is dropped
        (b"# -*- coding: latin-1 -*-\nX = '\xe9'\n", "# -*- coding: latin-1 -*-\nX = '\u00e9'\n"),
        (b"#!/usr/bin/env python\n# vim: set fileencoding=cp1252 :\nX = '\x80'\n", None),
        (b"X = 1\r\nY = 2\r\n", "X = 1\r\nY = 2\r\n"),  # line endings are kept
    ],
)
def test_decode_source_reads_what_python_reads(data: bytes, text: str | None) -> None:
    expected = text if text is not None else data.decode("cp1252")
    assert decode_source(data) == expected


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"X = '\xe9'\n", "is not UTF-8 and declares no other encoding"),
        (
            b"# coding: ascii\nX = '\xe9'\n",
            "is not UTF-8 (declared ascii) and does not decode as ascii",
        ),
        (b"# coding: klingon\nX = 1\n", "declares an unknown encoding (klingon)"),
        # A declaration on line 2 counts only after a comment or blank line 1.
        (b"X = 1\n# coding: latin-1\nY = '\xe9'\n", "is not UTF-8 and declares no other encoding"),
    ],
)
def test_decode_source_says_why_bytes_are_not_source(data: bytes, message: str) -> None:
    with pytest.raises(SourceEncodingError) as caught:
        decode_source(data)
    assert str(caught.value) == message


def test_declared_encoding_is_reported_as_written() -> None:
    assert declared_encoding("# -*- coding: Latin-1 -*-\n") == "Latin-1"
    assert declared_encoding("\n# coding=utf8\n") == "utf8"
    assert declared_encoding("import os\n# coding: latin-1\n") is None


# --------------------------------------------------------------------------- pytest config


@pytest.mark.parametrize(
    ("files", "testpaths", "patterns", "doctests"),
    [
        ({}, (), ("test_*.py", "*_test.py"), False),
        ({"pytest.ini": "[pytest]\ntestpaths = tests docs\n"}, ("tests", "docs"), None, False),
        (
            {"pyproject.toml": '[tool.pytest.ini_options]\ntestpaths = ["toolz"]\n'},
            ("toolz",),
            None,
            False,
        ),
        (  # pytest 9's own table
            {"pyproject.toml": '[tool.pytest]\naddopts = ["--doctest-modules"]\n'},
            (),
            None,
            True,
        ),
        (
            {"setup.cfg": "[tool:pytest]\npython_files = check_*.py\n"},
            (),
            ("check_*.py",),
            False,
        ),
        ({"tox.ini": "[testenv]\ncommands = pytest --doctest-modules\n"}, (), None, True),
        (  # pytest.ini wins over everything after it, even when empty
            {"pytest.ini": "", "pyproject.toml": '[tool.pytest.ini_options]\ntestpaths = ["x"]\n'},
            (),
            None,
            False,
        ),
        ({"pyproject.toml": "[tool.pytest.ini_options\nbroken"}, (), None, False),
    ],
)
def test_pytest_config(
    files: dict[str, str],
    testpaths: tuple[str, ...],
    patterns: tuple[str, ...] | None,
    doctests: bool,
) -> None:
    config = pytest_config(files.get)
    assert config.testpaths == testpaths
    assert config.python_files == (patterns or ("test_*.py", "*_test.py"))
    assert config.doctest_modules is doctests


# --------------------------------------------------------------------------- layout

TOOLZ = {
    "pyproject.toml": '[tool.pytest.ini_options]\ntestpaths = ["toolz"]\n',
    "toolz/__init__.py": "",
    "toolz/functoolz.py": "def identity(x): return x\n",
    "toolz/itertoolz.py": "def first(s): return next(iter(s))\n",
    "toolz/tests/__init__.py": "",
    "toolz/tests/test_functoolz.py": "from toolz.functoolz import identity\n",
    "toolz/sandbox/__init__.py": "",
    "toolz/sandbox/core.py": "def unzip(s): return s\n",
    "toolz/sandbox/tests/__init__.py": "",
    "toolz/sandbox/tests/test_core.py": "from toolz.sandbox.core import unzip\n",
}


@pytest.mark.parametrize(
    ("files", "module", "target", "init"),
    [
        (TOOLZ, "toolz/functoolz.py", "toolz/tests/test_functoolz.py", None),
        (TOOLZ, "toolz/itertoolz.py", "toolz/tests/test_itertoolz.py", None),
        (TOOLZ, "toolz/sandbox/core.py", "toolz/sandbox/tests/test_core.py", None),
        ({"calc.py": ""}, "calc.py", "tests/test_calc.py", "tests/__init__.py"),
        ({"calc.py": "", "conftest.py": ""}, "calc.py", "tests/test_calc.py", None),
        ({"src/pkg/__init__.py": "", "src/pkg/a.py": ""}, "src/pkg/a.py", "tests/test_a.py", None),
        ({"six.py": "", "test_six.py": "import six\n"}, "six.py", "test_six.py", None),
        (
            {"pkg/__init__.py": "", "pkg/a.py": "", "test/test_b.py": ""},
            "pkg/a.py",
            "test/test_a.py",
            None,
        ),
        (  # in the package, beside the module (iso8601)
            {"iso/__init__.py": "", "iso/iso.py": "", "iso/test_iso.py": "from . import iso\n"},
            "iso/iso.py",
            "iso/test_iso.py",
            None,
        ),
        (  # the directory's naming style (colorama's *_test.py)
            {
                "c/__init__.py": "",
                "c/ansi.py": "",
                "c/tests/__init__.py": "",
                "c/tests/x_test.py": "",
            },
            "c/ansi.py",
            "c/tests/ansi_test.py",
            None,
        ),
        (  # testpaths: a tests/ directory pytest would not collect is not used
            {
                "pytest.ini": "[pytest]\ntestpaths = checks\n",
                "pkg/__init__.py": "",
                "pkg/a.py": "",
                "tests/test_old.py": "",
                "checks/test_b.py": "",
            },
            "pkg/a.py",
            "checks/test_a.py",
            None,
        ),
        (  # tests/test_config.py tests another module named config
            {
                "a/__init__.py": "",
                "a/config.py": "",
                "b/__init__.py": "",
                "b/config.py": "",
                "tests/__init__.py": "",
                "tests/test_config.py": "from b.config import load\n",
            },
            "a/config.py",
            "tests/test_a_config.py",
            None,
        ),
        (  # an unrelated test module of the same basename in a non-package test directory
            {
                "pkg/__init__.py": "",
                "pkg/util.py": "",
                "tests/x/test_util.py": "",
                "tests/y.py": "",
            },
            "pkg/util.py",
            "tests/test_pkg_util.py",
            None,
        ),
    ],
)
def test_target_follows_the_repository_layout(
    files: dict[str, str], module: str, target: str, init: str | None
) -> None:
    found = suite(files).target(module)
    assert (found.path, found.init) == (target, init)


def test_an_existing_test_file_that_imports_the_module_wins_over_the_closest_directory() -> None:
    files = {
        "pkg/__init__.py": "",
        "pkg/mod.py": "",
        "pkg/tests/__init__.py": "",
        "pkg/tests/test_other.py": "",
        "tests/test_mod.py": "import pkg.mod\n",
    }
    assert suite(files).target("pkg/mod.py").path == "tests/test_mod.py"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("tests/helpers.py", True),
        ("pkg/tests/test_a.py", True),
        ("test.py", True),  # python-slugify's old single test module
        ("app/tests.py", True),  # Django's
        ("x_test.py", True),
        ("conftest.py", True),
        ("pkg/testing.py", False),
        ("pkg/contest.py", False),
    ],
)
def test_is_test_path(path: str, expected: bool) -> None:
    assert is_test_path(path) is expected


@pytest.mark.parametrize(
    ("importer", "level", "module", "package", "expected"),
    [
        ("pkg.tests.test_a", 2, "core", False, "pkg.core"),
        ("pkg.tests.test_a", 1, None, False, "pkg.tests"),
        ("pkg", 1, "sub", True, "pkg.sub"),
        ("test_a", 1, "x", False, None),  # above the top package
    ],
)
def test_resolve_relative(
    importer: str, level: int, module: str | None, package: bool, expected: str | None
) -> None:
    assert resolve_relative(importer, level, module, is_package=package) == expected


# --------------------------------------------------------------------------- coverage

RECIPES = '''\
"""Recipes."""

__all__ = ["take", "tail", "nth", "quantify"]


def take(n, iterable):
    """The first n items.

    >>> take(2, "abc")
    ['a', 'b']
    """


def tail(n, iterable): ...


def nth(iterable, n): ...


def quantify(iterable): ...
'''
NAMES = ["take", "tail", "nth", "quantify"]


def covered(tests: dict[str, str], *, extra: dict[str, str] | None = None) -> set[str]:
    files = {"mi/__init__.py": "", "mi/recipes.py": RECIPES, **(extra or {}), **tests}
    return covered_names(suite(files), "mi/recipes.py", NAMES, source_tree=ast.parse(RECIPES))


@pytest.mark.parametrize(
    ("test", "names"),
    [
        (  # a unittest class not named Test*, through a package alias
            "from unittest import TestCase\nimport mi as m\n\n\nclass TakeTests(TestCase):\n"
            "    def test_simple(self):\n        self.assertEqual(m.take(1, 'a'), ['a'])\n",
            {"take"},
        ),
        (
            "from mi.recipes import tail as last\n\n\ndef test_t():\n    assert last(1, [])\n",
            {"tail"},
        ),
        ("from mi import recipes\n\n\ndef test_n():\n    recipes.nth([], 0)\n", {"nth"}),
        ("from mi.recipes import *\n\n\ndef test_q():\n    quantify([])\n", {"quantify"}),
        (  # the module reached by its own path, as generated tests do
            "import importlib\n\nr = importlib.import_module('mi.recipes')\n\n\n"
            "def test_n():\n    r.nth([], 0)\n",
            {"nth"},
        ),
        (  # a comment, a string, a local name and another package's attribute are not tests
            "import os\n\n\n# take and tail are tested elsewhere\ndef test_x():\n"
            "    nth = 'quantify'\n    assert os.path.take\n",
            set(),
        ),
        (  # one local name bound to two of the module's names in two tests (boltons)
            "def test_a():\n    from mi.recipes import take as f\n    f(1, [])\n\n\n"
            "def test_b():\n    from mi.recipes import nth as f\n    f([], 0)\n",
            {"take", "nth"},
        ),
        (  # named after it: test_<name> in a file about the package
            "import mi\n\n\ndef test_quantify_counts():\n    pass\n",
            {"quantify"},
        ),
        (  # a doctest in the test file
            'import mi\n\n\ndef helper():\n    """\n    >>> mi.tail(1, [1])\n    [1]\n    """\n',
            {"tail"},
        ),
        (  # the module's own doctests, run by a test
            "import doctest\n\nimport mi.recipes\n\n\ndef test_docs():\n"
            "    assert doctest.testmod(mi.recipes).failed == 0\n",
            {"take"},
        ),
    ],
)
def test_covered_names_reads_test_code_by_the_ast(test: str, names: set[str]) -> None:
    assert covered({"tests/test_recipes.py": test}) == names


def test_doctest_modules_in_the_config_covers_the_names_of_the_module_doctests() -> None:
    config = {"pytest.ini": "[pytest]\naddopts = --doctest-modules\n"}
    assert covered({}, extra=config) == {"take"}
    elsewhere = {"pytest.ini": "[pytest]\naddopts = --doctest-modules\ntestpaths = tests\n"}
    assert covered({}, extra=elsewhere) == set()  # pytest does not collect mi/ then


def test_in_package_tests_with_relative_imports_cover() -> None:
    test = "from ..recipes import take, tail\n\n\ndef test_it():\n    take(1, [])\n"
    assert covered({"mi/tests/__init__.py": "", "mi/tests/test_recipes.py": test}) == {
        "take",
        "tail",  # imported from the module: the import itself refers to it
    }


def test_a_test_file_that_does_not_parse_covers_nothing() -> None:
    assert covered({"tests/test_recipes.py": "import mi\nmi.take(\n"}) == set()
