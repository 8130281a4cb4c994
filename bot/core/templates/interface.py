"""Assertions about a public name as the source shows it: signatures, bases, fields, values."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.suite.modules import resolve_relative
from bot.core.templates.model import PublicName
from bot.core.templates.render import string
from bot.core.templates.request import LINE_LENGTH

PAD = "    "


@dataclass(frozen=True)
class Refs:
    """How the generated tests reach the module and their helpers (names free in the file)."""

    module: str  # the name bound to the module under test
    import_name: str  # its dotted name
    is_package: bool  # the module is a package's __init__.py
    inspect: str = "inspect"
    pytest: str = "pytest"
    importlib: str = "importlib"
    dataclasses: str = "dataclasses"
    typing: str = "typing"


def list_assert(indent: str, head: str, items: Sequence[str], *, quote: bool = True) -> list[str]:
    rendered = [string(item) if quote else item for item in items]
    line = f"{indent}{head}[{', '.join(rendered)}]"
    if len(line) <= LINE_LENGTH:
        return [line]
    return [f"{indent}{head}[", *(f"{indent}    {r}," for r in rendered), f"{indent}]"]


def _signature(target: str, params: Sequence[str], refs: Refs) -> list[str]:
    return list_assert(
        PAD, f"assert list({refs.inspect}.signature({target}).parameters) == ", params
    )


def suffix(item: PublicName) -> str:
    """The name of the interface test: ``test_<name>_<suffix>``."""
    if item.kind == "function":
        return "signature"
    if item.kind == "class":
        return "interface"
    if item.kind == "constant":
        return "value" if item.literal is not None or item.literal_args else "type"
    return "is_reexported" if item.origin is not None else "exists"


def is_pinned(item: PublicName, refs: Refs) -> bool:
    """Whether the source says enough about ``item`` for an interface test that asserts."""
    if item.kind == "constant":
        return item.literal is not None or item.value_type is not None or bool(item.literal_args)
    if item.kind == "attribute":
        return item.origin is not None and bool(_origin(item, refs))
    return True


def _origin(item: PublicName, refs: Refs) -> str:
    assert item.origin is not None
    level, module, name = item.origin
    absolute = resolve_relative(refs.import_name, level, module, is_package=refs.is_package)
    if not absolute:
        return ""
    reached = f"{refs.importlib}.import_module({string(absolute)})"
    return f"{reached}.{name}" if name else reached


def interface_lines(item: PublicName, refs: Refs) -> list[str]:
    """The assertions about ``item`` as it is today; call only when :func:`is_pinned`."""
    target = f"{refs.module}.{item.name}"
    if item.kind == "function":
        check = f"{refs.inspect}.iscoroutinefunction" if item.is_async else "callable"
        lines = [f"{PAD}assert {check}({target})"]
        if item.params is not None:
            lines += _signature(target, item.params, refs)
        return lines
    if item.kind == "class":
        return _class_lines(item, target, refs)
    if item.kind == "constant" and item.literal_args:
        args = ", ".join(item.literal_args) + ("," if len(item.literal_args) == 1 else "")
        return [f"{PAD}assert {refs.typing}.get_args({target}) == ({args})"]
    if item.kind == "constant":
        if item.literal in {"None", "True", "False"}:
            return [f"{PAD}assert {target} is {item.literal}"]
        lines = []
        if item.value_type and item.value_type != "None":
            lines.append(f"{PAD}assert isinstance({target}, {item.value_type})")
        if item.literal is not None:
            lines.append(f"{PAD}assert {target} == {item.literal}")
        return lines
    return [f"{PAD}assert {target} is {_origin(item, refs)}"]


def _class_lines(item: PublicName, target: str, refs: Refs) -> list[str]:
    lines = [f"{PAD}assert {refs.inspect}.isclass({target})"]
    for base, bound in item.bases:
        lines.append(
            f"{PAD}assert issubclass({target}, {refs.module + '.' if bound else ''}{base})"
        )
    if item.params is not None:
        lines += _signature(target, item.params, refs)
    if item.fields is not None and item.namedtuple:
        lines += list_assert(PAD, f"assert list({target}._fields) == ", item.fields)
    elif item.fields is not None:
        head = f"assert [f.name for f in {refs.dataclasses}.fields({target})] == "
        lines += list_assert(PAD, head, item.fields)
    if item.members is not None:
        lines += list_assert(PAD, f"assert list({target}.__members__) == ", item.members)
        if item.values is not None:
            head = f"assert [m.value for m in {target}.__members__.values()] == "
            lines += list_assert(PAD, head, item.values, quote=False)
    for member in item.methods:
        lines += _member_lines(member, target, refs)
    return lines


def _member_lines(member: PublicName, owner: str, refs: Refs) -> list[str]:
    target = f"{owner}.{member.name}"
    if member.kind == "property":
        return [
            f"{PAD}assert isinstance({refs.inspect}.getattr_static({owner}, "
            f'"{member.name}"), property)'
        ]
    if member.kind in {"method", "classmethod", "staticmethod"} and member.params is not None:
        lines = _signature(target, member.params, refs)
        if member.is_async:
            lines.append(f"{PAD}assert {refs.inspect}.iscoroutinefunction({target})")
        return lines
    # The class body defines it; what it becomes (an unknown decorator's result) is not known.
    return [f'{PAD}assert "{member.name}" in vars({owner})']
