"""What the corpus bench measures in a finished task: new tests, layout, names already covered.

Written apart from tierbot's own rule (``bot.core.suite``) on purpose, so that the bench checks
the generator rather than repeating it.
"""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

IDENTITY = ["-c", "user.name=bench", "-c", "user.email=bench@example.com"]
TEST_DIRS = {"tests", "test"}


def git(repo: Path, *args: str) -> str:
    out = subprocess.run(
        ["git", *IDENTITY, *args], cwd=repo, check=True, capture_output=True, text=True
    )
    return out.stdout


def is_test_file(path: str) -> bool:
    parts = path.split("/")
    base = parts[-1]
    return base.endswith(".py") and (
        base.startswith("test_")
        or base.endswith("_test.py")
        or base in {"test.py", "tests.py", "conftest.py"}
        or any(p in TEST_DIRS for p in parts[:-1])
    )


def test_layout(files: list[str]) -> set[str]:
    """Directories holding test files; a new top-level tests/ when there are none."""
    dirs = {p.rsplit("/", 1)[0] if "/" in p else "" for p in files if is_test_file(p)}
    return dirs or {"tests"}


def defined_tests(text: str | None) -> set[str]:
    if not text:
        return set()
    found: set[str] = set()
    for node in ast.parse(text).body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test"):
            found.add(node.name)
        elif isinstance(node, ast.ClassDef):
            found |= {f"{node.name}::{n.name}" for n in node.body if isinstance(n, ast.FunctionDef)}
    return found


def show(repo: Path, rev: str, path: str) -> str | None:
    done = subprocess.run(
        ["git", "show", f"{rev}:{path}"], cwd=repo, capture_output=True, text=True, check=False
    )
    return done.stdout if done.returncode == 0 else None


def new_tests(repo: Path, base: str, head: str) -> dict[str, set[str]]:
    changed = git(repo, "diff", "--name-only", base, head).split()
    found: dict[str, set[str]] = {}
    for path in changed:
        if path.endswith(".py") and is_test_file(path):
            added = defined_tests(show(repo, head, path)) - defined_tests(show(repo, base, path))
            if added:
                found[path] = added
    return found


def _dotted(node: ast.expr) -> list[str]:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    return [node.id, *parts[::-1]] if isinstance(node, ast.Name) else []


def test_code_names(text: str, top: str) -> set[str]:
    """Names a test file reaches through its imports of the package ``top`` (not a comment, a
    string, a local variable or a mock's attribute of the same name)."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return set()
    modules: set[str] = set()
    names: set[str] = set()
    star = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {
                a.asname or a.name.split(".")[0] for a in node.names if a.name.split(".")[0] == top
            }
        elif isinstance(node, ast.ImportFrom) and (
            node.level or (node.module or "").split(".")[0] == top
        ):
            star = star or any(a.name == "*" for a in node.names)
            names |= {a.name for a in node.names}
            modules |= {a.asname or a.name for a in node.names}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _dotted(node)[:1] and _dotted(node)[0] in modules:
            names.add(node.attr)
        elif star and isinstance(node, ast.Name):
            names.add(node.id)
    return names


def covered_before(repo: Path, base: str, module: str) -> set[str]:
    """Names the original tests reach through the package, plus doctest names when they run."""
    files = git(repo, "ls-tree", "-r", "--name-only", base).split()
    top = module.removeprefix("src/").split("/")[0].removesuffix(".py")
    names: set[str] = set()
    for path in files:
        if path.endswith(".py") and is_test_file(path):
            names |= test_code_names(show(repo, base, path) or "", top)
    configs = "".join(show(repo, base, p) or "" for p in ("pyproject.toml", "setup.cfg", "tox.ini"))
    if "--doctest-modules" in configs or any(
        "doctest" in (show(repo, base, p) or "") for p in files if is_test_file(p)
    ):
        source = show(repo, base, module) or ""
        for line in source.splitlines():
            if line.strip().startswith(">>>"):
                try:
                    names |= {
                        n.id
                        for n in ast.walk(ast.parse(line.strip()[3:].strip()))
                        if isinstance(n, ast.Name)
                    }
                except SyntaxError:
                    continue
    return names


def tested_name(path_text: str, test: str) -> str | None:
    """The public name a generated test is about: the first attribute of the module it uses."""
    tree = ast.parse(path_text)
    aliases = {
        t.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        for t in node.targets
        if isinstance(t, ast.Name) and "import_module" in ast.unparse(node.value)
    } | {a.asname or a.name for n in tree.body if isinstance(n, ast.Import) for a in n.names}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == test:
            for sub in ast.walk(node):
                if (
                    isinstance(sub, ast.Attribute)
                    and isinstance(sub.value, ast.Name)
                    and sub.value.id in aliases
                    and sub.value.id not in {"inspect", "pytest"}
                ):
                    return sub.attr
            label = re.search(r"(?:behaviour|value|exists) of (\w+)|what (\w+)", ast.unparse(node))
            return next((g for g in label.groups() if g), None) if label else None
    return None
