"""Which staged modules the tests hook covers, and their interface at a first, cheap look."""

from __future__ import annotations

import ast

from bot.hooks.common import NOT_TESTABLE, is_test_path


def is_module_to_test(path: str) -> bool:
    """Not a test, fixture or script, and not private (``_impl.py``, ``_vendor/``)."""
    if is_test_path(path) or path.rsplit("/", 1)[-1] in NOT_TESTABLE:
        return False
    parts = path.removesuffix(".py").split("/")
    if parts[-1] == "__init__":
        parts.pop()
    return not any(part.startswith("_") for part in parts)


def top_level_names(tree: ast.Module) -> set[str]:
    """Module-level functions and classes that make up the module's interface.

    With a literal ``__all__`` exactly those of its names the module defines; otherwise the
    names without a leading underscore. (The template tier's ``public_names`` has the final
    say; this is the cheap first look that lets a no-op run skip it.)
    """
    defined = {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    }
    exported = _literal_all(tree)
    if exported is not None:
        return defined & exported
    return {name for name in defined if not name.startswith("_")}


def _literal_all(tree: ast.Module) -> set[str] | None:
    names: set[str] | None = None
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, value, extends = node.targets, node.value, False
        elif isinstance(node, ast.AnnAssign | ast.AugAssign) and node.value is not None:
            targets, value, extends = [node.target], node.value, isinstance(node, ast.AugAssign)
        else:
            continue
        if not any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            continue
        if not isinstance(value, ast.List | ast.Tuple):
            return None  # computed: fall back to the naming rule
        strings = {
            e.value for e in value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)
        }
        if not all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in value.elts):
            return None
        names = strings if names is None or not extends else names | strings
    return names
