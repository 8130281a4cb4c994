"""The ``stub`` generator: a new module of placeholder definitions from the task's signatures."""

from __future__ import annotations

import ast
import builtins
import io
import keyword
import re
import textwrap
import tokenize
from collections.abc import Iterator, Sequence

from bot.core.templates.layout import Repo, module_name
from bot.core.templates.names import FunctionNode
from bot.core.templates.request import LINE_LENGTH, Declined
from bot.core.templates.signatures import Sig, StubError, runtime_parts, stub_signatures
from bot.core.templates.text import path_mentions, sentence, split_blocks
from bot.core.types import EditSet, FileEdit

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


def _name_sentence(name: str, owner: str | None = None) -> str:
    if name == "__init__" and owner:
        return f"Create a {_words(owner).lower()}."
    if name.startswith("__") and name.endswith("__"):
        return f"Implement ``{name}``."
    return sentence(_words(name))


def _words(name: str) -> str:
    words = [w for w in re.split(r"_+|(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", name) if w]
    out = [w if w.isupper() and len(w) > 1 else w.lower() for w in words]
    if out:
        out[0] = out[0][0].upper() + out[0][1:]
    return " ".join(out) or name


_CREATE = re.compile(
    r"\b(?:create|add|write|make|generate|scaffold|stub(?:\s+out)?|new)\b", re.IGNORECASE
)


def _stub_target(text: str, repo: Repo) -> str:
    prose = "\n".join(line for b in split_blocks(text) if not b.fenced for line in b.lines)
    mentions = path_mentions(prose) or path_mentions(text)
    if not mentions:
        raise StubError(
            "the task names no target path; say where the module goes, "
            "e.g. 'Create src/pkg/util.py with ...'"
        )
    created = [
        m
        for m in mentions
        if re.search(_CREATE.pattern + r"[^.\n]{0,40}?" + re.escape(m), prose, re.IGNORECASE)
    ]
    if created:
        target = created[0]
    elif len(mentions) == 1:
        target = mentions[0]
    else:
        new = [m for m in mentions if not repo.exists(m)]
        if len(new) > 1:
            raise StubError(
                f"several new module paths are named ({', '.join(new)}); "
                "name one target per stub task"
            )
        target = new[0] if new else mentions[0]
    stem = target.rsplit("/", 1)[-1].removesuffix(".py")
    if not stem.isidentifier() or keyword.iskeyword(stem):
        raise StubError(f"{target} is not a valid Python module name")
    if repo.exists(target):
        raise StubError(f"{target} already exists; the stub generator only creates new modules")
    return target


def _module_summary(text: str, target: str, import_name: str) -> str:
    for block in split_blocks(text):
        if block.fenced:
            continue
        for line in block.lines:
            index = line.find(target)
            if index < 0:
                continue
            rest = line[index + len(target) :].lstrip("`")
            rest = re.split(r"`(?:async\s+)?(?:def|class)\s", rest)[0]
            rest = re.sub(
                r"^[\s,:]*(?:with|that|for|to|containing|providing|which|holding)?\b", "", rest
            )
            rest = rest.strip().rstrip(":")
            if len(rest.split()) >= 2:
                return sentence(rest)
    return f"The ``{import_name}`` module (stubs to be implemented)."


def _docstring(text: str, indent: str) -> list[str]:
    # Untrusted text must stay inside the literal: escape backslashes, runs of three quotes
    # and the quotes right before the closing ones.
    safe = text.replace("\\", "\\\\")
    trailing = len(safe) - len(safe.rstrip('"'))
    safe = safe.rstrip('"').replace('"""', '\\"\\"\\"') + '\\"' * trailing
    line = f'{indent}"""{safe}"""'
    if len(line) <= LINE_LENGTH:
        return [line]
    wrapped = textwrap.wrap(safe, width=LINE_LENGTH - len(indent) - 3, break_long_words=False)
    return [f'{indent}"""{wrapped[0]}', *(f"{indent}{w}" for w in wrapped[1:]), f'{indent}"""']


def _code(node: ast.AST) -> str:
    """``ast.unparse`` with the double quotes a formatter would choose for plain strings."""
    code = ast.unparse(node)
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, SyntaxError):
        return code
    for token in reversed(tokens):
        text = token.string
        if (
            token.type == tokenize.STRING
            and token.start[0] == token.end[0] == 1
            and text.startswith("'")
            and not text.startswith("'''")
            and '"' not in text
            and "\\" not in text
        ):
            start, end = token.start[1], token.end[1]
            code = f'{code[:start]}"{text[1:-1]}"{code[end:]}'
    return code


def _argument(arg: ast.arg, default: ast.expr | None, prefix: str = "") -> str:
    text = prefix + arg.arg
    if arg.annotation is not None:
        text += f": {_code(arg.annotation)}"
    if default is not None:
        text += (" = " if arg.annotation is not None else "=") + _code(default)
    return text


