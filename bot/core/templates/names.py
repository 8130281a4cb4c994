"""The public names of a module, read from its source with ``ast`` and never imported."""

from __future__ import annotations

import ast

from bot.core.templates.classes import class_name
from bot.core.templates.model import (
    CACHED_PROPERTY,
    DATACLASS,
    IDENTITY,
    PROPERTY,
    WRAPPING,
    FunctionNode,
    NameKind,
    PublicName,
    assigned_names,
    dotted,
    function_name,
    is_public,
    param_names,
    parse,
)
from bot.core.templates.module_facts import ModuleFacts, dunder_all, literal_source, literal_type

__all__ = [
    "CACHED_PROPERTY",
    "DATACLASS",
    "IDENTITY",
    "PROPERTY",
    "WRAPPING",
    "FunctionNode",
    "NameKind",
    "PublicName",
    "assigned_names",
    "dotted",
    "param_names",
    "parse",
    "public_names",
]

# Names every module may bind that are never its interface.
_NOT_INTERFACE = frozenset({"TYPE_CHECKING"})


def _constant(
    name: str, node: ast.Assign | ast.AnnAssign, plain: bool, facts: ModuleFacts, shadowed: set[str]
) -> PublicName:
    assert node.value is not None
    kind = literal_type(node.value, shadowed) if plain else None
    literal = literal_source(node.value) if plain and name in facts.once else None
    args = _literal_args(node.value) if plain and name in facts.once else None
    return PublicName(name, "constant", value_type=kind, literal=literal, literal_args=args)


def _literal_args(value: ast.expr) -> tuple[str, ...] | None:
    """``Literal["a", "b"]`` -> ('"a"', '"b"'): a type alias whose values the source lists."""
    if not isinstance(value, ast.Subscript) or dotted(value.value).rsplit(".", 1)[-1] != "Literal":
        return None
    items = value.slice.elts if isinstance(value.slice, ast.Tuple) else [value.slice]
    rendered = [literal_source(item) for item in items]
    if any(r is None for r in rendered) or len(", ".join(map(str, rendered))) > 70:
        return None
    return tuple(r for r in rendered if r is not None)


def _imported(node: ast.Import | ast.ImportFrom, facts: ModuleFacts) -> list[PublicName]:
    found: list[PublicName] = []
    for alias in node.names:
        if alias.name == "*":
            continue
        if isinstance(node, ast.Import):
            bound = alias.asname or alias.name.split(".")[0]
            origin = (0, alias.name if alias.asname else bound, "")
        else:
            bound = alias.asname or alias.name
            origin = (node.level, node.module or "", alias.name)
        pinned = origin if bound in facts.once else None
        found.append(PublicName(bound, "attribute", origin=pinned))
    return found


def public_names(source: str) -> list[PublicName]:
    """Top-level public functions, classes and constants of ``source``, read with ``ast``.

    Without ``__all__``: names not starting with ``_`` that the module defines itself (imports
    are not its interface), constants only when UPPER_CASE. With a literal ``__all__``: exactly
    those names, in that order. Raises ``SyntaxError`` when the source does not parse.
    """
    tree = parse(source)
    facts = ModuleFacts(tree)
    found: dict[str, PublicName] = {}
    classes: dict[str, ast.ClassDef] = {}
    imported: set[str] = set()
    for node in tree.body:
        if isinstance(node, FunctionNode):
            function = function_name(node)
            if function is not None and node.name not in facts.once:
                # Rebound, or changed afterwards (`f.__signature__ = ...`): only the name is sure.
                function = PublicName(node.name, "function", is_async=function.is_async)
            if function is not None:
                found[node.name] = function
                imported.discard(node.name)
        elif isinstance(node, ast.ClassDef):
            found[node.name] = class_name(node, classes, facts)
            classes[node.name] = node
            imported.discard(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            if node.value is None:
                continue  # a bare annotation binds nothing
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                plain = isinstance(target, ast.Name)
                for name in assigned_names(target):
                    found[name] = _constant(name, node, plain, facts, set(found))
                    imported.discard(name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for item in _imported(node, facts):
                found[item.name] = item
                imported.add(item.name)
    for name in facts.deleted:
        found.pop(name, None)  # deleted at import time: nothing a test could reach
    exported = dunder_all(tree)
    if exported is not None:
        return [found.get(name, PublicName(name, "attribute")) for name in exported]
    return [
        item
        for name, item in found.items()
        if is_public(name)
        and name not in imported
        and name not in _NOT_INTERFACE
        and item.kind != "attribute"
        and (item.kind != "constant" or name.isupper())
    ]
