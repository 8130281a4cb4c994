"""The ``tests`` generator: skeleton tests for the modules a task names."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.core.templates.layout import (
    Repo,
    import_root,
    is_dotted_identifier,
    module_name,
    path_for_tests,
)
from bot.core.templates.names import parse, public_names
from bot.core.templates.request import Declined
from bot.core.templates.skeletons import skeleton_tests
from bot.core.templates.text import BACKTICK_MODULE, NAMED_MODULE, PY_PATH
from bot.core.types import EditSet, FileEdit


def _syntax_problem(exc: SyntaxError) -> str:
    where = f" at line {exc.lineno}" if exc.lineno else ""
    return f"a syntax error{where}: {exc.msg}"


_NOT_TESTABLE = frozenset({"conftest.py", "setup.py", "noxfile.py", "__main__.py"})


def _is_test_or_script(path: str) -> bool:
    parts = path.split("/")
    base = parts[-1]
    return (
        base in _NOT_TESTABLE
        or base.startswith("test_")
        or base.endswith("_test.py")
        or any(p in {"tests", "test"} for p in parts[:-1])
    )


@dataclass
class _Named:
    found: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    ambiguous: list[tuple[str, list[str]]] = field(default_factory=list)


def _named_modules(text: str, repo: Repo) -> _Named:
    python_files = [f for f in repo.files if f.endswith(".py")]
    mentions: list[tuple[int, str, str]] = []  # (position, kind, mention)
    for match in PY_PATH.finditer(text):
        if ".." not in match.group(1).split("/"):
            mentions.append((match.start(1), "path", match.group(1)))
    for match in BACKTICK_MODULE.finditer(text):
        mentions.append((match.start(1), "dotted", match.group(1)))
    for match in NAMED_MODULE.finditer(text):
        index = 1 if match.group(1) else 2
        mentions.append((match.start(index), "dotted", match.group(index)))
    dotted: dict[str, str] | None = None
    named = _Named()
    for _, kind, mention in sorted(mentions):
        if kind == "path":
            if mention in repo.fileset:
                matches = [mention]
            else:
                matches = [f for f in python_files if f.endswith("/" + mention)]
        else:
            if dotted is None:
                dotted = {}
                for f in python_files:
                    dotted.setdefault(module_name(f, repo.fileset), f)
            matches = [dotted[mention]] if mention in dotted else []
        if not matches:
            if kind == "path" and mention not in named.missing:
                named.missing.append(mention)
        elif len(matches) > 1:
            named.ambiguous.append((mention, matches))
        elif _is_test_or_script(matches[0]):
            if matches[0] not in named.excluded:
                named.excluded.append(matches[0])
        elif matches[0] not in named.found:
            named.found.append(matches[0])
    return named


def _pytest_sets_pythonpath(repo: Repo) -> bool:
    for path in (
        "pytest.ini",
        ".pytest.ini",
        "pytest.toml",
        "pyproject.toml",
        "setup.cfg",
        "tox.ini",
    ):
        text = repo.read(path)
        if text and re.search(r"^\s*pythonpath\s*=", text, re.M):
            return True
    return False


_ROOT_CONFTEST = '''\
"""Make modules at the repository root importable from the tests.

pytest's default ``prepend`` import mode puts the directory of a ``conftest.py`` that
is not inside a package on ``sys.path``, so a plain ``pytest`` finds the root modules
just as ``python -m pytest`` does.
"""
'''


def generate_tests(repo: Repo, text: str) -> EditSet | Declined:
    """Skeleton tests for the public names of each module the task names."""
    named = _named_modules(text, repo)
    if named.ambiguous:
        mention, matches = named.ambiguous[0]
        return Declined(
            f"`{mention}` matches several files ({', '.join(matches)}); name the full path"
        )
    if not named.found:
        if named.excluded:
            return Declined(
                "the task names only test, setup or script files "
                f"({', '.join(named.excluded)}); name the module to test"
            )
        if named.missing:
            return Declined(
                f"none of the named modules exist in the repository: {', '.join(named.missing)}"
            )
        return Declined(
            "the task names no Python module to test; name one by path, e.g. src/pkg/module.py"
        )
    edits: dict[str, str] = {}
    owners: dict[str, str] = {}
    roots: set[str] = set()
    for path in named.found:
        source = repo.read(path)
        if source is None:
            return Declined(f"{path} is listed in the repository but could not be read")
        try:
            names = public_names(source)
        except SyntaxError as exc:
            return Declined(
                f"{path} has {_syntax_problem(exc)}; the template tier only reads valid Python"
            )
        if not names:
            return Declined(f"{path} defines nothing public to test")
        import_name = module_name(path, repo.fileset)
        if not is_dotted_identifier(import_name):
            return Declined(f"{path} cannot be imported: {import_name!r} is not a module name")
        test_path = path_for_tests(path, repo.fileset)
        if test_path in owners:
            return Declined(
                f"{owners[test_path]} and {path} would both get their tests in {test_path}; "
                "name them in separate tasks"
            )
        owners[test_path] = path
        existing = repo.read(test_path)
        if existing is not None:
            try:
                parse(existing)
            except SyntaxError as exc:
                return Declined(
                    f"{test_path} has {_syntax_problem(exc)}; fix it before adding tests"
                )
        content = skeleton_tests(import_name, names, existing)
        if content is not None:
            edits[test_path] = content
            roots.add(import_root(path, repo.fileset))
    if not edits:
        return Declined(
            "every public name already has a test in "
            + ", ".join(sorted(owners))
            + "; behaviour tests need a model tier"
        )
    test_dirs = {p.rsplit("/", 1)[0] for p in edits}
    if (
        "" in roots
        and not repo.exists("conftest.py")
        and not any(repo.exists(f"{d}/__init__.py") for d in test_dirs)
        and not _pytest_sets_pythonpath(repo)
    ):
        edits["conftest.py"] = _ROOT_CONFTEST
    return EditSet(tuple(FileEdit(path, edits[path]) for path in sorted(edits)))
