"""An existing test file as additions see it: what it binds, imports, and where imports go."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from bot.core.templates.model import FunctionNode, assigned_names, dotted, parse


@dataclass(frozen=True)
class TestFileFacts:
    """What an existing test file already has, so additions neither repeat nor clash."""

    bindings: frozenset[str]  # names bound at module level
    imports: dict[str, str]  # module -> the name that reaches the module itself
    idents: tuple[str, ...]  # test function and test class names
    insert_after: int  # new imports go after this line (1-based; 0: top of file)
    after_import: bool  # the line before the insertion point is an import
    tree: ast.Module | None  # None: the file does not parse


# Pytest must not collect this class when a test module imports it.
TestFileFacts.__test__ = False  # type: ignore[attr-defined]


def _import_module_call(node: ast.stmt) -> tuple[str, str] | None:
    """``name = importlib.import_module("pkg.mod")`` -> ("pkg.mod", "name")."""
    if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
        return None
    target, value = node.targets[0], node.value
    if (
        isinstance(target, ast.Name)
        and isinstance(value, ast.Call)
        and dotted(value.func) == "importlib.import_module"
        and len(value.args) == 1
        and not value.keywords
        and isinstance(value.args[0], ast.Constant)
        and isinstance(value.args[0].value, str)
    ):
        return value.args[0].value, target.id
    return None


def _unparsed(existing: str) -> TestFileFacts:
    # Unparseable: treat every word as taken and append, never rewrite.
    words = frozenset(re.findall(r"[A-Za-z_]\w*", existing))
    found = re.findall(r"^\s*(?:async\s+)?def\s+(test\w*)|^class\s+(Test\w*)", existing, re.M)
    names = tuple(function or cls for function, cls in found)
    return TestFileFacts(words, {}, names, 0, False, None)


def test_file_facts(existing: str) -> TestFileFacts:
    try:
        tree = parse(existing)
    except SyntaxError:
        return _unparsed(existing)
    bindings: set[str] = set()
    imports: dict[str, str] = {}
    idents: list[str] = []
    for node in tree.body:
        reached = _import_module_call(node)
        if reached is not None:
            imports.setdefault(*reached)
        if isinstance(node, ast.Import):
            for alias in node.names:
                bound = alias.asname or alias.name.split(".")[0]
                bindings.add(bound)
                # `import a.b as c` finds `a.b` as an attribute of `a` first, which a package may
                # rebind: only a plain module name is sure to be the module.
                if "." not in alias.name:
                    imports.setdefault(alias.name, bound)
        elif isinstance(node, ast.ImportFrom):
            bindings.update(alias.asname or alias.name for alias in node.names)
        elif isinstance(node, FunctionNode | ast.ClassDef):
            bindings.add(node.name)
            if node.name.startswith(("test", "Test")):
                idents.append(node.name)
            if isinstance(node, ast.ClassDef):
                idents += [i.name for i in node.body if isinstance(i, FunctionNode)]
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                bindings.update(assigned_names(target))
    insert_after, after_import = 0, False
    body = list(tree.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        insert_after = body[0].end_lineno or 0
        body = body[1:]
    for node in body:
        if not isinstance(node, ast.Import | ast.ImportFrom):
            break
        insert_after, after_import = node.end_lineno or 0, True
    if insert_after == 0:
        lines = existing.split("\n")
        while insert_after < len(lines) and lines[insert_after].startswith("#"):
            insert_after += 1
    return TestFileFacts(
        frozenset(bindings), imports, tuple(idents), insert_after, after_import, tree
    )
