"""What the free template tier writes into a stub: stored parameters, property access, or an
honest placeholder raising ``NotImplementedError``. Pure: AST in, lines out."""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Sequence

from bot.core.templates.names import dotted, param_names

TYPE_CHECKING = False  # see bot.hooks.common
if TYPE_CHECKING:
    from bot.hooks.stubs import Stub

LINE_LENGTH = 88  # black's and ruff's default; a repo formatter may rewrap afterwards
FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef
# Bases that need no super().__init__ call with arguments tierbot cannot know.
_PLAIN_BASES = frozenset({"object", "ABC", "abc.ABC", "Generic", "typing.Generic"})
_PROPERTIES = frozenset({"property", "cached_property", "functools.cached_property"})


def _members(owner: ast.ClassDef) -> set[str]:
    names: set[str] = set()
    for item in owner.body:
        if isinstance(item, FunctionNode | ast.ClassDef):
            names.add(item.name)
    return names


def _self_attributes(owner: ast.ClassDef) -> set[str]:
    """Attributes some method of ``owner`` assigns on its first parameter."""
    found: set[str] = set()
    for item in owner.body:
        if not isinstance(item, FunctionNode) or not (item.args.posonlyargs or item.args.args):
            continue
        me = (*item.args.posonlyargs, *item.args.args)[0].arg
        for sub in ast.walk(item):
            targets: list[ast.expr] = []
            if isinstance(sub, ast.Assign):
                targets = sub.targets
            elif isinstance(sub, ast.AnnAssign | ast.AugAssign):
                targets = [sub.target]
            for target in targets:
                if (
                    isinstance(target, ast.Attribute)
                    and isinstance(target.value, ast.Name)
                    and target.value.id == me
                ):
                    found.add(target.attr)
    return found


def _init_assignments(node: FunctionNode, owner: ast.ClassDef) -> list[tuple[str, str]] | None:
    """(attribute, parameter) pairs a stub ``__init__`` of ``owner`` stores, or None."""
    if node.name != "__init__" or isinstance(node, ast.AsyncFunctionDef) or node.decorator_list:
        return None
    if owner.keywords or any(dotted(b, subscripts=True) not in _PLAIN_BASES for b in owner.bases):
        return None  # a real base class may need super().__init__(...) with unknown arguments
    params = param_names(node.args)
    if len(params) < 2 or not (node.args.posonlyargs or node.args.args):
        return None
    members = _members(owner)
    return [(f"_{p}" if p in members else p, p) for p in params[1:]]


def implementation(
    node: FunctionNode,
    owner: ast.ClassDef | None,
    found: Sequence[tuple[FunctionNode, str, ast.ClassDef | None, str, int]],
) -> tuple[str, ...] | None:
    if owner is None:
        return None
    params = param_names(node.args)
    if node.name == "__init__":
        pairs = _init_assignments(node, owner)
        if pairs is None:
            return None
        me = params[0]
        return tuple(f"{me}.{attribute} = {param}" for attribute, param in pairs)
    decorators = [dotted(d, subscripts=True) for d in node.decorator_list]
    if len(decorators) != 1 or isinstance(node, ast.AsyncFunctionDef):
        return None
    attributes = _self_attributes(owner)
    # A stub __init__ filled in the same run stores its parameters too.
    for other, _, other_owner, _, _ in found:
        if other_owner is owner and other.name == "__init__":
            pairs = _init_assignments(other, owner)
            attributes.update(attribute for attribute, _ in pairs or ())
    private = f"_{node.name}"
    if private not in attributes:
        return None
    if decorators[0] in _PROPERTIES and len(params) == 1:
        return (f"return {params[0]}.{private}",)
    if decorators[0] == f"{node.name}.setter" and len(params) == 2:
        return (f"{params[0]}.{private} = {params[1]}",)
    return None


def placeholder_body(stub: Stub) -> tuple[str, ...]:
    """A docstring (unless the stub has one) and ``raise NotImplementedError``."""
    lines: list[str] = []
    if not stub.has_docstring:
        lines += docstring_lines(stub.summary, len(stub.indent.expandtabs()))
    lines.append("raise NotImplementedError")
    return tuple(lines)


def docstring_lines(text: str, indent: int) -> list[str]:
    # The hint is free text: keep it inside the literal whatever it contains.
    safe = text.replace("\\", "\\\\")
    trailing = len(safe) - len(safe.rstrip('"'))
    safe = safe.rstrip('"').replace('"""', '\\"\\"\\"') + '\\"' * trailing
    if indent + len(safe) + 6 <= LINE_LENGTH:
        return [f'"""{safe}"""']
    wrapped = textwrap.wrap(safe, width=max(LINE_LENGTH - indent - 3, 20), break_long_words=False)
    return [f'"""{wrapped[0]}', *wrapped[1:], '"""']


def _words(name: str) -> str:
    words = [w for w in re.split(r"_+|(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", name) if w]
    out = [w if w.isupper() and len(w) > 1 else w.lower() for w in words]
    return " ".join(out) or name


def sentence(text: str) -> str:
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


def name_sentence(name: str, owner: ast.ClassDef | None) -> str:
    if name == "__init__" and owner is not None:
        return f"Create a {_words(owner.name)}."
    if name.startswith("__") and name.endswith("__"):
        return f"Implement ``{name}``."
    return sentence(_words(name))
