"""The public names of a module, read from its source with ``ast`` and never imported."""

from __future__ import annotations

import ast
import builtins
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

NameKind = Literal[
    "function",  # a module-level def
    "class",  # a module-level class
    "constant",  # a module-level UPPER_CASE assignment (or any assignment listed in __all__)
    "method",  # a plain method: ``params`` include ``self``
    "classmethod",  # ``params`` as seen through the class, without ``cls``
    "staticmethod",
    "property",
    "attribute",  # exists, nothing more is known (re-exports, unknown decorators, ...)
]


@dataclass(frozen=True)
class PublicName:
    """One public name of a module, as far as the source shows it without importing it.

    ``params`` are the parameter names in the order ``inspect.signature`` lists them at run
    time: a function's parameters, a class's constructor parameters (without ``self``), a
    method's parameters as reached through the class. ``None`` means the source does not pin
    them down (an unknown decorator, a metaclass, an imported base class).
    """

    name: str
    kind: NameKind
    params: tuple[str, ...] | None = None
    methods: tuple[PublicName, ...] = ()
    value_type: str | None = None  # constants: the builtin type of the literal value
    is_async: bool = False  # ``inspect.iscoroutinefunction`` holds at run time


_OVERLOAD = frozenset({"overload", "typing.overload", "typing_extensions.overload"})
# Decorators that return the function itself.
IDENTITY = frozenset(
    {
        "abstractmethod",
        "abc.abstractmethod",
        "override",
        "typing.override",
        "typing_extensions.override",
        "final",
        "typing.final",
        "typing_extensions.final",
    }
)
# Decorators whose wrapper keeps the signature visible through ``__wrapped__``.
WRAPPING = frozenset(
    {
        "cache",
        "functools.cache",
        "lru_cache",
        "functools.lru_cache",
        "contextmanager",
        "contextlib.contextmanager",
        "asynccontextmanager",
        "contextlib.asynccontextmanager",
    }
)
PROPERTY = frozenset({"property", "builtins.property"})
CACHED_PROPERTY = frozenset({"cached_property", "functools.cached_property"})
DATACLASS = frozenset({"dataclass", "dataclasses.dataclass"})
_NAMEDTUPLE = frozenset({"NamedTuple", "typing.NamedTuple"})
_EXCEPTIONS = frozenset(
    name
    for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, BaseException)
)
# Bases that add no metaclass ``__call__`` and no ``__new__`` that would hide ``__init__``.
_PLAIN_BASES = _EXCEPTIONS | {"object", "ABC", "abc.ABC", "Generic", "typing.Generic"}
_BUILTIN_TYPES = frozenset(
    {"bool", "bytes", "complex", "dict", "float", "frozenset", "int", "list", "set", "str", "tuple"}
)

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


def dotted(node: ast.expr, *, subscripts: bool = False) -> str:
    """``a.b.c`` for a name or attribute chain (the callee for a call), else ``""``.

    With ``subscripts`` a subscript reads as what it subscripts: ``Generic[T]`` as ``Generic``.
    Public names and stub signatures are read without, so that a decorator or callee such as
    ``cache[key]`` is never taken for the ``cache`` it subscripts.
    """
    if isinstance(node, ast.Call):
        return dotted(node.func, subscripts=subscripts)
    if subscripts and isinstance(node, ast.Subscript):
        return dotted(node.value, subscripts=subscripts)
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = dotted(node.value, subscripts=subscripts)
        return f"{head}.{node.attr}" if head else ""
    return ""


def _is_public(name: str) -> bool:
    return not name.startswith("_")


def param_names(args: ast.arguments) -> tuple[str, ...]:
    """Every parameter name, in the order ``inspect.signature`` lists them."""
    names = [a.arg for a in (*args.posonlyargs, *args.args)]
    if args.vararg:
        names.append(args.vararg.arg)
    names += [a.arg for a in args.kwonlyargs]
    if args.kwarg:
        names.append(args.kwarg.arg)
    return tuple(names)


def _function(node: FunctionNode) -> PublicName | None:
    decorators = [dotted(d) for d in node.decorator_list]
    if _OVERLOAD.intersection(decorators):
        return None
    transparent = all(d in IDENTITY or d in WRAPPING for d in decorators)
    return PublicName(
        node.name,
        "function",
        params=param_names(node.args) if transparent else None,
        is_async=isinstance(node, ast.AsyncFunctionDef) and IDENTITY.issuperset(decorators),
    )


