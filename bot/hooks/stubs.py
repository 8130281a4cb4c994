"""Marked stubs: the bodies a developer asked tierbot to fill, found, and the fills spliced in.

A stub is a function or method whose body (after an optional docstring) is ``...`` or
``pass``, with the marker comment (``# tierbot: stub`` unless the config names another) alone
on the line right above its ``def`` or its first decorator. Text after the marker is a hint:
``# tierbot: stub - parse the header line`` becomes the docstring, and the model's brief.

The template tier (``bot.hooks.stub_fills``) writes only what the code already determines:

- ``__init__`` of a class without a real base class stores every parameter on ``self``
  (as ``self._name`` where the class has a property or method called ``name``);
- a property getter or setter ``x`` of a class that assigns ``self._x`` reads or writes it.

Those are real code, so the marker goes. Every other stub gets an honest placeholder: a
docstring from the hint or the name, then ``raise NotImplementedError``, so a call fails loudly
instead of returning ``None``. The marker stays on placeholders: a model tier enabled later
(``hooks.model_tier``) still finds them and writes the body.

Everything here is pure: text and AST in, lines out.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from bot.hooks.stub_fills import FunctionNode, implementation, name_sentence, sentence


@dataclass(frozen=True)
class Stub:
    """One marked stub in one file; line numbers are 1-based."""

    qualname: str  # "Cart.total"
    name: str
    def_line: int
    marker_line: int
    hint: str  # text after the marker, "" if none
    start: int  # first line the new body replaces
    end: int  # last line it replaces (inclusive)
    prefix: str | None  # a one-line def: the header kept on ``start``; None: whole lines go
    indent: str  # indentation of the body lines
    has_docstring: bool
    placeholder: bool  # the body is already ``raise NotImplementedError``
    implementation: tuple[str, ...] | None  # the template tier's real body, if it has one
    summary: str  # the docstring sentence a placeholder gets
    header: str  # decorators and signature as written, for messages and prompts


@dataclass(frozen=True)
class Fill:
    """New body lines (relative indentation only) for a stub, and who wrote them."""

    stub: Stub
    body: tuple[str, ...]
    remove_marker: bool
    tier: str = "template"
    note: str = ""  # what was written, for the hook's listing


def marker_hint(line: str, marker: str) -> str | None:
    """The hint after ``marker`` if ``line`` is the marker comment, else ``None``."""
    text = line.strip()
    if not text.startswith(marker):
        return None
    rest = text[len(marker) :]
    if rest and (rest[0].isalnum() or rest[0] == "_"):
        return None  # "# tierbot: stubborn" is not the marker
    return rest.strip(" \t:-–—")


def body_kind(body: Sequence[ast.stmt]) -> str | None:
    """``"stub"`` (``...``/``pass``), ``"placeholder"`` (raise NotImplementedError) or None."""
    statements = list(body)
    if statements and _is_docstring(statements[0]):
        statements = statements[1:]
    if len(statements) != 1:
        return None
    only = statements[0]
    if isinstance(only, ast.Pass):
        return "stub"
    if (
        isinstance(only, ast.Expr)
        and isinstance(only.value, ast.Constant)
        and only.value.value is Ellipsis
    ):
        return "stub"
    if isinstance(only, ast.Raise) and only.exc is not None:
        target = only.exc.func if isinstance(only.exc, ast.Call) else only.exc
        if isinstance(target, ast.Name) and target.id == "NotImplementedError":
            return "placeholder"
    return None


def _is_docstring(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def _walk(
    body: Sequence[ast.stmt], prefix: str, owner: ast.ClassDef | None
) -> Iterator[tuple[FunctionNode, str, ast.ClassDef | None]]:
    for node in body:
        if isinstance(node, FunctionNode):
            yield node, f"{prefix}{node.name}", owner
            yield from _walk(node.body, f"{prefix}{node.name}.", None)
        elif isinstance(node, ast.ClassDef):
            yield from _walk(node.body, f"{prefix}{node.name}.", node)
        else:
            # Definitions under if/try/with/for blocks (TYPE_CHECKING, version checks, ...).
            for name in ("body", "orelse", "finalbody", "handlers"):
                children = getattr(node, name, None)
                if isinstance(children, list):
                    inner = [c for c in children if isinstance(c, ast.stmt)]
                    for handler in children:
                        if isinstance(handler, ast.ExceptHandler):
                            inner.extend(handler.body)
                    yield from _walk(inner, prefix, owner)


def find_stubs(source: str, tree: ast.Module, marker: str) -> list[Stub]:
    """Every marked stub of a module, in source order; ``source`` uses ``\\n`` newlines."""
    if marker not in source:
        return []
    lines = source.split("\n")
    found: list[tuple[FunctionNode, str, ast.ClassDef | None, str, int]] = []
    for node, qualname, owner in _walk(tree.body, "", None):
        top = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        if top < 2:
            continue
        hint = marker_hint(lines[top - 2], marker)
        if hint is None or body_kind(node.body) is None:
            continue
        found.append((node, qualname, owner, hint, top - 1))
    stubs: list[Stub] = []
    for node, qualname, owner, hint, marker_line in found:
        stubs.append(_stub(node, qualname, owner, hint, marker_line, lines, found))
    return stubs


def _stub(
    node: FunctionNode,
    qualname: str,
    owner: ast.ClassDef | None,
    hint: str,
    marker_line: int,
    lines: list[str],
    found: Sequence[tuple[FunctionNode, str, ast.ClassDef | None, str, int]],
) -> Stub:
    statements = node.body
    has_docstring = _is_docstring(statements[0]) and len(statements) > 1
    target = statements[-1]
    def_indent = re.match(r"[ \t]*", lines[node.lineno - 1])
    assert def_indent is not None
    unit = "\t" if "\t" in def_indent.group(0) else "    "
    line = lines[target.lineno - 1]
    before = line[: target.col_offset]
    if before.strip():
        prefix: str | None = before.rstrip().rstrip(";").rstrip()
        indent = def_indent.group(0) + unit
    else:
        prefix = None
        indent = before
    kind = body_kind(statements)
    top = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    header_end = statements[0].lineno - 1 if statements[0].lineno > node.lineno else node.lineno
    header = "\n".join(lines[top - 1 : header_end]).strip("\n")
    if prefix is not None and statements[0].lineno == node.lineno:
        header = lines[node.lineno - 1][: statements[0].col_offset].rstrip()
        header = "\n".join([*lines[top - 1 : node.lineno - 1], header])
    return Stub(
        qualname=qualname,
        name=node.name,
        def_line=node.lineno,
        marker_line=marker_line,
        hint=hint,
        start=target.lineno,
        end=node.end_lineno or target.lineno,
        prefix=prefix,
        indent=indent,
        has_docstring=has_docstring,
        placeholder=kind == "placeholder",
        implementation=implementation(node, owner, found) if kind == "stub" else None,
        summary=sentence(hint) if hint else name_sentence(node.name, owner),
        header=header,
    )


# --------------------------------------------------------------------------- splicing


def apply(source: str, fills: Sequence[Fill]) -> str:
    """``source`` (``\\n`` newlines) with each fill's body in place of its stub's body."""
    lines = source.split("\n")
    for fill in sorted(fills, key=lambda f: f.stub.start, reverse=True):
        stub = fill.stub
        body = [f"{stub.indent}{line}" if line.strip() else "" for line in fill.body]
        replacement = [stub.prefix, *body] if stub.prefix is not None else body
        lines[stub.start - 1 : stub.end] = replacement
        if fill.remove_marker:
            del lines[stub.marker_line - 1]
    return "\n".join(lines)


def new_def_lines(fills: Sequence[Fill]) -> list[tuple[Fill, int]]:
    """Each fill with the line its ``def`` has after :func:`apply`, in source order."""
    placed: list[tuple[Fill, int]] = []
    shift = 0
    for fill in sorted(fills, key=lambda f: f.stub.start):
        stub = fill.stub
        removed = 1 if fill.remove_marker else 0
        placed.append((fill, stub.def_line + shift - removed))
        added = len(fill.body) + (1 if stub.prefix is not None else 0)
        shift += added - (stub.end - stub.start + 1) - removed
    return placed
