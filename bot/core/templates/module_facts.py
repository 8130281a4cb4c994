"""What a module's source says about its top level: bindings, ``__all__``, literal values."""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Iterator

from bot.core.templates.model import BUILTIN_TYPES, FunctionNode, assigned_names, dotted
from bot.core.templates.render import code

# Methods that change a list, dict or set in place: a constant they are called on is not pinned.
_MUTATORS = frozenset(
    {"append", "extend", "insert", "update", "add", "pop", "popitem", "remove", "clear"}
    | {"setdefault", "discard", "sort", "reverse", "__setitem__", "__delitem__"}
)
_SCOPES = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.Lambda,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
)
LITERAL_LIMIT = 60  # longer values are pinned by type and length, not written out


def _module_level(nodes: list[ast.stmt]) -> Iterator[ast.AST]:
    """The nodes run at import time outside any function, class or comprehension scope."""
    stack: list[ast.AST] = list(nodes)
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, _SCOPES):
            continue
        stack.extend(ast.iter_child_nodes(node))


class ModuleFacts:
    """The top level of one module: what it binds, how often, and what changes later."""

    def __init__(self, tree: ast.Module) -> None:
        counts: Counter[str] = Counter()
        changed: set[str] = set()
        self.deleted: set[str] = set()  # `del NAME` at import time: gone, or maybe gone
        self.star = False
        for node in _module_level(tree.body):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Del):
                self.deleted.add(node.id)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                counts[node.id] += 1
            elif isinstance(node, FunctionNode | ast.ClassDef):
                decorators = {dotted(d).rsplit(".", 1)[-1] for d in node.decorator_list}
                if "overload" not in decorators:  # typing.overload: the last def is the one
                    counts[node.name] += 1
            elif isinstance(node, ast.Import | ast.ImportFrom):
                for alias in node.names:
                    if alias.name == "*":
                        self.star = True
                    else:
                        counts[alias.asname or alias.name.split(".")[0]] += 1
            elif isinstance(node, ast.ExceptHandler) and node.name:
                counts[node.name] += 1
            elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
                changed.add(node.target.id)
        for node in ast.walk(tree):
            if isinstance(node, ast.Global):
                changed.update(node.names)
            elif isinstance(node, ast.Subscript | ast.Attribute) and not isinstance(
                node.ctx, ast.Load
            ):
                if isinstance(node.value, ast.Name):
                    changed.add(node.value.id)
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in _MUTATORS
                and isinstance(node.func.value, ast.Name)
            ):
                changed.add(node.func.value.id)
        self.globals = frozenset(counts)
        changed |= self.deleted
        self.once = frozenset(n for n, c in counts.items() if c == 1 and n not in changed)
        self.printing = _printing(tree)


def _writes(function: ast.AST) -> bool:
    for node in ast.walk(function):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "print"
        ):
            return True
        if isinstance(node, ast.Attribute) and node.attr in {"stdout", "stderr"}:
            return True
    return False


def _printing(tree: ast.Module) -> frozenset[str]:
    """Functions and methods of the module that print, directly or through one another."""
    defs: dict[str, list[ast.AST]] = {}
    for node in ast.walk(tree):
        if isinstance(node, FunctionNode):
            defs.setdefault(node.name, []).append(node)
    printing = {name for name, nodes in defs.items() if any(_writes(n) for n in nodes)}
    grew = True
    while grew:  # callers of printing functions print too
        grew = False
        for name, nodes in defs.items():
            if name in printing:
                continue
            for sub in (s for n in nodes for s in ast.walk(n)):
                callee = getattr(sub, "func", None) if isinstance(sub, ast.Call) else None
                called = getattr(callee, "id", None) or getattr(callee, "attr", None)
                if called in printing:
                    printing.add(name)
                    grew = True
                    break
    return frozenset(printing)


def literal_type(node: ast.expr, shadowed: set[str]) -> str | None:
    if isinstance(node, ast.Constant):
        if node.value is None:
            return "None"
        kind = type(node.value).__name__
        return kind if kind in BUILTIN_TYPES else None
    if isinstance(node, ast.Compare) or (
        isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)
    ):
        return "bool"  # `PY3 = sys.version_info[0] == 3`
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        inner = literal_type(node.operand, shadowed)
        return inner if inner in {"int", "float", "complex"} else None
    literal_kinds: dict[type[ast.expr], str] = {
        ast.JoinedStr: "str",
        ast.List: "list",
        ast.ListComp: "list",
        ast.Tuple: "tuple",
        ast.Dict: "dict",
        ast.DictComp: "dict",
        ast.Set: "set",
        ast.SetComp: "set",
    }
    if type(node) in literal_kinds:
        return literal_kinds[type(node)]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        name = node.func.id
        if name in BUILTIN_TYPES and name not in shadowed:
            return name
    return None


def literal_source(node: ast.expr) -> str | None:
    """The value of a literal expression as source (double-quoted strings), if short enough.

    Only plain literals count (what ``ast.literal_eval`` accepts); the source is rewritten from
    the value's own syntax tree so that the test reads as the module does.
    """
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    text = code(node)
    if "\n" in text or len(text) > LITERAL_LIMIT:
        return None
    return text


def _literal_strings(value: ast.expr | None) -> list[str] | None:
    if not isinstance(value, ast.List | ast.Tuple):
        return None
    strings = [
        e.value for e in value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)
    ]
    return strings if len(strings) == len(value.elts) else None


def _all_call(node: ast.stmt) -> ast.Call | None:
    if (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Call)
        and dotted(node.value.func) in {"__all__.extend", "__all__.append"}
    ):
        return node.value
    return None


def dunder_all(tree: ast.Module) -> list[str] | None:
    """The literal ``__all__`` of a module; ``None`` when absent or computed."""
    names: list[str] | None = None
    for node in tree.body:
        call = _all_call(node)
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
                names = _literal_strings(node.value)
                if names is None:
                    return None
        elif (
            isinstance(node, ast.AugAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id == "__all__"
        ):
            extra = _literal_strings(node.value)
            if names is None or extra is None:
                return None
            names += extra
        elif call is not None:
            if names is None or len(call.args) != 1:
                return None
            arg = call.args[0]
            if dotted(call.func).endswith("append"):
                if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
                    return None
                names.append(arg.value)
            else:
                extra = _literal_strings(arg)
                if extra is None:
                    return None
                names += extra
    return None if names is None else list(dict.fromkeys(names))


__all__ = ["ModuleFacts", "assigned_names", "dunder_all", "literal_source", "literal_type"]