def _method(node: FunctionNode) -> PublicName | None:
    decorators = [dotted(d) for d in node.decorator_list]
    if _OVERLOAD.intersection(decorators):
        return None
    if any(d in PROPERTY or d.endswith((".setter", ".getter", ".deleter")) for d in decorators):
        return PublicName(node.name, "property")
    binding = {"staticmethod", "classmethod"}.intersection(decorators)
    others = [d for d in decorators if d not in binding]
    if len(binding) > 1 or not all(d in IDENTITY or d in WRAPPING for d in others):
        return PublicName(node.name, "attribute")
    params = param_names(node.args)
    is_async = isinstance(node, ast.AsyncFunctionDef) and IDENTITY.issuperset(others)
    if "staticmethod" in binding:
        return PublicName(node.name, "staticmethod", params=params, is_async=is_async)
    if "classmethod" in binding:
        bound = params[1:] if (node.args.posonlyargs or node.args.args) else None
        return PublicName(node.name, "classmethod", params=bound, is_async=is_async)
    return PublicName(node.name, "method", params=params, is_async=is_async)


def _keyword_is_false(call: ast.expr, name: str) -> bool:
    return isinstance(call, ast.Call) and any(
        k.arg == name and isinstance(k.value, ast.Constant) and k.value.value is False
        for k in call.keywords
    )


def _annotation_head(node: ast.expr) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            node = ast.parse(node.value, mode="eval").body
        except (SyntaxError, ValueError):
            return ""
    if isinstance(node, ast.Subscript):
        node = node.value
    return dotted(node)


def _field_names(node: ast.ClassDef, *, dataclass_fields: bool) -> tuple[str, ...]:
    names: list[str] = []
    for item in node.body:
        if not (isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)):
            continue
        head = _annotation_head(item.annotation)
        if head in {"ClassVar", "typing.ClassVar"}:
            continue
        if dataclass_fields:
            if head in {"KW_ONLY", "dataclasses.KW_ONLY"}:
                continue
            value = item.value
            if (
                isinstance(value, ast.Call)
                and dotted(value.func) in {"field", "dataclasses.field"}
                and _keyword_is_false(value, "init")
            ):
                continue
        names.append(item.target.id)
    return tuple(names)


def _has_plain_bases(node: ast.ClassDef, classes: dict[str, ast.ClassDef], depth: int = 0) -> bool:
    if node.keywords or depth > 20:
        return False
    for base in node.bases:
        target = base.value if isinstance(base, ast.Subscript) else base
        name = dotted(target)
        if name in _PLAIN_BASES:
            continue
        parent = classes.get(name)
        if parent is None or parent.decorator_list:
            return False
        if any(isinstance(item, FunctionNode) and item.name == "__new__" for item in parent.body):
            return False
        if not _has_plain_bases(parent, classes, depth + 1):
            return False
    return True


def _constructor_params(
    node: ast.ClassDef, classes: dict[str, ast.ClassDef]
) -> tuple[str, ...] | None:
    decorators = [dotted(d) for d in node.decorator_list]
    if node.keywords or any(d not in DATACLASS and d not in IDENTITY for d in decorators):
        return None
    if [dotted(b) for b in node.bases] in ([n] for n in _NAMEDTUPLE):
        return _field_names(node, dataclass_fields=False)
    own = {item.name: item for item in node.body if isinstance(item, FunctionNode)}
    if "__new__" in own or not _has_plain_bases(node, classes):
        return None
    init = own.get("__init__")
    if init is not None:
        positional = (*init.args.posonlyargs, *init.args.args)
        if init.decorator_list or not positional:
            return None
        return param_names(init.args)[1:]
    dataclass_decorators = [d for d in node.decorator_list if dotted(d) in DATACLASS]
    if dataclass_decorators and not node.bases:
        if any(_keyword_is_false(d, "init") for d in dataclass_decorators):
            return None
        return _field_names(node, dataclass_fields=True)
    return None


