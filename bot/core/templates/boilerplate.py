"""The ``boilerplate`` generator: a package's ``py.typed``, its ``__main__.py``, new packages.

Each file is the one every Python project writes the same way; anything that needs a choice
(what ``python -m pkg`` should run when no ``main`` exists, what a new module should contain)
is declined, so a model tier decides it.
"""

from __future__ import annotations

import ast
import re

from bot.core.suite.modules import is_dotted_identifier
from bot.core.templates.layout import Repo, uses_src_layout
from bot.core.templates.request import Declined, NothingToDo
from bot.core.types import EditSet, FileEdit

PY_TYPED = re.compile(r"\bpy\.typed\b|\bpep\s*561\b|\btyped\s+marker\b", re.IGNORECASE)
MAIN = re.compile(
    r"__main__(?:\.py)?|\bpython\s+-m\b|\brun(?:nable)?\s+as\s+a\s+module\b", re.IGNORECASE
)
NEW_PACKAGE = re.compile(
    r"\b(?:create|add|new|scaffold|skeleton(?:\s+for)?)\b[^.\n]*?\b(?:sub)?package\s+`?"
    r"([A-Za-z_][\w.]*)`?",
    re.IGNORECASE,
)
# Modules where a package's entry point usually lives, in the order they are looked at.
ENTRY_MODULES = ("__main__", "cli", "main", "app", "__init__")


def _packages(repo: Repo) -> list[str]:
    """Top-level package directories (``pkg`` or ``src/pkg``), each holding ``__init__.py``."""
    found = []
    for path in repo.files:
        parts = path.split("/")
        if parts[-1] != "__init__.py":
            continue
        if len(parts) == 2 and parts[0] not in ("tests", "test", "docs"):
            found.append(parts[0])
        elif len(parts) == 3 and parts[0] == "src":
            found.append(f"src/{parts[1]}")
    return sorted(set(found))


def _package_for(repo: Repo, text: str) -> str | Declined:
    packages = _packages(repo)
    named = [p for p in packages if re.search(rf"\b{re.escape(p.rsplit('/', 1)[-1])}\b", text)]
    chosen = named or packages
    if len(chosen) == 1:
        return chosen[0]
    if not chosen:
        return Declined("the repository has no top-level package (a directory with __init__.py)")
    names = ", ".join(p.rsplit("/", 1)[-1] for p in chosen)
    return Declined(f"several packages could be meant ({names}); name one")


def _has_main(source: str | None) -> bool:
    if source is None:
        return False
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    return any(isinstance(n, ast.FunctionDef) and n.name == "main" for n in tree.body)


def _main_module(repo: Repo, package: str) -> str | Declined:
    dotted = package.rsplit("/", 1)[-1]
    for module in ENTRY_MODULES[1:]:
        if _has_main(repo.read(f"{package}/{module}.py")):
            target = dotted if module == "__init__" else f"{dotted}.{module}"
            return (
                f'"""Run {dotted} as a script: ``python -m {dotted}``."""\n\n'
                f"from {target} import main\n\n"
                "raise SystemExit(main())\n"
            )
    return Declined(
        f"{dotted} has no main() in {', '.join(m + '.py' for m in ENTRY_MODULES[1:])}; "
        "what `python -m` should run needs a model tier"
    )


def _new_package(repo: Repo, dotted: str) -> str | Declined | NothingToDo:
    dotted = dotted.strip(".")
    if not is_dotted_identifier(dotted):
        return Declined(f"{dotted!r} is not a package name")
    root = "src/" if uses_src_layout(repo.files) else ""
    path = root + dotted.replace(".", "/") + "/__init__.py"
    if repo.exists(path):
        return NothingToDo(f"{path} already exists")
    parent = dotted.rpartition(".")[0]
    if parent and not repo.exists(root + parent.replace(".", "/") + "/__init__.py"):
        return Declined(f"the parent package {parent} does not exist; create it first")
    return path


def generate_boilerplate(repo: Repo, text: str) -> EditSet | Declined | NothingToDo:
    """The files the task asks for among: ``py.typed``, ``__main__.py``, a new package."""
    edits: list[FileEdit] = []
    done: list[str] = []
    asked = False
    if PY_TYPED.search(text) or MAIN.search(text):
        package = _package_for(repo, text)
        if isinstance(package, Declined):
            return package
        if PY_TYPED.search(text):
            asked = True
            marker = f"{package}/py.typed"
            if repo.exists(marker):
                done.append(marker)
            else:
                edits.append(FileEdit(marker, ""))
        if MAIN.search(text):
            asked = True
            main = f"{package}/__main__.py"
            if repo.exists(main):
                done.append(main)
            else:
                content = _main_module(repo, package)
                if isinstance(content, Declined):
                    return content
                edits.append(FileEdit(main, content))
    for match in NEW_PACKAGE.finditer(text):
        asked = True
        path = _new_package(repo, match.group(1))
        if isinstance(path, Declined):
            return path
        if isinstance(path, NothingToDo):
            done.append(path.reason.split(" ", 1)[0])
            continue
        name = match.group(1).strip(".")
        edits.append(FileEdit(path, f'"""The {name} package."""\n'))
    if not asked:
        return Declined(
            "the template tier writes py.typed, __main__.py and new empty packages only; "
            "this boilerplate needs a model tier"
        )
    if not edits:
        verb = "exists" if len(done) == 1 else "exist"
        return NothingToDo(f"{', '.join(done)} already {verb}")
    return EditSet(tuple(edits))
