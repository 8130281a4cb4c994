"""The free tier on small reproductions of real projects, in temporary real git repositories.

Each repository copies the shape of a project where the template tier once went wrong
(python-slugify, toolz, more-itertools, a CRLF project, a latin-1 module). The task goes through
`tierbot run` capped at the template tier with pytest as the check, and through the
`tierbot-tests` hook; both must write to the same place, skip the same covered names, and
write tests that pass.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.hooks import tests_hook
from bot.hooks.common import Repo
from tests.support.repos import PYTEST_CHECK, git, make_repo, write
from tests.support.templates import assert_keeps_lines

CONFIG = f"""\
task_types:
  tests: {{start: template, ceiling: template}}
check:
  command: "{PYTEST_CHECK}"
"""

SLUGIFY = {
    "slugify/__init__.py": "from .slugify import slugify, smart_truncate\n",
    "slugify/slugify.py": '''\
def slugify(text: str, separator: str = "-") -> str:
    """A slug.

    >>> slugify("Hello World")
    'hello-world'
    """
    return separator.join(text.lower().split())


def smart_truncate(text: str, max_length: int = 0) -> str:
    return text[:max_length] if max_length else text
''',
    "tests/__init__.py": "",
    "tests/test_truncate.py": "from slugify import smart_truncate\n\n\n"
    "def test_truncate():\n    assert smart_truncate('abc', 2) == 'ab'\n",
}
TOOLZ = {
    "pyproject.toml": '[tool.pytest.ini_options]\ntestpaths = ["toolz"]\n',
    "toolz/__init__.py": "from .functoolz import compose, identity\n",
    "toolz/functoolz.py": "def identity(x):\n    return x\n\n\n"
    "def compose(f, g):\n    return lambda x: f(g(x))\n",
    "toolz/tests/__init__.py": "",
    "toolz/tests/test_functoolz.py": "from toolz.functoolz import compose, identity\n\n\n"
    "def test_identity():\n    assert identity(1) == 1\n\n\n"
    "def test_compose():\n    assert compose(str, len)('ab') == '2'\n",
}
MORE = {
    "more_itertools/__init__.py": "from .recipes import *  # noqa: F403\n",
    "more_itertools/recipes.py": '''\
__all__ = ["take", "tail"]


def take(n, iterable):
    return list(iterable)[:n]


def tail(n, iterable):
    """The last n items.

    >>> tail(2, [1, 2, 3])
    [2, 3]
    """
    return list(iterable)[-n:]
''',
    "tests/__init__.py": "",
    "tests/test_recipes.py": "from unittest import TestCase\n\nimport more_itertools as mi\n\n\n"
    "class TakeTests(TestCase):\n    def test_simple_take(self):\n"
    "        self.assertEqual(mi.take(2, range(5)), [0, 1])\n\n\n"
    "# tail: see the docs\n",
}


def run_task(repo: Path, capsys: pytest.CaptureFixture[str], module: str) -> dict:
    code = main(
        ["run", "--repo", str(repo), "--json", "--type", "tests", f"Add tests for {module}"]
    )
    out, err = capsys.readouterr()
    assert out, err
    result = json.loads(out)
    assert code == {"done": 0, "nothing-to-do": 4}.get(result["status"], 1), result
    return result


def project(tmp_path: Path, files: dict[str, str]) -> Path:
    return make_repo(tmp_path / "project", {**files, ".github/tierbot.yml": CONFIG})


def written(repo: Path, branch: str) -> list[str]:
    return git(repo, "diff", "--name-only", "main", branch).split()


def show(repo: Path, branch: str, path: str) -> str:
    return git(repo, "show", f"{branch}:{path}")


def hook(repo: Path, module: str) -> tuple[int, list[str]]:
    lines: list[str] = []
    return tests_hook.run([module], repo=Repo(repo), out=lines.append), lines


def pytest_in(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.slow
def test_slugify_the_module_is_imported_by_its_own_path(tmp_path, capsys):
    repo = project(tmp_path, SLUGIFY)
    result = run_task(repo, capsys, "slugify/slugify.py")
    assert result["status"] == "done", result  # the check ran the new tests with the old ones
    assert written(repo, result["branch"]) == ["tests/test_slugify.py"]
    text = show(repo, result["branch"], "tests/test_slugify.py")
    assert 'slugify = importlib.import_module("slugify.slugify")' in text
    assert 'assert slugify.slugify("Hello World") == "hello-world"' in text  # its doctest
    assert "smart_truncate" not in text  # tests/test_truncate.py covers it
    # The hook, on the same repository, writes the same file.
    code, lines = hook(repo, "slugify/slugify.py")
    assert code == 1 and lines[0].startswith("tierbot-tests: wrote tests/test_slugify.py:")
    assert (repo / "tests" / "test_slugify.py").read_text() == text
    done = pytest_in(repo)
    assert done.returncode == 0 and "3 passed" in done.stdout, done.stdout


@pytest.mark.slow
def test_toolz_in_package_tests_are_extended_never_duplicated(tmp_path, capsys):
    repo = project(tmp_path, TOOLZ)
    result = run_task(repo, capsys, "toolz/functoolz.py")
    assert result["status"] == "nothing-to-do"
    assert result["attempts"][-1]["detail"] == (
        "every public name already has a test in toolz/tests/test_functoolz.py; "
        "nothing is left to add"
    )
    assert hook(repo, "toolz/functoolz.py") == (0, [])
    # A new function gets its tests in the package's own test module.
    write(
        repo,
        {
            "toolz/functoolz.py": TOOLZ["toolz/functoolz.py"] + "\n\ndef juxt(*fs):\n"
            "    return lambda x: tuple(f(x) for f in fs)\n"
        },
    )
    git(repo, "commit", "-qam", "juxt")
    result = run_task(repo, capsys, "toolz/functoolz.py")
    assert result["status"] == "done", result
    assert written(repo, result["branch"]) == ["toolz/tests/test_functoolz.py"]
    text = show(repo, result["branch"], "toolz/tests/test_functoolz.py")
    assert "def test_juxt_signature" in text
    assert "test_identity_signature" not in text and "test_compose_signature" not in text
    assert not (repo / "tests").exists() and not (repo / "conftest.py").exists()


@pytest.mark.slow
def test_more_itertools_unittest_classes_cover_and_comments_do_not(tmp_path, capsys):
    repo = project(tmp_path, MORE)
    result = run_task(repo, capsys, "more_itertools/recipes.py")
    assert result["status"] == "done", result
    text = show(repo, result["branch"], "tests/test_recipes.py")
    assert_keeps_lines(MORE["tests/test_recipes.py"], text)
    new = text[text.index("# tail: see the docs") :]
    assert "def test_tail_signature" in new
    assert "assert recipes.tail(2, [1, 2, 3]) == [2, 3]" in new
    assert "take" not in new  # TakeTests covers it; only the comment names tail
    code, lines = hook(repo, "more_itertools/recipes.py")
    assert code == 1
    assert lines[0].endswith("skeleton tests for tail (more_itertools/recipes.py)")
    assert (repo / "tests" / "test_recipes.py").read_text() == text


@pytest.mark.slow
def test_a_crlf_test_file_stays_crlf_through_run_and_hook(tmp_path, capsys):
    files = {
        "calc.py": "def add(a, b):\r\n    return a + b\r\n\r\n\r\n"
        "def mul(a, b):\r\n    return a * b\r\n",
        "tests/__init__.py": "",
        "tests/test_calc.py": "import calc\r\n\r\n\r\ndef test_add():\r\n"
        "    assert calc.add(1, 2) == 3\r\n",
    }
    repo = make_repo(tmp_path / "crlf", {".github/tierbot.yml": CONFIG})
    for path, text in files.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_bytes(text.encode())
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "crlf")
    result = run_task(repo, capsys, "calc.py")
    assert result["status"] == "done", result
    data = subprocess.run(
        ["git", "show", f"{result['branch']}:tests/test_calc.py"],
        cwd=repo,
        capture_output=True,
        check=True,
    ).stdout
    assert b"def test_mul_signature() -> None:\r\n" in data
    assert b"\n" not in data.replace(b"\r\n", b"")  # no mixed line endings
    assert hook(repo, "calc.py")[0] == 1
    assert (repo / "tests" / "test_calc.py").read_bytes() == data


LATIN = (
    "# -*- coding: latin-1 -*-\n\n\ndef greet():\n"
    '    """Hello.\n\n    >>> greet()\n    \'caf\xe9\'\n    """\n'
    "    return 'caf\xe9'\n"
)


