"""Classes read with ``ast``: constructor, methods, bases, dataclass fields, enum members."""

from __future__ import annotations

import ast
import builtins

from bot.core.templates.model import (
    DATACLASS,
    IDENTITY,
    NAMEDTUPLE,
    PLAIN_BASES,
    FunctionNode,
    PublicName,
    dotted,
    is_public,
    method_name,
    param_names,
)
from bot.core.templates.module_facts import ModuleFacts, literal_source

_BUILTIN_NAMES = frozenset(dir(builtins))


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
        if name in PLAIN_BASES:
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
    if [dotted(b) for b in node.bases] in ([n] for n in NAMEDTUPLE):
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


_ENUMS = frozenset(
    f"{prefix}{name}"
    for prefix in ("", "enum.")
    for name in ("Enum", "IntEnum", "StrEnum", "Flag", "IntFlag", "ReprEnum")
)
# Bases whose subclass checks do not work, or that are not classes at run time.
_SPECIAL_BASES = frozenset(
    f"{prefix}{name}"
    for prefix in ("", "typing.", "typing_extensions.")
    for name in ("Protocol", "Generic", "NamedTuple", "TypedDict", "Any")
) | {"object"}
_AUTO = frozenset({"auto", "enum.auto"})


def _dataclass_fields(node: ast.ClassDef) -> tuple[str, ...]:
    """What ``dataclasses.fields`` lists: annotated names, less ClassVar, InitVar, KW_ONLY."""
    names: list[str] = []
    for item in node.body:
        if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
            head = _annotation_head(item.annotation).rsplit(".", 1)[-1]
            if head not in {"ClassVar", "InitVar", "KW_ONLY"}:
                names.append(item.target.id)
    return tuple(names)


def _is_protocol(name: str, classes: dict[str, ast.ClassDef], depth: int = 0) -> bool:
    node = classes.get(name)
    if node is None or depth > 20:
        return False
    for base in node.bases:
        head = dotted(base, subscripts=True)
        if head.rsplit(".", 1)[-1] == "Protocol" or _is_protocol(head, classes, depth + 1):
            return True
    return False


def _bases(
    node: ast.ClassDef, classes: dict[str, ast.ClassDef], facts: ModuleFacts
) -> tuple[tuple[str, bool], ...]:
    """Bases a test can check with ``issubclass``: (dotted name, bound in the module)."""
    found: list[tuple[str, bool]] = []
    for base in node.bases:
        name = dotted(base)
        root = name.split(".")[0]
        if not name or name in _SPECIAL_BASES or _is_protocol(name, classes):
            continue
        if root in facts.globals:
            if root in facts.once:
                found.append((name, True))
        elif root in _BUILTIN_NAMES and isinstance(getattr(builtins, root), type):
            found.append((name, False))
    return tuple(found)


def _enum(node: ast.ClassDef) -> tuple[tuple[str, ...], tuple[str, ...] | None] | None:
    """An enum's member names in definition order and, when all are literals, their values."""
    if not any(dotted(b) in _ENUMS for b in node.bases):
        return None
    names: list[str] = []
    values: list[str] | None = []
    for item in node.body:
        if isinstance(item, FunctionNode) and item.name in {"__new__", "__init__"}:
            values = None
        if isinstance(item, ast.Assign) and len(item.targets) == 1:
            target, value = item.targets[0], item.value
        elif isinstance(item, ast.AnnAssign) and item.value is not None:
            target, value = item.target, item.value
        else:
            continue
        if not isinstance(target, ast.Name) or target.id.startswith("_"):
            return None  # private and special names: membership depends on the Python version
        literal = literal_source(value)
        if literal is None and not (isinstance(value, ast.Call) and dotted(value.func) in _AUTO):
            return None  # a descriptor, a nested call: not sure it is a member
        names.append(target.id)
        if values is not None:
            values = [*values, literal] if literal is not None else None
    if not names:
        return None
    mixins = [b for b in node.bases if dotted(b) not in _ENUMS]
    return tuple(names), tuple(values) if values is not None and not mixins else None


def class_name(
    node: ast.ClassDef, classes: dict[str, ast.ClassDef], facts: ModuleFacts
) -> PublicName:
    members: dict[str, PublicName] = {}
    for item in node.body:
        if isinstance(item, FunctionNode) and is_public(item.name):
            method = method_name(item)
            if method is not None:
                members[item.name] = method
        elif isinstance(item, ast.ClassDef) and is_public(item.name):
            members[item.name] = PublicName(item.name, "attribute")
        elif isinstance(item, ast.Assign | ast.AnnAssign) and getattr(item, "value", None):
            # A later assignment rebinds a method name; the method is then no longer there.
            targets = item.targets if isinstance(item, ast.Assign) else [item.target]
            for target in targets:
                if isinstance(target, ast.Name) and target.id in members:
                    members[target.id] = PublicName(target.id, "attribute")
    pinned = node.name in facts.once
    if not pinned:
        # Rebound or changed after its definition (`Cls.method = ...`): only names are sure.
        members = {name: PublicName(name, "attribute") for name in members}
    decorators = [dotted(d) for d in node.decorator_list]
    fields: tuple[str, ...] | None = None
    namedtuple = [dotted(b) for b in node.bases] in ([n] for n in NAMEDTUPLE)
    if pinned and namedtuple and not decorators:
        fields = _field_names(node, dataclass_fields=False)
    elif pinned and not node.bases and decorators and all(d in DATACLASS for d in decorators):
        fields = _dataclass_fields(node)
    enum = _enum(node) if pinned and not decorators else None
    if enum is not None:
        members = {}  # an enum's members are its interface; methods on it are rare and odd
    return PublicName(
        node.name,
        "class",
        params=_constructor_params(node, classes) if pinned else None,
        methods=tuple(members.values()),
        bases=_bases(node, classes, facts) if pinned else (),
        fields=fields,
        namedtuple=namedtuple,
        members=enum[0] if enum else None,
        values=enum[1] if enum else None,
    )
