"""Where a repository keeps its tests, and the test file that should hold a module's tests."""

from __future__ import annotations

import fnmatch
import re

from bot.core.suite.config import PytestConfig, pytest_config
from bot.core.suite.modules import import_root, module_name, norm

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: the hooks import this module on every commit
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

TEST_DIRS = ("tests", "test")
# Conventional names of a single test module: python-slugify's old `test.py`, Django's `tests.py`.
TEST_MODULES = frozenset({"test.py", "tests.py", "conftest.py"})
NOT_TESTABLE = frozenset({"conftest.py", "setup.py", "noxfile.py", "__main__.py"})


def is_test_path(path: str, patterns: Iterable[str] = ("test_*.py", "*_test.py")) -> bool:
    """Test code by pytest's conventions: a test module, a conftest, anything under tests/."""
    parts = norm(path).split("/")
    base = parts[-1]
    return (
        base in TEST_MODULES
        or any(fnmatch.fnmatchcase(base, p) for p in patterns)
        or any(p in TEST_DIRS for p in parts[:-1])
    )


def _parent(path: str) -> str:
    return path.rsplit("/", 1)[0] if "/" in path else ""


def _join(directory: str, name: str) -> str:
    return f"{directory}/{name}" if directory else name


def _inside(directory: str, root: str) -> bool:
    return not root or directory == root or directory.startswith(root + "/")


class Target:
    """The test file for a module: ``path``; ``init`` is an ``__init__.py`` to create with it."""

    __slots__ = ("init", "path")

    def __init__(self, path: str, init: str | None = None) -> None:
        self.path = path
        self.init = init


