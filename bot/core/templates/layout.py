"""Repository layout: the generators' view of the files, import names and test paths."""

from __future__ import annotations

import keyword
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from bot.core.templates.request import TemplateRequest


@dataclass(frozen=True)
class Repo:
    """The repository as the generators see it: normalised paths, and ``read`` for contents."""

    files: tuple[str, ...]
    fileset: frozenset[str]
    read: Callable[[str], str | None]

    @classmethod
    def of(cls, request: TemplateRequest) -> Repo:
        files = tuple(sorted({_norm(f) for f in request.files}))
        return cls(files, frozenset(files), request.read)

    def exists(self, path: str) -> bool:
        return path in self.fileset or self.read(path) is not None


def _norm(path: str) -> str:
    while path.startswith("./"):
        path = path[2:]
    return path


def is_dotted_identifier(name: str) -> bool:
    return bool(name) and all(
        part.isidentifier() and not keyword.iskeyword(part) for part in name.split(".")
    )


def _import_root_index(parts: Sequence[str], fileset: frozenset[str]) -> int:
    """How many leading path components sit above the directory that goes on ``sys.path``."""
    dirs = list(parts[:-1])
    top = len(dirs)
    while top > 0 and "/".join(dirs[:top]) + "/__init__.py" in fileset:
        top -= 1
    # Namespace packages (no __init__.py) reach up to a src/ directory, or to the repo root.
    if "src" in dirs[:top]:
        return len(dirs[:top]) - dirs[:top][::-1].index("src")
    if top < len(dirs):
        return top
    return 0


def module_import_name(path: str, files: Sequence[str]) -> str:
    """The dotted name that imports ``path``: ``src/pkg/config.py`` -> ``pkg.config``.

    Regular packages are climbed through their ``__init__.py`` files; above the top package (or
    for namespace packages) a ``src/`` directory is the import root, otherwise the repo root.
    """
    return module_name(path, frozenset(_norm(f) for f in files))


def module_name(path: str, fileset: frozenset[str]) -> str:
    parts = _norm(path).split("/")
    module = parts[_import_root_index(parts, fileset) :]
    module[-1] = module[-1].removesuffix(".py")
    if module[-1] == "__init__" and len(module) > 1:
        module.pop()
    return ".".join(module)


def import_root(path: str, files: frozenset[str]) -> str:
    parts = _norm(path).split("/")
    return "/".join(parts[: _import_root_index(parts, files)])


def dir_for_tests(files: Iterable[str]) -> str:
    if any(f.startswith("tests/") for f in files):
        return "tests"
    if any(f.startswith("test/") for f in files):
        return "test"
    return "tests"


def test_path_for(path: str, files: Sequence[str]) -> str:
    """Test file for ``path``: ``tests/test_<module>.py`` (``test/`` if the repo uses that)."""
    fileset = frozenset(_norm(f) for f in files)
    return path_for_tests(path, fileset)


def path_for_tests(path: str, fileset: frozenset[str]) -> str:
    module = module_name(path, fileset).rsplit(".", 1)[-1]
    return f"{dir_for_tests(fileset)}/test_{module}.py"


# Pytest must not treat this helper as a test when a test module imports it by name.
test_path_for.__test__ = False  # type: ignore[attr-defined]


def uses_src_layout(files: Sequence[str]) -> bool:
    return any(f.startswith("src/") and f.endswith(".py") for f in files)