def _class(node: ast.ClassDef, classes: dict[str, ast.ClassDef]) -> PublicName:
    members: dict[str, PublicName] = {}
    for item in node.body:
        if isinstance(item, FunctionNode) and _is_public(item.name):
            method = _method(item)
            if method is not None:
                members[item.name] = method
        elif isinstance(item, ast.ClassDef) and _is_public(item.name):
            members[item.name] = PublicName(item.name, "attribute")
        elif isinstance(item, ast.Assign | ast.AnnAssign) and getattr(item, "value", None):
            # A later assignment rebinds a method name; the method is then no longer there.
            targets = item.targets if isinstance(item, ast.Assign) else [item.target]
            for target in targets:
                if isinstance(target, ast.Name) and target.id in members:
                    members[target.id] = PublicName(target.id, "attribute")
    return PublicName(
        node.name,
        "class",
        params=_constructor_params(node, classes),
        methods=tuple(members.values()),
    )


def _literal_type(node: ast.expr, shadowed: set[str]) -> str | None:
    if isinstance(node, ast.Constant):
        if node.value is None:
            return "None"
        kind = type(node.value).__name__
        return kind if kind in _BUILTIN_TYPES else None
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        inner = _literal_type(node.operand, shadowed)
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
        if name in _BUILTIN_TYPES and name not in shadowed:
            return name
    return None


def assigned_names(target: ast.expr) -> Iterator[str]:
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, ast.Tuple | ast.List):
        for element in target.elts:
            yield from assigned_names(
                element.value if isinstance(element, ast.Starred) else element
            )


def _dunder_all(tree: ast.Module) -> list[str] | None:
    """The literal ``__all__`` of a module; ``None`` when absent or computed."""
    names: list[str] | None = None

    def literal(value: ast.expr | None) -> list[str] | None:
        if not isinstance(value, ast.List | ast.Tuple):
            return None
        strings = [
            e.value for e in value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)
        ]
        return strings if len(strings) == len(value.elts) else None

    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
                names = literal(node.value)
                if names is None:
                    return None
        elif (
            isinstance(node, ast.AugAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id == "__all__"
        ):
            extra = literal(node.value)
            if names is None or extra is None:
                return None
            names += extra
        elif (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Call)
            and dotted(node.value.func) in {"__all__.extend", "__all__.append"}
        ):
            call = node.value
            if names is None or len(call.args) != 1:
                return None
            if dotted(call.func).endswith("append"):
                arg = call.args[0]
                if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
                    return None
                names.append(arg.value)
            else:
                extra = literal(call.args[0])
                if extra is None:
                    return None
                names += extra
    return None if names is None else list(dict.fromkeys(names))


def parse(source: str) -> ast.Module:
    """``ast.parse`` that reports every unreadable source as ``SyntaxError``."""
    try:
        return ast.parse(source)
    except ValueError as exc:  # null bytes: a ValueError before Python 3.12
        raise SyntaxError(str(exc)) from None
    except RecursionError:
        raise SyntaxError("too deeply nested to parse") from None


def public_names(source: str) -> list[PublicName]:
    """Top-level public functions, classes and constants of ``source``, read with ``ast``.

    Without ``__all__``: names not starting with ``_`` that the module defines itself (imports
    are not its interface), constants only when UPPER_CASE. With a literal ``__all__``: exactly
    those names, in that order. Raises ``SyntaxError`` when the source does not parse.
    """
    tree = parse(source)
    found: dict[str, PublicName] = {}
    classes: dict[str, ast.ClassDef] = {}
    imported: set[str] = set()
    for node in tree.body:
        if isinstance(node, FunctionNode):
            function = _function(node)
            if function is not None:
                found[node.name] = function
                imported.discard(node.name)
        elif isinstance(node, ast.ClassDef):
            found[node.name] = _class(node, classes)
            classes[node.name] = node
            imported.discard(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            if node.value is None:
                continue  # a bare annotation binds nothing
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                plain = isinstance(target, ast.Name)
                for name in assigned_names(target):
                    kind = _literal_type(node.value, set(found)) if plain else None
                    found[name] = PublicName(name, "constant", value_type=kind)
                    imported.discard(name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                if alias.name == "*":
                    continue
                bound = alias.asname or alias.name.split(".")[0]
                found[bound] = PublicName(bound, "attribute")
                imported.add(bound)
    exported = _dunder_all(tree)
    if exported is not None:
        return [found.get(name, PublicName(name, "attribute")) for name in exported]
    return [
        item
        for name, item in found.items()
        if _is_public(name)
        and name not in imported
        and item.kind != "attribute"
        and (item.kind != "constant" or name.isupper())
    ]
