"""What a public name is (:class:`PublicName`), and how a ``def`` reads, with ``ast``."""

from __future__ import annotations

import ast
import builtins
from collections.abc import Iterator
from dataclasses import dataclass, field
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
    # More of what the source pins down; not part of equality (the same name read in more or
    # less detail is still the same name).
    literal: str | None = field(default=None, compare=False)  # a constant's value, as source
    bases: tuple[tuple[str, bool], ...] = field(default=(), compare=False)  # (dotted, global)
    fields: tuple[str, ...] | None = field(default=None, compare=False)  # dataclass, NamedTuple
    namedtuple: bool = field(default=False, compare=False)  # ``fields`` are ``_fields``
    members: tuple[str, ...] | None = field(default=None, compare=False)  # an enum's members
    values: tuple[str, ...] | None = field(default=None, compare=False)  # their values, as source
    # A ``Literal[...]`` alias: its arguments as source, what ``typing.get_args`` returns.
    literal_args: tuple[str, ...] | None = field(default=None, compare=False)
    # A re-export: (level, module, name) of its import; name "" when a module itself is bound.
    origin: tuple[int, str, str] | None = field(default=None, compare=False)


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
NAMEDTUPLE = frozenset({"NamedTuple", "typing.NamedTuple"})
_EXCEPTIONS = frozenset(
    name
    for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, BaseException)
)
# Bases that add no metaclass ``__call__`` and no ``__new__`` that would hide ``__init__``.
PLAIN_BASES = _EXCEPTIONS | {"object", "ABC", "abc.ABC", "Generic", "typing.Generic"}
BUILTIN_TYPES = frozenset(
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


def is_public(name: str) -> bool:
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


def function_name(node: FunctionNode) -> PublicName | None:
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


def method_name(node: FunctionNode) -> PublicName | None:
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


def assigned_names(target: ast.expr) -> Iterator[str]:
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, ast.Tuple | ast.List):
        for element in target.elts:
            yield from assigned_names(
                element.value if isinstance(element, ast.Starred) else element
            )


def parse(source: str) -> ast.Module:
    """``ast.parse`` that reports every unreadable source as ``SyntaxError``."""
    try:
        return ast.parse(source)
    except ValueError as exc:  # null bytes: a ValueError before Python 3.12
        raise SyntaxError(str(exc)) from None
    except RecursionError:
        raise SyntaxError("too deeply nested to parse") from None