class Suite:
    """The repository's tests: which files are test code, and where new tests go."""

    def __init__(self, files: Iterable[str], read: Callable[[str], str | None]) -> None:
        self.files = sorted({norm(f) for f in files})
        self.fileset = frozenset(self.files)
        self.read = read
        self._config: PytestConfig | None = None
        self._tests: list[str] | None = None

    @property
    def config(self) -> PytestConfig:
        if self._config is None:
            self._config = pytest_config(self.read)
        return self._config

    def is_test(self, path: str) -> bool:
        return path.endswith(".py") and is_test_path(path, self.config.python_files)

    @property
    def test_files(self) -> list[str]:
        """Every Python file of the repository that is test code."""
        if self._tests is None:
            self._tests = [f for f in self.files if self.is_test(f)]
        return self._tests

    def _collected(self, directory: str) -> bool:
        """pytest run without arguments looks in ``directory`` (its ``testpaths`` allow it)."""
        paths = self.config.testpaths
        return not paths or any(
            _inside(directory, p) or fnmatch.fnmatchcase(directory, p) for p in paths
        )

    def collects(self, path: str) -> bool:
        """pytest run without arguments collects ``path`` (for ``--doctest-modules``)."""
        return self._collected(_parent(norm(path)))

    def _count(self, directory: str, *, deep: bool) -> int:
        prefix = directory + "/" if directory else ""
        return sum(
            1
            for f in self.test_files
            if f.startswith(prefix)
            and (deep or "/" not in f[len(prefix) :])
            and f.rsplit("/", 1)[-1] not in NOT_TESTABLE
        )

    def test_directory(self, module_path: str) -> str:
        """The directory for a module's new test file: the closest one its repository uses.

        From the module's own directory up to the root, the first level that has test files,
        beside the module or in a ``tests``/``test`` directory, wins (the one with more test
        files when both do); a directory pytest's ``testpaths`` would not collect is skipped.
        Without any, the first ``testpaths`` entry, else a new ``tests`` at the root.
        """
        directory = _parent(norm(module_path))
        while True:
            candidates = [
                (self._count(_join(directory, d), deep=True), -rank, _join(directory, d))
                for rank, d in enumerate(TEST_DIRS)
            ]
            candidates.append((self._count(directory, deep=False), -len(TEST_DIRS), directory))
            usable = [c for c in candidates if c[0] and self._collected(c[2])]
            if usable:
                return max(usable)[2]
            if not directory:
                break
            directory = _parent(directory)
        # Nothing on the way up: the collected directory holding the most tests, if any.
        counts: dict[str, int] = {}
        for f in self.test_files:
            if self._collected(_parent(f)) and f.rsplit("/", 1)[-1] not in NOT_TESTABLE:
                counts[_parent(f)] = counts.get(_parent(f), 0) + 1
        if counts:
            return min(counts, key=lambda d: (-counts[d], d.count("/"), d))
        for path in self.config.testpaths:
            if not any(ch in path for ch in "*?[") and not path.endswith(".py"):
                return path
        return "tests"

    def _style(self, directory: str) -> str:
        bases = [f.rsplit("/", 1)[-1] for f in self.test_files if _parent(f) == directory]
        names = [b for b in bases if b.startswith("test_") or b.endswith("_test.py")]
        suffixed = sum(1 for n in names if n.endswith("_test.py") and not n.startswith("test_"))
        style = "{}_test.py" if suffixed * 2 > len(names) else "test_{}.py"
        patterns = self.config.python_files
        if not any(fnmatch.fnmatchcase(style.format("x"), p) for p in patterns):
            usable = [p for p in patterns if p.count("*") == 1 and p.endswith(".py")]
            if usable:
                style = usable[0].replace("*", "{}")
        return style

    def _imports(self, path: str) -> list[str]:
        """The absolute modules (and ``module.name`` of from-imports) a test file names."""
        text = self.read(path) or ""
        found = re.findall(r"^\s*import\s+([\w.]+)", text, re.M)
        for module, names in re.findall(r"^\s*from\s+([\w.]+)\s+import\s+\(?([^)\n]*)", text, re.M):
            found.append(module)
            found += [f"{module}.{n.split()[0]}" for n in names.split(",") if n.strip()]
        return found

    def tests_of(self, path: str, import_name: str) -> bool | None:
        """Whether the test file at ``path`` is about the module ``import_name``.

        True when it imports the module; False when it imports another module of the same name
        (``other.config`` for ``pkg.config``); None when it says neither.
        """
        stem = import_name.rsplit(".", 1)[-1]
        imported = self._imports(path)
        if any(m == import_name or m.startswith(import_name + ".") for m in imported):
            return True
        text = self.read(path) or ""
        relative = rf"^\s*from\s+\.+\s*(?:{re.escape(stem)}\s+import\b|import\b[^\n]*\b{stem}\b)"
        if re.search(relative, text, re.M):
            return True
        if any(
            m.rsplit(".", 1)[-1] == stem and not import_name.startswith(m + ".") for m in imported
        ):
            return False
        return None

    def _existing(self, stem: str, import_name: str, module_path: str) -> str | None:
        """A test file named after the module that imports it, or that sits where the module's
        tests go and imports no other module of that name; the closest wins."""
        names = {f"test_{stem}.py", f"{stem}_test.py"}
        found = []
        home: str | None = None
        for f in self.test_files:
            if f.rsplit("/", 1)[-1] in names:
                about = self.tests_of(f, import_name)
                if about is None and home is None:
                    home = self.test_directory(module_path)
                if about is True or (about is None and _parent(f) == home):
                    found.append((about is not True, f))
        if not found:
            return None
        module_dir = _parent(norm(module_path)).split("/")

        def closeness(item: tuple[bool, str]) -> tuple[bool, int, str]:
            parts = _parent(item[1]).split("/")
            common = 0
            while common < min(len(parts), len(module_dir)) and parts[common] == module_dir[common]:
                common += 1
            return (item[0], -common, item[1])

        return min(found, key=closeness)[1]

    def _taken(self, path: str, import_name: str) -> bool:
        """``path`` cannot hold this module's tests: it tests another module of the same name,
        or pytest would import it under a basename another test file already uses."""
        if self.read(path) is not None:
            return self.tests_of(path, import_name) is False
        directory, base = _parent(path), path.rsplit("/", 1)[-1]
        if _join(directory, "__init__.py") in self.fileset:
            return False
        return any(
            f.rsplit("/", 1)[-1] == base and _join(_parent(f), "__init__.py") not in self.fileset
            for f in self.test_files
        )

    def target(self, module_path: str) -> Target:
        """The test file for the module at ``module_path``: the existing one, else a new one."""
        import_name = module_name(module_path, self.fileset)
        stem = import_name.rsplit(".", 1)[-1]
        existing = self._existing(stem, import_name, module_path)
        if existing is not None:
            return Target(existing)
        directory = self.test_directory(module_path)
        style = self._style(directory)
        path = _join(directory, style.format(stem))
        if self._taken(path, import_name):
            qualified = import_name.replace(".", "_")
            path = _join(directory, style.format(qualified))
        return Target(path, self._package_init(directory, module_path))

    def _package_init(self, directory: str, module_path: str) -> str | None:
        """An ``__init__.py`` that a new test directory needs for its imports to work.

        pytest's default import mode puts the first directory above a test file's package on
        ``sys.path``; a new ``tests/`` package at the root thus makes root modules importable
        without a root ``conftest.py``. Existing test directories are trusted as they are.
        """
        if not directory or "/" in directory or self._count(directory, deep=True):
            return None
        if import_root(module_path, self.fileset) != "":
            return None  # src/ layouts import the installed package
        init = _join(directory, "__init__.py")
        if init in self.fileset or "conftest.py" in self.fileset or self.config.pythonpath:
            return None
        return init
