"""The ``docs`` generator: an API reference page written from the docstrings of named modules.

What the code already says (signatures, docstrings, bases) is copied, never invented: a name
without a docstring is listed with its signature only. Prose documentation (a README section,
a how-to) needs a model tier, so the generator declines anything that does not ask for an API
reference of modules it can find.
"""

from __future__ import annotations

import ast
import re

from bot.core.suite.modules import is_dotted_identifier, module_name
from bot.core.templates.layout import Repo
from bot.core.templates.request import Declined, NothingToDo
from bot.core.templates.text import path_mentions
from bot.core.types import EditSet, FileEdit

ASKS_FOR_REFERENCE = re.compile(
    r"\bapi\b|\breference\b|\bfrom\s+(?:the\s+)?docstrings?\b|\bdocument\s+(?:the\s+)?module",
    re.IGNORECASE,
)
DOCS_DIR = "docs/api"


def _public(name: str) -> bool:
    return not name.startswith("_")


def _signature(node: ast.FunctionDef | ast.AsyncFunctionDef, *, method: bool) -> str:
    args = node.args
    if method and args.posonlyargs:
        args = ast.arguments(
            args.posonlyargs[1:], args.args, args.vararg, args.kwonlyargs,
            args.kw_defaults, args.kwarg, args.defaults,
        )  # fmt: skip
    elif method and args.args:
        args = ast.arguments(
            args.posonlyargs, args.args[1:], args.vararg, args.kwonlyargs,
            args.kw_defaults, args.kwarg, args.defaults,
        )  # fmt: skip
    text = f"{node.name}({ast.unparse(args)})"
    if node.returns is not None:
        text += f" -> {ast.unparse(node.returns)}"
    prefix = "async " if isinstance(node, ast.AsyncFunctionDef) else ""
    return prefix + text


def _doc(node: ast.AST) -> str:
    if not isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
        return ""
    return (ast.get_docstring(node) or "").strip()


def _function(node: ast.FunctionDef | ast.AsyncFunctionDef, level: str, *, method: bool) -> str:
    parts = [f"{level} `{_signature(node, method=method)}`"]
    doc = _doc(node)
    if doc:
        parts.append(doc)
    return "\n\n".join(parts)


def _class(node: ast.ClassDef) -> str:
    bases = ", ".join(ast.unparse(b) for b in node.bases)
    head = f"### class `{node.name}" + (f"({bases})`" if bases else "`")
    parts = [head]
    doc = _doc(node)
    if doc:
        parts.append(doc)
    for item in node.body:
        if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and _public(item.name):
            parts.append(_function(item, "####", method=True))
    return "\n\n".join(parts)


def reference(dotted: str, source: str) -> str:
    """The Markdown API reference of one module."""
    tree = ast.parse(source)
    parts = [f"# `{dotted}`"]
    doc = _doc(tree)
    if doc:
        parts.append(doc)
    functions: list[str] = []
    classes: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _public(node.name):
            functions.append(_function(node, "###", method=False))
        elif isinstance(node, ast.ClassDef) and _public(node.name):
            classes.append(_class(node))
    if classes:
        parts += ["## Classes", *classes]
    if functions:
        parts += ["## Functions", *functions]
    return "\n\n".join(parts) + "\n"


def generate_docs(repo: Repo, text: str) -> EditSet | Declined | NothingToDo:
    """``docs/api/<module>.md`` for each module the task names, when it asks for a reference."""
    if not ASKS_FOR_REFERENCE.search(text):
        return Declined(
            "the template tier writes API references from docstrings only (say 'API reference "
            "for pkg/module.py'); other documentation needs a model tier"
        )
    named = [p for p in path_mentions(text) if p.endswith(".py")]
    if not named:
        return Declined("the task names no Python module to document; name one by path")
    missing = [p for p in named if p not in repo.fileset]
    if missing:
        return NothingToDo(
            "none of these modules exist in the repository (tasks see committed files only): "
            + ", ".join(missing)
        )
    edits: list[FileEdit] = []
    for path in named:
        source = repo.read(path)
        if source is None:
            return Declined(f"`{path}` could not be read as text")
        dotted = module_name(path, repo.fileset)
        if not is_dotted_identifier(dotted):
            return Declined(f"{path} is not importable as a module ({dotted!r})")
        try:
            page = reference(dotted, source)
        except SyntaxError as exc:
            return Declined(f"{path} has a syntax error at line {exc.lineno}: {exc.msg}")
        target = f"{DOCS_DIR}/{dotted}.md"
        if repo.exists(target):
            return Declined(f"{target} already exists; updating it needs a model tier")
        edits.append(FileEdit(target, page))
    return EditSet(tuple(edits))