def _arguments(args: ast.arguments) -> list[str]:
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
    defaults += args.defaults
    out: list[str] = []
    for index, (arg, default) in enumerate(zip(positional, defaults, strict=True)):
        out.append(_argument(arg, default))
        if index == len(args.posonlyargs) - 1:
            out.append("/")
    if args.vararg:
        out.append(_argument(args.vararg, None, "*"))
    elif args.kwonlyargs:
        out.append("*")
    for arg, kw_default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        out.append(_argument(arg, kw_default))
    if args.kwarg:
        out.append(_argument(args.kwarg, None, "**"))
    return out


def _def_lines(sig: Sig, indent: str, owner: str | None) -> list[str]:
    node = sig.node
    assert isinstance(node, FunctionNode)
    lines = [f"{indent}@{_code(d)}" for d in node.decorator_list]
    keyword_ = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
    returns = f" -> {_code(node.returns)}" if node.returns else ""
    params = _arguments(node.args)
    one = f"{indent}{keyword_} {node.name}({', '.join(params)}){returns}:"
    if len(one) <= LINE_LENGTH:
        lines.append(one)
    else:
        lines.append(f"{indent}{keyword_} {node.name}(")
        lines += [f"{indent}    {p}," for p in params]
        lines.append(f"{indent}){returns}:")
    doc = sig.description or _name_sentence(node.name, owner)
    lines += _docstring(doc, indent + "    ")
    lines.append(f"{indent}    raise NotImplementedError")
    return lines


def _class_lines(sig: Sig) -> list[str]:
    node = sig.node
    assert isinstance(node, ast.ClassDef)
    lines = [f"@{_code(d)}" for d in node.decorator_list]
    bases = [_code(b) for b in node.bases]
    bases += [
        f"{k.arg}={_code(k.value)}" if k.arg else f"**{_code(k.value)}" for k in node.keywords
    ]
    lines.append(f"class {node.name}({', '.join(bases)}):" if bases else f"class {node.name}:")
    lines += _docstring(sig.description or sentence(_words(node.name)), "    ")
    if sig.fields:
        lines.append("")
        for f in sig.fields:
            if isinstance(f, ast.Assign):
                lines.append(f"    {_code(f.targets[0])} = {_code(f.value)}")
                continue
            value = f" = {_code(f.value)}" if f.value is not None else ""
            lines.append(f"    {_code(f.target)}: {_code(f.annotation)}{value}")
    for method in sig.methods:
        lines.append("")
        lines += _def_lines(method, "    ", node.name)
    return lines


def _all_nodes(items: Sequence[Sig]) -> Iterator[ast.AST]:
    for item in items:
        yield item.node
        yield from item.fields
        for method in item.methods:
            yield method.node


def _stub_imports(items: Sequence[Sig]) -> list[str]:
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


def _runtime_unknowns(items: Sequence[Sig]) -> list[tuple[str, str]]:
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


def _new_package_inits(target: str, repo: Repo) -> list[FileEdit]:
    """``__init__.py`` files for new directories under a regular package."""
    parts = target.split("/")[:-1]
    edits: list[FileEdit] = []
    created: set[str] = set()
    for depth in range(1, len(parts) + 1):
        directory = "/".join(parts[:depth])
        parent = "/".join(parts[: depth - 1])
        if any(f.startswith(directory + "/") for f in repo.files):
            continue
        parent_init = f"{parent}/__init__.py" if parent else "__init__.py"
        if parent and (repo.exists(parent_init) or parent_init in created):
            init = f"{directory}/__init__.py"
            created.add(init)
            edits.append(
                FileEdit(init, f'"""{sentence(_words(parts[depth - 1]) + " package")}"""\n')
            )
    return edits


def generate_stub(repo: Repo, text: str) -> EditSet | Declined:
    """A new module holding the task's signatures, each body ``raise NotImplementedError``."""
    try:
        target = _stub_target(text, repo)
        items = stub_signatures(text)
    except StubError as exc:
        return Declined(str(exc))
    if not items:
        return Declined(
            "the task gives no signature to stub; write them as `def name(arg: type) -> type:` "
            "or `class Name:` lines, ideally in a code fence"
        )
    unknown = _runtime_unknowns(items)
    if unknown:
        where, name = unknown[0]
        return Declined(
            f"{where} needs {name} when the module is imported, but the task does not define it "
            "and it is not a known standard-library name"
        )
    import_name = module_name(target, repo.fileset | {target})
    imports = _stub_imports(items)
    blocks = [
        "\n".join(
            _class_lines(item)
            if isinstance(item.node, ast.ClassDef)
            else _def_lines(item, "", None)
        )
        for item in items
    ]
    head = "\n".join(_docstring(_module_summary(text, target, import_name), ""))
    head += "\n\nfrom __future__ import annotations\n"
    if imports:
        head += "\n" + "\n".join(imports) + "\n"
    source = head + "\n\n" + "\n\n\n".join(blocks) + "\n"
    try:
        compile(source, target, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:  # a safety net: every piece was checked on its own
        return Declined(f"the generated stub for {target} does not compile: {exc}")
    edits = [FileEdit(target, source), *_new_package_inits(target, repo)]
    return EditSet(tuple(sorted(edits, key=lambda e: e.path)))