@pytest.mark.slow
def test_a_latin_1_module_is_read_by_its_declaration_and_a_latin_1_test_file_is_named(
    tmp_path, capsys
):
    repo = make_repo(tmp_path / "latin", {"pkg/__init__.py": "", ".github/tierbot.yml": CONFIG})
    (repo / "pkg" / "latin.py").write_bytes(LATIN.encode("latin-1"))
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "latin-1")
    result = run_task(repo, capsys, "pkg/latin.py")
    assert result["status"] == "done", result
    assert 'assert latin.greet() == "caf\xe9"' in show(
        repo, result["branch"], "tests/test_latin.py"
    )

    old = "# -*- coding: latin-1 -*-\n# \xe9\nimport pkg.latin\n"
    (repo / "tests").mkdir()
    (repo / "tests" / "test_latin.py").write_bytes(old.encode("latin-1"))
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "a latin-1 test file")
    result = run_task(repo, capsys, "pkg/latin.py")
    assert result["status"] == "needs-human"
    assert result["attempts"][-1]["detail"] == (
        "`tests/test_latin.py` is not UTF-8 (declared latin-1); the template tier writes "
        "UTF-8 only and leaves it as it is"
    )
    code, lines = hook(repo, "pkg/latin.py")
    assert code == 1
    assert (
        lines[0] == "tests/test_latin.py:1: `tests/test_latin.py` is not UTF-8 (declared latin-1)"
    )
    assert (repo / "tests" / "test_latin.py").read_bytes() == old.encode("latin-1")


@pytest.mark.slow
def test_a_module_python_cannot_read_is_declined_with_the_reason(tmp_path, capsys):
    repo = make_repo(tmp_path / "bytes", {".github/tierbot.yml": CONFIG})
    (repo / "odd.py").write_bytes(b"def f():\n    return '\xe9'\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "not utf-8")
    result = run_task(repo, capsys, "odd.py")
    assert result["attempts"][-1]["detail"] == (
        "`odd.py` could not be read as text: it is not UTF-8 and declares no encoding "
        "that decodes it"
    )
