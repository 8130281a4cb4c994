"""The signatures a stub task gives: read from its code fences or prose, checked, assembled."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from bot.core.templates.names import (
    CACHED_PROPERTY,
    DATACLASS,
    IDENTITY,
    PROPERTY,
    WRAPPING,
    FunctionNode,
    dotted,
    parse,
)
from bot.core.templates.text import sentence, split_blocks

# Decorators and calls a stub may carry: they run when the module is imported.
_ALLOWED_CALLS = frozenset(
    DATACLASS
    | IDENTITY
    | WRAPPING
    | PROPERTY
    | CACHED_PROPERTY
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


def _quote(text: str, *, quoted: bool = True, limit: int = 80) -> str:
    """Task text echoed in a decline reason: short, one line."""
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return repr(text) if quoted else text


def _outside_strings(s: str, start: int) -> Iterator[tuple[int, str, int]]:
    """``(index, char, bracket depth after it)`` for each character outside string literals."""
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
        else:
            if ch in "([{":
                depth += 1
            elif ch in ")]}":
                depth -= 1
            yield i, ch, depth
        i += 1


def _closing(s: str, start: int) -> int:
    """Index of the bracket closing ``s[start]``; -1 if the text ends first."""
    for i, ch, depth in _outside_strings(s, start):
        if ch in ")]}" and depth == 0:
            return i
    return -1


def _annotation_end(s: str, start: int) -> int:
    for i, ch, depth in _outside_strings(s, start):
        if depth != 0 or ch in "([{)]}":
            continue
        if ch in ":`#,;" or s.startswith(_SEPARATORS, i):
            return i
        if ch == "." and (i + 1 == len(s) or s[i + 1].isspace()):
            return i
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
    return sentence(rest)


@dataclass
class Sig:
    node: FunctionNode | ast.ClassDef
    indent: int
    description: str
    methods: list[Sig] = field(default_factory=list)
    fields: list[ast.AnnAssign | ast.Assign] = field(default_factory=list)


@dataclass(frozen=True)
class _Candidate:
    indent: int
    decorators: tuple[str, ...]
    header: str
    description: str
    prose: bool
    is_field: bool = False


class StubError(Exception):
    """The task's signatures cannot be turned into a stub; the message is the decline reason."""


def _class_member(line: str) -> bool:
    """``line`` is a ``name: type [= value]`` field or a ``NAME = value`` class attribute."""
    if not _FIELD.match(line):
        return False
    try:
        body = parse(line).body
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
                    last.indent, last.decorators, last.header, sentence(doc.split(quote)[0]), False
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
                raise StubError(f"the signature {_quote(stripped)} is never closed")
            described = _description(header.rest, code=True)
            found.append(_Candidate(indent, tuple(decorators), header.text, described, False))
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
            raise StubError(
                f"{where} uses {_quote(ast.unparse(sub))}; stubs copy only names, literals and "
                "annotations, nothing that computes at import time"
            )
        if isinstance(sub, ast.Call) and dotted(sub.func) not in _ALLOWED_CALLS:
            raise StubError(
                f"{where} calls {_quote(ast.unparse(sub.func), quoted=False)}() when the module "
                "is imported; stubs "
                "copy only names, literals and annotations"
            )


def runtime_parts(node: FunctionNode | ast.ClassDef) -> list[ast.expr]:
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
        module = parse(source)
        compile(module, "<signature>", "exec", dont_inherit=True)
    except SyntaxError as exc:
        raise StubError(
            f"the signature {_quote(candidate.header)} does not parse: {exc.msg}"
        ) from None
    node = module.body[0] if len(module.body) == 1 else None
    if not isinstance(node, FunctionNode | ast.ClassDef | ast.AnnAssign | ast.Assign):
        raise StubError(f"{_quote(candidate.header)} is not a signature")
    if isinstance(node, ast.Assign) and not (
        len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
    ):
        raise StubError(f"{_quote(candidate.header)} is not a class attribute")
    if isinstance(node, ast.AnnAssign | ast.Assign):
        if node.value is not None:
            _check_runtime_expression(node.value, f"the field {_quote(candidate.header)}")
        return node
    for part in runtime_parts(node):
        _check_runtime_expression(part, f"the signature of {node.name}")
    return node


def _first_param(node: FunctionNode) -> str | None:
    positional = (*node.args.posonlyargs, *node.args.args)
    return positional[0].arg if positional else None


def _assemble(candidates: Sequence[_Candidate]) -> list[Sig]:
    items: list[Sig] = []
    current: Sig | None = None
    for candidate in candidates:
        node = _parse_candidate(candidate)
        if isinstance(node, ast.AnnAssign | ast.Assign):
            if current is not None and candidate.indent > current.indent:
                current.fields.append(node)
            continue
        sig = Sig(node, candidate.indent, candidate.description)
        if isinstance(node, ast.ClassDef):
            if current is not None and candidate.indent > current.indent:
                raise StubError(
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
                raise StubError(f"{sig.node.name} is declared twice in {owner}")
            seen.add(sig.node.name)
    return items


def stub_signatures(text: str) -> list[Sig]:
    blocks = split_blocks(text)
    fenced = [c for b in blocks if b.fenced for c in _fence_candidates(b.lines)]
    if any(not c.is_field for c in fenced):
        # Code fences are the precise form; prose mentions of the same names would only repeat.
        return _assemble(fenced)
    return _assemble([c for b in blocks if not b.fenced for c in _prose_candidates(b.lines)])
