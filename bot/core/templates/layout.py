"""Repository layout: the generators' view of the files, import names and test paths."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from bot.core.suite.layout import Suite
from bot.core.suite.modules import import_root, is_dotted_identifier, module_name, norm
from bot.core.templates.request import TemplateRequest

__all__ = [
    "Repo",
    "dir_for_tests",
    "import_root",
    "is_dotted_identifier",
    "module_import_name",
    "module_name",
    "test_path_for",
    "uses_src_layout",
]


@dataclass(frozen=True)
class Repo:
    """The repository as the generators see it: normalised paths, and ``read`` for contents."""

    files: tuple[str, ...]
    fileset: frozenset[str]
    read: Callable[[str], str | None]
    protected: Callable[[str], bool] = lambda _path: False

    @classmethod
    def of(cls, request: TemplateRequest) -> Repo:
        files = tuple(sorted({norm(f) for f in request.files}))
        return cls(files, frozenset(files), request.read, request.protected)

    def exists(self, path: str) -> bool:
        return path in self.fileset or self.read(path) is not None

    def suite(self) -> Suite:
        return Suite(self.files, self.read)


def module_import_name(path: str, files: Sequence[str]) -> str:
    """The dotted name that imports ``path``: ``src/pkg/config.py`` -> ``pkg.config``."""
    return module_name(path, frozenset(norm(f) for f in files))


def dir_for_tests(files: Iterable[str]) -> str:
    if any(f.startswith("tests/") for f in files):
        return "tests"
    if any(f.startswith("test/") for f in files):
        return "test"
    return "tests"


def test_path_for(
    path: str, files: Sequence[str], read: Callable[[str], str | None] | None = None
) -> str:
    """The test file for ``path`` in the repository's own layout (see :class:`Suite`)."""
    return Suite(files, read or (lambda _: None)).target(path).path


# Pytest must not treat this helper as a test when a test module imports it by name.
test_path_for.__test__ = False  # type: ignore[attr-defined]


def uses_src_layout(files: Sequence[str]) -> bool:
    return any(f.startswith("src/") and f.endswith(".py") for f in files)
