"""The imports a stub module needs: standard-library names its signatures use, and no others."""

from __future__ import annotations

import ast
import builtins
from collections.abc import Iterator, Sequence

from bot.core.templates.request import LINE_LENGTH
from bot.core.templates.signatures import Sig, runtime_parts

# Names the stub may use without the task defining them, and where they come from.
_KNOWN_IMPORTS: dict[str, str] = {
    **dict.fromkeys(
        [
            "Annotated",
            "Any",
            "AnyStr",
            "BinaryIO",
            "ClassVar",
            "Concatenate",
            "Final",
            "Generic",
            "IO",
            "Literal",
            "NamedTuple",
            "Never",
            "NoReturn",
            "Optional",
            "ParamSpec",
            "Protocol",
            "Self",
            "TextIO",
            "TypeAlias",
            "TypeVar",
            "TypedDict",
            "Union",
            "cast",
            "overload",
            "runtime_checkable",
        ],
        "typing",
    ),
    **dict.fromkeys(
        [
            "AsyncGenerator",
            "AsyncIterable",
            "AsyncIterator",
            "Awaitable",
            "Callable",
            "Collection",
            "Container",
            "Coroutine",
            "Generator",
            "Hashable",
            "ItemsView",
            "Iterable",
            "Iterator",
            "KeysView",
            "Mapping",
            "MutableMapping",
            "MutableSequence",
            "MutableSet",
            "Reversible",
            "Sequence",
            "Sized",
            "ValuesView",
        ],
        "collections.abc",
    ),
    **dict.fromkeys(["Path", "PurePath", "PurePosixPath"], "pathlib"),
    **dict.fromkeys(["date", "timedelta", "timezone"], "datetime"),
    **dict.fromkeys(["Enum", "IntEnum", "StrEnum", "Flag", "IntFlag", "auto"], "enum"),
    **dict.fromkeys(["dataclass", "field", "KW_ONLY", "InitVar"], "dataclasses"),
    **dict.fromkeys(["ABC", "abstractmethod"], "abc"),
    **dict.fromkeys(["Counter", "OrderedDict", "defaultdict", "deque", "ChainMap"], "collections"),
    **dict.fromkeys(["partial", "cached_property", "lru_cache", "cache"], "functools"),
    **dict.fromkeys(["contextmanager", "asynccontextmanager"], "contextlib"),
    **dict.fromkeys(["SimpleNamespace", "ModuleType", "TracebackType"], "types"),
    "Decimal": "decimal",
    "Fraction": "fractions",
    "UUID": "uuid",
    "Logger": "logging",
    "Pattern": "re",
    "Match": "re",
}
_KNOWN_MODULES = frozenset(
    [
        "abc",
        "argparse",
        "asyncio",
        "base64",
        "collections",
        "contextlib",
        "csv",
        "dataclasses",
        "datetime",
        "decimal",
        "enum",
        "functools",
        "hashlib",
        "http",
        "io",
        "itertools",
        "json",
        "logging",
        "math",
        "os",
        "pathlib",
        "random",
        "re",
        "shutil",
        "socket",
        "sqlite3",
        "string",
        "subprocess",
        "sys",
        "tempfile",
        "textwrap",
        "threading",
        "time",
        "types",
        "typing",
        "urllib",
        "uuid",
    ]
)
_BUILTIN_NAMES = frozenset(dir(builtins))


def _all_nodes(items: Sequence[Sig]) -> Iterator[ast.AST]:
    for item in items:
        yield item.node
        yield from item.fields
        for method in item.methods:
            yield method.node


def stub_imports(items: Sequence[Sig]) -> list[str]:
    """Import lines for the standard-library names the signatures use."""
    defined = {item.node.name for item in items}
    modules: set[str] = set()
    names: dict[str, set[str]] = {}
    for node in _all_nodes(items):
        roots: set[int] = set()
        for sub in ast.walk(node):
            if isinstance(sub, ast.Attribute):
                value: ast.expr = sub.value
                while isinstance(value, ast.Attribute):
                    value = value.value
                if isinstance(value, ast.Name):
                    roots.add(id(value))
        for sub in ast.walk(node):
            if not isinstance(sub, ast.Name) or sub.id in defined:
                continue
            if id(sub) in roots and sub.id in _KNOWN_MODULES:
                modules.add(sub.id)
            elif sub.id in _KNOWN_IMPORTS:
                names.setdefault(_KNOWN_IMPORTS[sub.id], set()).add(sub.id)
            elif sub.id in _KNOWN_MODULES:
                modules.add(sub.id)
    lines = [f"import {m}" for m in sorted(modules)]
    for module in sorted(names):
        ordered = sorted(
            names[module],
            key=lambda n: (0 if n.isupper() and len(n) > 1 else 1 if n[0].isupper() else 2, n),
        )
        line = f"from {module} import {', '.join(ordered)}"
        if len(line) <= LINE_LENGTH:
            lines.append(line)
        else:
            lines += [f"from {module} import (", *(f"    {n}," for n in ordered), ")"]
    return lines


def runtime_unknowns(items: Sequence[Sig]) -> list[tuple[str, str]]:
    """(definition, name) pairs where import-time code would hit an undefined name."""
    available = set(_BUILTIN_NAMES) | set(_KNOWN_IMPORTS) | set(_KNOWN_MODULES)
    problems: list[tuple[str, str]] = []
    for item in items:
        parts = runtime_parts(item.node)
        parts += [f.value for f in item.fields if f.value is not None]
        for method in item.methods:
            parts += runtime_parts(method.node)
        for part in parts:
            for sub in ast.walk(part):
                if isinstance(sub, ast.Name) and sub.id not in available:
                    problems.append((item.node.name, sub.id))
        available.add(item.node.name)
    return problems
