"""The free ``template`` tier: deterministic skeleton tests, module stubs and config files.

Everything here is pure. The repository is seen only through the path list and the ``read``
callable of a :class:`TemplateRequest`, and the same request always yields the same bytes, so a
template attempt costs nothing and can be repeated. A generator either returns whole-file edits
or :class:`Declined` with a reason a person can act on; declining is cheap and lets the ladder
hand the task to a model tier.

The task text is untrusted: it only selects among fixed generators, names files that must
already be listed, and contributes signatures that are checked before they are copied (no calls
or unknown names that would run when the new module is imported).
"""

from __future__ import annotations

import ast
import builtins
import io
import keyword
import re
import textwrap
import tokenize
import tomllib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

from bot.core.types import EditSet, FileEdit

# Ruff's and black's default: generated files should come out of an untouched formatter as-is.
LINE_LENGTH = 88

# A release named in ruff-pre-commit's README; `pre-commit autoupdate` moves it forward.
RUFF_PRE_COMMIT_REV = "v0.15.22"

CI_PYTHON_VERSIONS = ("3.11", "3.12")


@dataclass(frozen=True)
class TemplateRequest:
    task_type: str  # "tests", "stub", "config", or anything else
    text: str  # the task text written by a user (untrusted; may name files)
    files: Sequence[str]  # all repo paths (posix, relative)
    read: Callable[[str], str | None]  # read a repo file's text, None if absent


@dataclass(frozen=True)
class Declined:
    """The template tier does not handle this task; ``reason`` says why, for the task log."""

    reason: str


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


def generate(request: TemplateRequest) -> EditSet | Declined:
    """Run the generator for ``request.task_type``; never raises on bad task text."""
    generator = _GENERATORS.get(request.task_type)
    if generator is None:
        return Declined(f"the template tier has no generator for {request.task_type} tasks")
    try:
        return generator(_Repo.of(request), _clean_text(request.text))
    except RecursionError:
        # Pathologically nested input; reading it is a job for a person, not a template.
        return Declined("the task text or a named file is nested too deeply to read")


# --------------------------------------------------------------------------- repository layout


@dataclass(frozen=True)
class _Repo:
    files: tuple[str, ...]
    fileset: frozenset[str]
    read: Callable[[str], str | None]

    @classmethod
    def of(cls, request: TemplateRequest) -> _Repo:
        files = tuple(sorted({_norm(f) for f in request.files}))
        return cls(files, frozenset(files), request.read)

    def exists(self, path: str) -> bool:
        return path in self.fileset or self.read(path) is not None


def _norm(path: str) -> str:
    while path.startswith("./"):
        path = path[2:]
    return path


def _is_dotted_identifier(name: str) -> bool:
    return bool(name) and all(
        part.isidentifier() and not keyword.iskeyword(part) for part in name.split(".")
    )


def _import_root_index(parts: Sequence[str], fileset: frozenset[str]) -> int:
    """How many leading path components sit above the directory that goes on ``sys.path``."""
    dirs = list(parts[:-1])
    top = len(dirs)
    while top > 0 and "/".join(dirs[:top]) + "/__init__.py" in fileset:
        top -= 1
    # Namespace packages (no __init__.py) reach up to a src/ directory, or to the repo root.
    if "src" in dirs[:top]:
        return len(dirs[:top]) - dirs[:top][::-1].index("src")
    if top < len(dirs):
        return top
    return 0


def module_import_name(path: str, files: Sequence[str]) -> str:
    """The dotted name that imports ``path``: ``src/pkg/config.py`` -> ``pkg.config``.

    Regular packages are climbed through their ``__init__.py`` files; above the top package (or
    for namespace packages) a ``src/`` directory is the import root, otherwise the repo root.
    """
    return _module_name(path, frozenset(_norm(f) for f in files))


def _module_name(path: str, fileset: frozenset[str]) -> str:
    parts = _norm(path).split("/")
    module = parts[_import_root_index(parts, fileset) :]
    module[-1] = module[-1].removesuffix(".py")
    if module[-1] == "__init__" and len(module) > 1:
        module.pop()
    return ".".join(module)


def _import_root(path: str, files: frozenset[str]) -> str:
    parts = _norm(path).split("/")
    return "/".join(parts[: _import_root_index(parts, files)])


def _test_dir(files: Iterable[str]) -> str:
    if any(f.startswith("tests/") for f in files):
        return "tests"
    if any(f.startswith("test/") for f in files):
        return "test"
    return "tests"


def test_path_for(path: str, files: Sequence[str]) -> str:
    """Test file for ``path``: ``tests/test_<module>.py`` (``test/`` if the repo uses that)."""
    fileset = frozenset(_norm(f) for f in files)
    return _test_path(path, fileset)


def _test_path(path: str, fileset: frozenset[str]) -> str:
    module = _module_name(path, fileset).rsplit(".", 1)[-1]
    return f"{_test_dir(fileset)}/test_{module}.py"


# Pytest must not treat this helper as a test when a test module imports it by name.
test_path_for.__test__ = False  # type: ignore[attr-defined]


def _uses_src_layout(files: Sequence[str]) -> bool:
    return any(f.startswith("src/") and f.endswith(".py") for f in files)


# --------------------------------------------------------------------------- task text


_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})")


def _clean_text(text: str) -> str:
    # Hidden HTML comments in an issue must not steer what gets committed.
    return _HTML_COMMENT.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


@dataclass(frozen=True)
class _Block:
    """A run of task-text lines: prose (``fenced`` false) or the inside of one code fence."""

    fenced: bool
    lines: tuple[str, ...]


def _blocks(text: str) -> list[_Block]:
    blocks: list[_Block] = []
    current: list[str] = []
    marker: str | None = None
    for line in text.split("\n"):
        match = _FENCE.match(line)
        if marker is None and match:
            blocks.append(_Block(False, tuple(current)))
            current, marker = [], match.group(1)
        elif marker is not None and line.strip() and set(line.strip()) == {marker[0]}:
            if len(line.strip()) >= len(marker):
                body = textwrap.dedent("\n".join(current)).split("\n")
                blocks.append(_Block(True, tuple(body)))
                current, marker = [], None
            else:
                current.append(line)
        else:
            current.append(line)
    if current:
        # An unclosed fence still holds code: treat it as fenced, like most renderers do.
        body = textwrap.dedent("\n".join(current)).split("\n") if marker else current
        blocks.append(_Block(marker is not None, tuple(body)))
    return blocks


