"""Import names: which dotted module a repository path is, and which directory goes on sys.path."""

from __future__ import annotations

import keyword

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: the hooks import this module on every commit
if TYPE_CHECKING:
    from collections.abc import Sequence


def norm(path: str) -> str:
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


def module_name(path: str, fileset: frozenset[str]) -> str:
    """The dotted name that imports ``path``: ``src/pkg/config.py`` -> ``pkg.config``.

    Regular packages are climbed through their ``__init__.py`` files; above the top package (or
    for namespace packages) a ``src/`` directory is the import root, otherwise the repo root.
    """
    parts = norm(path).split("/")
    module = parts[_import_root_index(parts, fileset) :]
    module[-1] = module[-1].removesuffix(".py")
    if module[-1] == "__init__" and len(module) > 1:
        module.pop()
    return ".".join(module)


def import_root(path: str, fileset: frozenset[str]) -> str:
    """The directory that must be on ``sys.path`` to import ``path`` ("" for the repo root)."""
    parts = norm(path).split("/")
    return "/".join(parts[: _import_root_index(parts, fileset)])


def resolve_relative(
    importer: str, level: int, module: str | None, *, is_package: bool = False
) -> str | None:
    """The absolute module of ``from <level dots><module> import ...`` inside ``importer``.

    ``importer`` is the dotted name of the importing module (``pkg.tests.test_a``), a package's
    own name for its ``__init__.py`` (``is_package``); None when the dots climb above the top.
    """
    if level == 0:
        return module
    parts = importer.split(".") if is_package else importer.split(".")[:-1]
    if level > len(parts):
        return None
    base = parts[: len(parts) - (level - 1)]
    if module:
        base.append(module)
    return ".".join(base) or None