_PY_PATH = re.compile(r"(?<![\w/.\\-])(?:\./)?((?:[\w.-]+/)*[\w.-]*\w\.py)(?!\w)")
_BACKTICK_MODULE = re.compile(r"`([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)`")
_NAMED_MODULE = re.compile(
    r"`([A-Za-z_]\w*)`\s+(?:module|package)|(?:module|package)\s+`([A-Za-z_]\w*)`"
)


def _path_mentions(text: str) -> list[str]:
    """``.py`` paths in the text, in order of first mention, without ``..`` escapes."""
    seen: dict[str, None] = {}
    for match in _PY_PATH.finditer(text):
        path = match.group(1)
        if ".." not in path.split("/"):
            seen.setdefault(path, None)
    return list(seen)


# --------------------------------------------------------------------------- public names


_OVERLOAD = frozenset({"overload", "typing.overload", "typing_extensions.overload"})
# Decorators that return the function itself.
_IDENTITY = frozenset(
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
_WRAPPING = frozenset(
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
_PROPERTY = frozenset({"property", "builtins.property"})
_CACHED_PROPERTY = frozenset({"cached_property", "functools.cached_property"})
_DATACLASS = frozenset({"dataclass", "dataclasses.dataclass"})
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


def _dotted(node: ast.expr) -> str:
    """``a.b.c`` for a name or attribute chain (the callee for a call), else ``""``."""
    if isinstance(node, ast.Call):
        return _dotted(node.func)
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return f"{head}.{node.attr}" if head else ""
    return ""


def _is_public(name: str) -> bool:
    return not name.startswith("_")


def _param_names(args: ast.arguments) -> tuple[str, ...]:
    names = [a.arg for a in (*args.posonlyargs, *args.args)]
    if args.vararg:
        names.append(args.vararg.arg)
    names += [a.arg for a in args.kwonlyargs]
    if args.kwarg:
        names.append(args.kwarg.arg)
    return tuple(names)


def _function(node: FunctionNode) -> PublicName | None:
    decorators = [_dotted(d) for d in node.decorator_list]
    if _OVERLOAD.intersection(decorators):
        return None
    transparent = all(d in _IDENTITY or d in _WRAPPING for d in decorators)
    return PublicName(
        node.name,
        "function",
        params=_param_names(node.args) if transparent else None,
        is_async=isinstance(node, ast.AsyncFunctionDef) and _IDENTITY.issuperset(decorators),
    )


def _method(node: FunctionNode) -> PublicName | None:
    decorators = [_dotted(d) for d in node.decorator_list]
    if _OVERLOAD.intersection(decorators):
        return None
    if any(d in _PROPERTY or d.endswith((".setter", ".getter", ".deleter")) for d in decorators):
        return PublicName(node.name, "property")
    binding = {"staticmethod", "classmethod"}.intersection(decorators)
    others = [d for d in decorators if d not in binding]
    if len(binding) > 1 or not all(d in _IDENTITY or d in _WRAPPING for d in others):
        return PublicName(node.name, "attribute")
    params = _param_names(node.args)
    is_async = isinstance(node, ast.AsyncFunctionDef) and _IDENTITY.issuperset(others)
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
    return _dotted(node)


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
                and _dotted(value.func) in {"field", "dataclasses.field"}
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
        name = _dotted(target)
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
    decorators = [_dotted(d) for d in node.decorator_list]
    if node.keywords or any(d not in _DATACLASS and d not in _IDENTITY for d in decorators):
        return None
    if [_dotted(b) for b in node.bases] in ([n] for n in _NAMEDTUPLE):
        return _field_names(node, dataclass_fields=False)
    own = {item.name: item for item in node.body if isinstance(item, FunctionNode)}
    if "__new__" in own or not _has_plain_bases(node, classes):
        return None
    init = own.get("__init__")
    if init is not None:
        positional = (*init.args.posonlyargs, *init.args.args)
        if init.decorator_list or not positional:
            return None
        return _param_names(init.args)[1:]
    dataclass_decorators = [d for d in node.decorator_list if _dotted(d) in _DATACLASS]
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


def _assigned_names(target: ast.expr) -> Iterator[str]:
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, ast.Tuple | ast.List):
        for element in target.elts:
            yield from _assigned_names(
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
            and _dotted(node.value.func) in {"__all__.extend", "__all__.append"}
        ):
            call = node.value
            if names is None or len(call.args) != 1:
                return None
            if _dotted(call.func).endswith("append"):
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


def _syntax_problem(exc: SyntaxError) -> str:
    where = f" at line {exc.lineno}" if exc.lineno else ""
    return f"a syntax error{where}: {exc.msg}"


def _quote(text: str, *, quoted: bool = True, limit: int = 80) -> str:
    """Task text echoed in a decline reason: short, one line."""
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return repr(text) if quoted else text


def _parse(source: str) -> ast.Module:
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
    tree = _parse(source)
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
                for name in _assigned_names(target):
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


# --------------------------------------------------------------------------- skeleton tests


_PLACEHOLDER_KINDS = frozenset({"function", "class"})


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


@dataclass(frozen=True)
class _TestFileFacts:
    """What an existing test file already has, so additions neither repeat nor clash."""

    bindings: frozenset[str]  # names bound at module level
    imports: dict[str, str]  # dotted module -> the expression that reaches it
    idents: tuple[str, ...]  # test function and test class names
    references: frozenset[str]  # names and attributes used inside the tests
    insert_after: int  # new imports go after this line (1-based; 0: top of file)
    after_import: bool  # the line before the insertion point is an import
    parsed: bool


def _facts(existing: str) -> _TestFileFacts:
    try:
        tree = _parse(existing)
    except SyntaxError:
        # Unparseable: treat every word as taken and append, never rewrite.
        words = frozenset(re.findall(r"[A-Za-z_]\w*", existing))
        found = re.findall(r"^\s*(?:async\s+)?def\s+(test\w*)|^class\s+(Test\w*)", existing, re.M)
        names = tuple(function or cls for function, cls in found)
        return _TestFileFacts(words, {}, names, words, 0, False, False)
    bindings: set[str] = set()
    imports: dict[str, str] = {}
    idents: list[str] = []
    tests: list[ast.AST] = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    imports[alias.name] = alias.asname
                    bindings.add(alias.asname)
                else:
                    parts = alias.name.split(".")
                    for i in range(1, len(parts) + 1):
                        imports.setdefault(".".join(parts[:i]), ".".join(parts[:i]))
                    bindings.add(parts[0])
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                bound = alias.asname or alias.name
                imports[f"{node.module}.{alias.name}"] = bound
                bindings.add(bound)
        elif isinstance(node, FunctionNode | ast.ClassDef):
            bindings.add(node.name)
            if isinstance(node, FunctionNode) and node.name.startswith("test"):
                idents.append(node.name)
                tests.append(node)
            elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
                idents.append(node.name)
                for item in node.body:
                    if isinstance(item, FunctionNode) and item.name.startswith("test"):
                        idents.append(item.name)
                        tests.append(item)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                bindings.update(_assigned_names(target))
    references: set[str] = set()
    for test in tests:
        for sub in ast.walk(test):
            if isinstance(sub, ast.Name):
                references.add(sub.id)
            elif isinstance(sub, ast.Attribute):
                references.add(sub.attr)
            elif (
                isinstance(sub, ast.Constant)
                and isinstance(sub.value, str)
                and sub.value.isidentifier()
            ):
                references.add(sub.value)  # getattr(module, "name") and friends
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
    return _TestFileFacts(
        frozenset(bindings),
        imports,
        tuple(idents),
        frozenset(references),
        insert_after,
        after_import,
        True,
    )


def _covered(names: Sequence[PublicName], facts: _TestFileFacts) -> set[str]:
    """Names the existing tests already cover: referenced in a test, or named by one."""
    covered = {n.name for n in names if n.name in facts.references}
    for ident in facts.idents:
        if ident.startswith("Test"):
            flat = ident[4:].replace("_", "").lower()
            covered.update(n.name for n in names if n.name.replace("_", "").lower() == flat)
            continue
        rest = ident.removeprefix("test").removeprefix("_")
        best: tuple[int, bool] | None = None
        owners: list[str] = []
        for n in names:
            for form, exact in ((n.name, True), (_snake(n.name), False)):
                if rest == form or rest.startswith(form + "_"):
                    score = (len(form), exact)
                    if best is None or score > best:
                        best, owners = score, [n.name]
                    elif score == best:
                        owners.append(n.name)
        covered.update(owners)
    return covered


def _free_name(preferred: str, taken: set[str] | frozenset[str]) -> str:
    if preferred not in taken:
        return preferred
    candidate = f"{preferred}_module"
    number = 2
    while candidate in taken:
        candidate = f"{preferred}_module{number}"
        number += 1
    return candidate


def _list_assert(indent: str, head: str, items: Sequence[str]) -> list[str]:
    quoted = [f'"{item}"' for item in items]
    line = f"{indent}{head}[{', '.join(quoted)}]"
    if len(line) <= LINE_LENGTH:
        return [line]
    return [f"{indent}{head}[", *(f"{indent}    {q}," for q in quoted), f"{indent}]"]


def _signature_assert(indent: str, target: str, params: Sequence[str], inspect: str) -> list[str]:
    return _list_assert(
        indent, f"assert list({inspect}.signature({target}).parameters) == ", params
    )


@dataclass(frozen=True)
class _Refs:
    module: str
    inspect: str
    pytest: str


def _interface_lines(item: PublicName, refs: _Refs) -> list[str]:
    """The assertions about ``item`` as it is today; every test asserts at least one thing."""
    target = f"{refs.module}.{item.name}"
    pad = "    "
    lines: list[str] = []
    if item.kind == "function":
        if item.is_async:
            lines.append(f"{pad}assert {refs.inspect}.iscoroutinefunction({target})")
        else:
            lines.append(f"{pad}assert callable({target})")
        if item.params is not None:
            lines += _signature_assert(pad, target, item.params, refs.inspect)
    elif item.kind == "class":
        lines.append(f"{pad}assert {refs.inspect}.isclass({target})")
        if item.params is not None:
            lines += _signature_assert(pad, target, item.params, refs.inspect)
        for member in item.methods:
            lines += _member_lines(member, target, refs)
    elif item.kind == "constant" and item.value_type == "None":
        lines.append(f"{pad}assert {target} is None")
    elif item.kind == "constant" and item.value_type:
        lines.append(f"{pad}assert isinstance({target}, {item.value_type})")
    else:
        lines.append(f'{pad}assert hasattr({refs.module}, "{item.name}")')
    return lines


def _member_lines(member: PublicName, owner: str, refs: _Refs) -> list[str]:
    pad = "    "
    target = f"{owner}.{member.name}"
    if member.kind == "property":
        return [
            f'{pad}assert isinstance({refs.inspect}.getattr_static({owner}, "{member.name}"), '
            "property)"
        ]
    if member.kind in {"method", "classmethod", "staticmethod"} and member.params is not None:
        lines = _signature_assert(pad, target, member.params, refs.inspect)
        if member.is_async:
            lines.append(f"{pad}assert {refs.inspect}.iscoroutinefunction({target})")
        return lines
    return [f'{pad}assert hasattr({owner}, "{member.name}")']


def _wrap_call(prefix: str, argument: str, suffix: str = ")") -> list[str]:
    line = f"{prefix}{argument}{suffix}"
    if len(line) <= LINE_LENGTH:
        return [line]
    return [prefix, f"    {argument}", suffix]


def _test_blocks(item: PublicName, stem: str, refs: _Refs) -> list[str]:
    suffix = {"function": "signature", "class": "interface"}.get(item.kind, "exists")
    if item.kind == "constant" and item.value_type:
        suffix = "type"
    blocks = ["\n".join([f"def test_{stem}_{suffix}() -> None:", *_interface_lines(item, refs)])]
    if item.kind in _PLACEHOLDER_KINDS:
        label = f"{item.name}()" if item.kind == "function" else item.name
        decorator = _wrap_call(
            f"@{refs.pytest}.mark.skip(", f'reason="behaviour of {label} not specified yet"'
        )
        body = _wrap_call(f"    {refs.pytest}.fail(", f'"write a test of what {label} does"')
        blocks.append("\n".join([*decorator, f"def test_{stem}_behaviour() -> None:", *body]))
    return blocks


def _suffixes(item: PublicName) -> tuple[str, ...]:
    if item.kind in _PLACEHOLDER_KINDS:
        return ("signature" if item.kind == "function" else "interface", "behaviour")
    return ("type", "exists")


def _stem(item: PublicName, taken: set[str]) -> str:
    base = _snake(item.name)
    candidates = [base, f"{base}_{item.kind}"]
    number = 2
    while True:
        for candidate in candidates:
            if not any(f"test_{candidate}_{s}" in taken for s in _suffixes(item)):
                taken.update(f"test_{candidate}_{s}" for s in _suffixes(item))
                return candidate
        candidates = [f"{base}_{item.kind}{number}"]
        number += 1


def _module_import(import_name: str, alias: str) -> str:
    package, _, last = import_name.rpartition(".")
    if package:
        return f"from {package} import {last}" + ("" if alias == last else f" as {alias}")
    return f"import {import_name}" + ("" if alias == import_name else f" as {alias}")


def skeleton_tests(
    import_name: str, names: Sequence[PublicName], existing: str | None
) -> str | None:
    """The full new text of the test file for ``import_name``, or ``None`` if nothing is missing.

    Each public name gets one test asserting its interface as it stands (parameter names,
    methods, a constant's type) and, for functions and classes, a skipped placeholder for the
    behaviour. With ``existing``, only names its tests do not mention yet are added: the old
    text is kept line for line, imports the new tests need go after its imports, the tests at
    the end.
    """
    facts = _facts(existing) if existing is not None else None
    covered = _covered(names, facts) if facts is not None else set()
    missing = [n for n in dict((n.name, n) for n in names).values() if n.name not in covered]
    if not missing:
        return None

    bindings = set(facts.bindings) if facts else set()
    known = facts.imports if facts else {}
    new_imports: list[tuple[int, str]] = []  # (section, line): stdlib, third party, first party

    def reach(module: str, section: int, preferred: str) -> str:
        if module in known:
            return known[module]
        alias = _free_name(preferred, bindings)
        bindings.add(alias)
        new_imports.append((section, _module_import(module, alias)))
        return alias

    last = import_name.rsplit(".", 1)[-1]
    module_alias = reach(
        import_name, 2, f"{last}_module" if last in {"inspect", "pytest"} else last
    )
    # Decide the helper names before rendering, but import them only if the tests use them.
    inspect_ref = known.get("inspect") or _free_name("inspect", bindings)
    pytest_ref = known.get("pytest") or _free_name("pytest", bindings)
    refs = _Refs(module_alias, inspect_ref, pytest_ref)
    taken = set(bindings) | (set(facts.idents) if facts else set())
    blocks = [block for item in missing for block in _test_blocks(item, _stem(item, taken), refs)]
    text = "\n\n\n".join(blocks)
    if "inspect" not in known and re.search(rf"\b{re.escape(inspect_ref)}\.", text):
        new_imports.append(
            (0, "import inspect" + ("" if inspect_ref == "inspect" else f" as {inspect_ref}"))
        )
    if "pytest" not in known and re.search(rf"\b{re.escape(pytest_ref)}\.", text):
        new_imports.append(
            (1, "import pytest" + ("" if pytest_ref == "pytest" else f" as {pytest_ref}"))
        )
    new_imports.sort()

    if existing is None or facts is None:
        header = (
            f'"""Skeleton tests for ``{import_name}``, written by tierbot\'s template tier.\n\n'
            "Each ``*_signature``, ``*_interface``, ``*_type`` or ``*_exists`` test pins the\n"
            "interface as it is today; the skipped ``*_behaviour`` tests mark behaviour that\n"
            'still needs real tests.\n"""\n'
        )
        sections = [
            "\n".join(line for section, line in new_imports if section == number)
            for number in range(3)
        ]
        imports = "\n\n".join(s for s in sections if s)
        return f"{header}\n{imports}\n\n\n{text}\n"

    import_lines = [line for _, line in new_imports]
    lines = existing.rstrip("\n").split("\n")
    if import_lines and facts.parsed:
        at = facts.insert_after
        if facts.after_import:
            lines[at:at] = import_lines
        elif at > 0:
            lines[at:at] = ["", *import_lines]
        else:
            lines[0:0] = [*import_lines, ""]
    elif import_lines:
        blocks_prefix = "\n".join(import_lines)
        text = f"{blocks_prefix}\n\n\n{text}"
    return "\n".join(lines) + "\n\n\n" + text + "\n"


# --------------------------------------------------------------------------- tests generator


_NOT_TESTABLE = frozenset({"conftest.py", "setup.py", "noxfile.py", "__main__.py"})


def _is_test_or_script(path: str) -> bool:
    parts = path.split("/")
    base = parts[-1]
    return (
        base in _NOT_TESTABLE
        or base.startswith("test_")
        or base.endswith("_test.py")
        or any(p in {"tests", "test"} for p in parts[:-1])
    )


@dataclass
class _Named:
    found: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    ambiguous: list[tuple[str, list[str]]] = field(default_factory=list)


def _named_modules(text: str, repo: _Repo) -> _Named:
    python_files = [f for f in repo.files if f.endswith(".py")]
    mentions: list[tuple[int, str, str]] = []  # (position, kind, mention)
    for match in _PY_PATH.finditer(text):
        if ".." not in match.group(1).split("/"):
            mentions.append((match.start(1), "path", match.group(1)))
    for match in _BACKTICK_MODULE.finditer(text):
        mentions.append((match.start(1), "dotted", match.group(1)))
    for match in _NAMED_MODULE.finditer(text):
        index = 1 if match.group(1) else 2
        mentions.append((match.start(index), "dotted", match.group(index)))
    dotted: dict[str, str] | None = None
    named = _Named()
    for _, kind, mention in sorted(mentions):
        if kind == "path":
            if mention in repo.fileset:
                matches = [mention]
            else:
                matches = [f for f in python_files if f.endswith("/" + mention)]
        else:
            if dotted is None:
                dotted = {}
                for f in python_files:
                    dotted.setdefault(_module_name(f, repo.fileset), f)
            matches = [dotted[mention]] if mention in dotted else []
        if not matches:
            if kind == "path" and mention not in named.missing:
                named.missing.append(mention)
        elif len(matches) > 1:
            named.ambiguous.append((mention, matches))
        elif _is_test_or_script(matches[0]):
            if matches[0] not in named.excluded:
                named.excluded.append(matches[0])
        elif matches[0] not in named.found:
            named.found.append(matches[0])
    return named


def _pytest_sets_pythonpath(repo: _Repo) -> bool:
    for path in (
        "pytest.ini",
        ".pytest.ini",
        "pytest.toml",
        "pyproject.toml",
        "setup.cfg",
        "tox.ini",
    ):
        text = repo.read(path)
        if text and re.search(r"^\s*pythonpath\s*=", text, re.M):
            return True
    return False


_ROOT_CONFTEST = '''\
"""Make modules at the repository root importable from the tests.

pytest's default ``prepend`` import mode puts the directory of a ``conftest.py`` that
is not inside a package on ``sys.path``, so a plain ``pytest`` finds the root modules
just as ``python -m pytest`` does.
"""
'''


def _generate_tests(repo: _Repo, text: str) -> EditSet | Declined:
    named = _named_modules(text, repo)
    if named.ambiguous:
        mention, matches = named.ambiguous[0]
        return Declined(
            f"`{mention}` matches several files ({', '.join(matches)}); name the full path"
        )
    if not named.found:
        if named.excluded:
            return Declined(
                "the task names only test, setup or script files "
                f"({', '.join(named.excluded)}); name the module to test"
            )
        if named.missing:
            return Declined(
                f"none of the named modules exist in the repository: {', '.join(named.missing)}"
            )
        return Declined(
            "the task names no Python module to test; name one by path, e.g. src/pkg/module.py"
        )
    edits: dict[str, str] = {}
    owners: dict[str, str] = {}
    roots: set[str] = set()
    for path in named.found:
        source = repo.read(path)
        if source is None:
            return Declined(f"{path} is listed in the repository but could not be read")
        try:
            names = public_names(source)
        except SyntaxError as exc:
            return Declined(
                f"{path} has {_syntax_problem(exc)}; the template tier only reads valid Python"
            )
        if not names:
            return Declined(f"{path} defines nothing public to test")
        import_name = _module_name(path, repo.fileset)
        if not _is_dotted_identifier(import_name):
            return Declined(f"{path} cannot be imported: {import_name!r} is not a module name")
        test_path = _test_path(path, repo.fileset)
        if test_path in owners:
            return Declined(
                f"{owners[test_path]} and {path} would both get their tests in {test_path}; "
                "name them in separate tasks"
            )
        owners[test_path] = path
        existing = repo.read(test_path)
        if existing is not None:
            try:
                _parse(existing)
            except SyntaxError as exc:
                return Declined(
                    f"{test_path} has {_syntax_problem(exc)}; fix it before adding tests"
                )
        content = skeleton_tests(import_name, names, existing)
        if content is not None:
            edits[test_path] = content
            roots.add(_import_root(path, repo.fileset))
    if not edits:
        return Declined(
            "every public name already has a test in "
            + ", ".join(sorted(owners))
            + "; behaviour tests need a model tier"
        )
    test_dirs = {p.rsplit("/", 1)[0] for p in edits}
    if (
        "" in roots
        and not repo.exists("conftest.py")
        and not any(repo.exists(f"{d}/__init__.py") for d in test_dirs)
        and not _pytest_sets_pythonpath(repo)
    ):
        edits["conftest.py"] = _ROOT_CONFTEST
    return EditSet(tuple(FileEdit(path, edits[path]) for path in sorted(edits)))


# --------------------------------------------------------------------------- stub generator


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
# Decorators and calls a stub may carry: they run when the module is imported.
_ALLOWED_CALLS = frozenset(
    _DATACLASS
    | _IDENTITY
    | _WRAPPING
    | _PROPERTY
    | _CACHED_PROPERTY
    | {"staticmethod", "classmethod", "field", "dataclasses.field", "runtime_checkable"}
    | {"typing.runtime_checkable", "unique", "enum.unique", "total_ordering"}
    | {"functools.total_ordering"}
)
_UNSAFE_NODES = (
    ast.Lambda,
    ast.NamedExpr,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
    ast.Await,
    ast.Yield,
    ast.YieldFrom,
)
_HEADER_START = re.compile(r"(?:async\s+def|def|class)\s+([A-Za-z_]\w*)")
_SEPARATORS = (" - ", " — ", " – ", " -- ")
_PROSE_PREFIX = re.compile(r"^(\s*)(?:(?:[-*+]|\d+[.)])\s+)?")
_INLINE_CODE = re.compile(r"`([^`\n]+)`")
# Class-body lines a stub keeps: ``name: type [= value]`` fields and ``NAME = value`` members.
_FIELD = re.compile(r"^[A-Za-z_]\w*\s*(?::\s*\S.*|=\s*\S.*)$")
_CREATE = re.compile(
    r"\b(?:create|add|write|make|generate|scaffold|stub(?:\s+out)?|new)\b", re.IGNORECASE
)


def _closing(s: str, start: int) -> int:
    """Index of the bracket closing ``s[start]``; -1 if the text ends first."""
    depth, quote, i = 0, "", start
    while i < len(s):
        ch = s[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def _annotation_end(s: str, start: int) -> int:
    depth, quote, i = 0, "", start
    while i < len(s):
        ch = s[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif depth == 0:
            if ch in ":`#,;" or s.startswith(_SEPARATORS, i):
                return i
            if ch == "." and (i + 1 == len(s) or s[i + 1].isspace()):
                return i
        i += 1
    return len(s)


@dataclass(frozen=True)
class _Header:
    text: str  # ``def f(x: int) -> str`` or ``class Name(Base)``, without the colon
    rest: str  # what follows on the line: a description, a comment, a one-line body
    complete: bool  # False: the parameter list continues on the next line


def _split_header(s: str) -> _Header | None:
    match = _HEADER_START.match(s)
    if match is None:
        return None
    is_class = s.startswith("class")
    i = match.end()
    while i < len(s) and s[i] == " ":
        i += 1
    if i < len(s) and s[i] == "(":
        close = _closing(s, i)
        if close < 0:
            return _Header(s.rstrip(), "", False)
        i = close + 1
    elif not is_class:
        return None
    j = i
    while j < len(s) and s[j] == " ":
        j += 1
    if not is_class and s.startswith("->", j):
        i = _annotation_end(s, j + 2)
    rest = s[i:].strip()
    if is_class and rest and rest[0] not in ":`#-–—":
        return None  # prose such as "class names are CamelCase"
    return _Header(s[:i].rstrip(), rest, True)


def _sentence(text: str) -> str:
    """A docstring sentence from free text: one line, capitalised, full stop, safe to quote."""
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    text = re.sub(r"(?<!`)`([^`]+)`(?!`)", r"``\1``", " ".join(text.split()))
    text = text.strip(" -–—:;,")
    if len(text) > 200:
        text = text[:200].rsplit(" ", 1)[0].rstrip(",;:") + " ..."
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


def _description(rest: str, *, code: bool = False) -> str:
    """A docstring from what follows a signature; in code only a ``# comment`` counts."""
    if code:
        rest = rest.split("#", 1)[1] if "#" in rest else ""
    rest = rest.strip()
    rest = re.sub(r"^[`:\s]+", "", rest)
    rest = re.sub(r"^(?:\.\.\.|pass)\b\s*", "", rest)
    rest = re.sub(r"^[#\s\-–—:]+", "", rest)
    rest = re.sub(r"^(?:and|or|with|,)\s+", "", rest)
    if len(rest.split()) < 2:
        return ""
    return _sentence(rest)


def _name_sentence(name: str, owner: str | None = None) -> str:
    if name == "__init__" and owner:
        return f"Create a {_words(owner).lower()}."
    if name.startswith("__") and name.endswith("__"):
        return f"Implement ``{name}``."
    return _sentence(_words(name))


def _words(name: str) -> str:
    words = [w for w in re.split(r"_+|(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", name) if w]
    out = [w if w.isupper() and len(w) > 1 else w.lower() for w in words]
    if out:
        out[0] = out[0][0].upper() + out[0][1:]
    return " ".join(out) or name


@dataclass
class _Sig:
    node: FunctionNode | ast.ClassDef
    indent: int
    description: str
    methods: list[_Sig] = field(default_factory=list)
    fields: list[ast.AnnAssign | ast.Assign] = field(default_factory=list)


@dataclass(frozen=True)
class _Candidate:
    indent: int
    decorators: tuple[str, ...]
    header: str
    description: str
    prose: bool
    is_field: bool = False


class _StubError(Exception):
    """The task's signatures cannot be turned into a stub; the message is the decline reason."""


def _class_member(line: str) -> bool:
    """``line`` is a ``name: type [= value]`` field or a ``NAME = value`` class attribute."""
    if not _FIELD.match(line):
        return False
    try:
        body = _parse(line).body
    except SyntaxError:
        return False
    return len(body) == 1 and (
        isinstance(body[0], ast.AnnAssign)
        or (
            isinstance(body[0], ast.Assign)
            and len(body[0].targets) == 1
            and isinstance(body[0].targets[0], ast.Name)
        )
    )


def _comment(line: str) -> str:
    """The docstring sentence from a trailing ``# comment`` of one line of code."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(line).readline))
    except (tokenize.TokenError, SyntaxError):
        return ""
    comments = [t.string.lstrip("#") for t in tokens if t.type == tokenize.COMMENT]
    return _description(comments[0]) if comments else ""


def _fence_candidates(lines: Sequence[str]) -> list[_Candidate]:
    found: list[_Candidate] = []
    decorators: list[str] = []
    doc_pending = False  # the line after a header may be its docstring
    body_indent: int | None = None  # lines deeper than this belong to the last def's body
    class_indent: int | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        i += 1
        if not stripped:
            continue
        if doc_pending and indent > found[-1].indent and stripped.startswith(('"""', "'''")):
            quote, doc = stripped[:3], stripped[3:]
            while quote not in doc and i < len(lines):
                doc += " " + lines[i].strip()
                i += 1
            last = found[-1]
            if not last.description:
                found[-1] = _Candidate(
                    last.indent, last.decorators, last.header, _sentence(doc.split(quote)[0]), False
                )
            doc_pending = False
            continue
        doc_pending = False
        if body_indent is not None and indent > body_indent:
            continue
        body_indent = None
        if class_indent is not None and indent <= class_indent:
            class_indent = None
        if stripped.startswith("@"):
            decorators.append(stripped)
            continue
        header = _split_header(stripped)
        if header is not None:
            while not header.complete and i < len(lines):
                header = _split_header(header.text + " " + lines[i].strip()) or header
                i += 1
            if not header.complete:
                raise _StubError(f"the signature {_quote(stripped)} is never closed")
            found.append(
                _Candidate(
                    indent,
                    tuple(decorators),
                    header.text,
                    _description(header.rest, code=True),
                    False,
                )
            )
            decorators = []
            doc_pending = True
            if header.text.startswith("class"):
                class_indent = indent
            else:
                body_indent = indent
            continue
        decorators = []
        if class_indent is not None and indent > class_indent and _class_member(stripped):
            found.append(_Candidate(indent, (), stripped, _comment(stripped), False, is_field=True))
    return found


def _prose_candidates(lines: Sequence[str]) -> list[_Candidate]:
    found: list[_Candidate] = []
    for line in lines:
        prefix = _PROSE_PREFIX.match(line)
        indent = len(prefix.group(1)) if prefix else 0
        start = prefix.end() if prefix else 0
        header = _split_header(line[start:])
        if header is not None and header.complete:
            found.append(_Candidate(indent, (), header.text, _description(header.rest), True))
            continue
        spans = [m for m in _INLINE_CODE.finditer(line) if _HEADER_START.match(m.group(1))]
        for number, span in enumerate(spans):
            header = _split_header(span.group(1).strip())
            if header is None or not header.complete:
                continue
            end = spans[number + 1].start() if number + 1 < len(spans) else len(line)
            rest = header.rest + " " + line[span.end() : end]
            found.append(_Candidate(indent, (), header.text, _description(rest), True))
    return found


def _check_runtime_expression(node: ast.AST, where: str) -> None:
    for sub in ast.walk(node):
        if isinstance(sub, _UNSAFE_NODES):
            raise _StubError(
                f"{where} uses {_quote(ast.unparse(sub))}; stubs copy only names, literals and "
                "annotations, nothing that computes at import time"
            )
        if isinstance(sub, ast.Call) and _dotted(sub.func) not in _ALLOWED_CALLS:
            raise _StubError(
                f"{where} calls {_quote(ast.unparse(sub.func), quoted=False)}() when the module "
                "is imported; stubs "
                "copy only names, literals and annotations"
            )


def _runtime_parts(node: FunctionNode | ast.ClassDef) -> list[ast.expr]:
    """The expressions Python evaluates when the definition runs (annotations are lazy)."""
    parts: list[ast.expr] = list(node.decorator_list)
    if isinstance(node, ast.ClassDef):
        parts += node.bases
        parts += [k.value for k in node.keywords]
    else:
        parts += [d for d in node.args.defaults]
        parts += [d for d in node.args.kw_defaults if d is not None]
    return parts


def _parse_candidate(
    candidate: _Candidate,
) -> FunctionNode | ast.ClassDef | ast.AnnAssign | ast.Assign:
    source = "\n".join(
        [*candidate.decorators, candidate.header + ("" if candidate.is_field else ":")]
    )
    if not candidate.is_field:
        source += "\n    pass"
    try:
        module = _parse(source)
        compile(module, "<signature>", "exec", dont_inherit=True)
    except SyntaxError as exc:
        raise _StubError(
            f"the signature {_quote(candidate.header)} does not parse: {exc.msg}"
        ) from None
    node = module.body[0] if len(module.body) == 1 else None
    if not isinstance(node, FunctionNode | ast.ClassDef | ast.AnnAssign | ast.Assign):
        raise _StubError(f"{_quote(candidate.header)} is not a signature")
    if isinstance(node, ast.Assign) and not (
        len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
    ):
        raise _StubError(f"{_quote(candidate.header)} is not a class attribute")
    if isinstance(node, ast.AnnAssign | ast.Assign):
        if node.value is not None:
            _check_runtime_expression(node.value, f"the field {_quote(candidate.header)}")
        return node
    for part in _runtime_parts(node):
        _check_runtime_expression(part, f"the signature of {node.name}")
    return node


def _first_param(node: FunctionNode) -> str | None:
    positional = (*node.args.posonlyargs, *node.args.args)
    return positional[0].arg if positional else None


def _assemble(candidates: Sequence[_Candidate]) -> list[_Sig]:
    items: list[_Sig] = []
    current: _Sig | None = None
    for candidate in candidates:
        node = _parse_candidate(candidate)
        if isinstance(node, ast.AnnAssign | ast.Assign):
            if current is not None and candidate.indent > current.indent:
                current.fields.append(node)
            continue
        sig = _Sig(node, candidate.indent, candidate.description)
        if isinstance(node, ast.ClassDef):
            if current is not None and candidate.indent > current.indent:
                raise _StubError(
                    f"{node.name} is nested in {current.node.name}; the stub generator writes "
                    "only top-level classes"
                )
            current = sig
            items.append(sig)
            continue
        is_method = current is not None and (
            candidate.indent > current.indent
            or (candidate.prose and _first_param(node) in {"self", "cls"})
        )
        if current is not None and is_method:
            current.methods.append(sig)
        else:
            current = None
            items.append(sig)
    for scope, owner in [(items, "the module"), *((i.methods, i.node.name) for i in items)]:
        seen: set[str] = set()
        for sig in scope:
            if sig.node.name in seen:
                raise _StubError(f"{sig.node.name} is declared twice in {owner}")
            seen.add(sig.node.name)
    return items


def _stub_signatures(text: str) -> list[_Sig]:
    blocks = _blocks(text)
    fenced = [c for b in blocks if b.fenced for c in _fence_candidates(b.lines)]
    if any(not c.is_field for c in fenced):
        # Code fences are the precise form; prose mentions of the same names would only repeat.
        return _assemble(fenced)
    return _assemble([c for b in blocks if not b.fenced for c in _prose_candidates(b.lines)])


def _stub_target(text: str, repo: _Repo) -> str:
    prose = "\n".join(line for b in _blocks(text) if not b.fenced for line in b.lines)
    mentions = _path_mentions(prose) or _path_mentions(text)
    if not mentions:
        raise _StubError(
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
            raise _StubError(
                f"several new module paths are named ({', '.join(new)}); "
                "name one target per stub task"
            )
        target = new[0] if new else mentions[0]
    stem = target.rsplit("/", 1)[-1].removesuffix(".py")
    if not stem.isidentifier() or keyword.iskeyword(stem):
        raise _StubError(f"{target} is not a valid Python module name")
    if repo.exists(target):
        raise _StubError(f"{target} already exists; the stub generator only creates new modules")
    return target


def _module_summary(text: str, target: str, import_name: str) -> str:
    for block in _blocks(text):
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
                return _sentence(rest)
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


def _def_lines(sig: _Sig, indent: str, owner: str | None) -> list[str]:
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


def _class_lines(sig: _Sig) -> list[str]:
    node = sig.node
    assert isinstance(node, ast.ClassDef)
    lines = [f"@{_code(d)}" for d in node.decorator_list]
    bases = [_code(b) for b in node.bases]
    bases += [
        f"{k.arg}={_code(k.value)}" if k.arg else f"**{_code(k.value)}" for k in node.keywords
    ]
    lines.append(f"class {node.name}({', '.join(bases)}):" if bases else f"class {node.name}:")
    lines += _docstring(sig.description or _sentence(_words(node.name)), "    ")
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


def _all_nodes(items: Sequence[_Sig]) -> Iterator[ast.AST]:
    for item in items:
        yield item.node
        yield from item.fields
        for method in item.methods:
            yield method.node


def _stub_imports(items: Sequence[_Sig]) -> list[str]:
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


def _runtime_unknowns(items: Sequence[_Sig]) -> list[tuple[str, str]]:
    """(definition, name) pairs where import-time code would hit an undefined name."""
    available = set(_BUILTIN_NAMES) | set(_KNOWN_IMPORTS) | set(_KNOWN_MODULES)
    problems: list[tuple[str, str]] = []
    for item in items:
        parts = _runtime_parts(item.node)
        parts += [f.value for f in item.fields if f.value is not None]
        for method in item.methods:
            parts += _runtime_parts(method.node)
        for part in parts:
            for sub in ast.walk(part):
                if isinstance(sub, ast.Name) and sub.id not in available:
                    problems.append((item.node.name, sub.id))
        available.add(item.node.name)
    return problems


def _new_package_inits(target: str, repo: _Repo) -> list[FileEdit]:
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
                FileEdit(init, f'"""{_sentence(_words(parts[depth - 1]) + " package")}"""\n')
            )
    return edits


def _generate_stub(repo: _Repo, text: str) -> EditSet | Declined:
    try:
        target = _stub_target(text, repo)
        items = _stub_signatures(text)
    except _StubError as exc:
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
    import_name = _module_name(target, repo.fileset | {target})
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


# --------------------------------------------------------------------------- config generator


_EDITORCONFIG = """\
# https://editorconfig.org
root = true

[*]
charset = utf-8
end_of_line = lf
insert_final_newline = true
trim_trailing_whitespace = true
indent_style = space
indent_size = 4

[*.{json,toml,yaml,yml}]
indent_size = 2

[*.md]
trim_trailing_whitespace = false

[Makefile]
indent_style = tab
"""

_PRE_COMMIT = f"""\
# https://pre-commit.com: `pre-commit install` once, then the hooks run on every commit.
repos:
  - repo: https://github.com/astral-sh/ruff-pre-commit
    rev: {RUFF_PRE_COMMIT_REV}
    hooks:
      - id: ruff-check
        args: [--fix]
      - id: ruff-format
"""


def _pytest_config_location(repo: _Repo) -> str | None:
    for path in ("pytest.ini", ".pytest.ini", "pytest.toml", ".pytest.toml"):
        if repo.exists(path):
            return path
    pyproject = repo.read("pyproject.toml")
    if pyproject is not None:
        try:
            tool = tomllib.loads(pyproject).get("tool", {})
            if isinstance(tool, dict) and "pytest" in tool:
                return "pyproject.toml"
        except tomllib.TOMLDecodeError:
            if re.search(r"^\[tool\.pytest[\].]", pyproject, re.M):
                return "pyproject.toml"
    for path, section in (("setup.cfg", "tool:pytest"), ("tox.ini", "pytest")):
        text = repo.read(path)
        if text is not None and re.search(rf"^\[{re.escape(section)}\]", text, re.M):
            return path
    return None


def _pytest_ini(repo: _Repo) -> str:
    lines = [
        "# https://docs.pytest.org/en/stable/reference/customize.html",
        "[pytest]",
        f"testpaths = {_test_dir(repo.files)}",
    ]
    if _uses_src_layout(repo.files):
        # Tests import the package from src/ without installing it first.
        lines.append("pythonpath = src")
    lines.append("addopts = -ra")
    return "\n".join(lines) + "\n"


def _install_commands(repo: _Repo) -> list[str]:
    commands = ["python -m pip install --upgrade pip"]
    for requirements in ("requirements.txt", "requirements-dev.txt", "requirements-test.txt"):
        if repo.exists(requirements):
            commands.append(f"python -m pip install -r {requirements}")
    if repo.exists("pyproject.toml") or repo.exists("setup.py") or repo.exists("setup.cfg"):
        extra = ""
        try:
            project = tomllib.loads(repo.read("pyproject.toml") or "").get("project", {})
            optional = project.get("optional-dependencies", {}) if isinstance(project, dict) else {}
            for name in ("test", "tests", "testing", "dev"):
                if isinstance(optional, dict) and name in optional:
                    extra = f"[{name}]"
                    break
        except tomllib.TOMLDecodeError:
            pass
        commands.append(
            f'python -m pip install -e ".{extra}"' if extra else "python -m pip install -e ."
        )
    commands.append("python -m pip install pytest")
    return commands


def _ci_workflow(repo: _Repo) -> str:
    versions = ", ".join(f'"{v}"' for v in CI_PYTHON_VERSIONS)
    install = "\n".join(f"          {c}" for c in _install_commands(repo))
    return f"""\
name: CI

on: [push, pull_request]

permissions:
  contents: read

jobs:
  test:
    runs-on: ubuntu-latest
    strategy:
      fail-fast: false
      matrix:
        python-version: [{versions}]
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: ${{{{ matrix.python-version }}}}
      - name: Install
        run: |
{install}
      - name: Test
        run: python -m pytest -q
"""


@dataclass(frozen=True)
class _ConfigKind:
    path: str
    pattern: re.Pattern[str]
    render: Callable[[_Repo], str]


_CONFIG_KINDS = (
    _ConfigKind(
        "pytest.ini",
        re.compile(
            r"pytest\.ini|\bpytest[\s-]+(?:config(?:uration)?|settings|options|ini)\b"
            r"|\bconfigure\s+pytest\b|\b(?:config(?:uration)?|settings)\s+(?:file\s+)?for\s+pytest\b",
            re.IGNORECASE,
        ),
        _pytest_ini,
    ),
    _ConfigKind(
        ".github/workflows/ci.yml",
        re.compile(
            r"\bci\.ya?ml\b|\bgithub\s+actions?\b|\bworkflow\b|\bcontinuous\s+integration\b"
            r"|(?-i:\bCI\b)",  # the acronym only in capitals: "ci" is too common a fragment
            re.IGNORECASE,
        ),
        _ci_workflow,
    ),
    _ConfigKind(
        ".editorconfig", re.compile(r"editor\s*config", re.IGNORECASE), lambda _: _EDITORCONFIG
    ),
    _ConfigKind(
        ".pre-commit-config.yaml",
        re.compile(r"\bpre-?commit\b", re.IGNORECASE),
        lambda _: _PRE_COMMIT,
    ),
)


def _generate_config(repo: _Repo, text: str) -> EditSet | Declined:
    kinds = [k for k in _CONFIG_KINDS if k.pattern.search(text)]
    if not kinds:
        known = ", ".join(k.path for k in _CONFIG_KINDS)
        return Declined(f"no config file the template tier knows is named in the task ({known})")
    edits: list[FileEdit] = []
    for kind in kinds:
        if kind.path == "pytest.ini":
            location = _pytest_config_location(repo)
            if location is not None:
                return Declined(f"pytest is already configured in {location}")
        if repo.exists(kind.path):
            return Declined(f"{kind.path} already exists; the template tier only creates it")
        edits.append(FileEdit(kind.path, kind.render(repo)))
    return EditSet(tuple(edits))


_GENERATORS: dict[str, Callable[[_Repo, str], EditSet | Declined]] = {
    "tests": _generate_tests,
    "stub": _generate_stub,
    "config": _generate_config,
}
