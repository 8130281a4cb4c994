"""Docstring examples (``>>>`` lines with their output) turned into plain pytest assertions.

An example is translated only when the translation asserts what doctest would check: the
names it uses are the module's (reached through the module under test), builtins, or bound by
an earlier example; its output is a literal (compared with ``==``), a repr (compared as text)
or an exception (``pytest.raises``). At the first example that cannot be translated, the rest
of that docstring is dropped, since later examples may depend on it. Examples that depend on
the clock, randomness or memory addresses, and functions that print, are left alone.
"""

from __future__ import annotations

import ast
import builtins
import re

from bot.core.suite.doctests import Example, docstrings, examples
from bot.core.templates.interface import PAD, Refs
from bot.core.templates.model import FunctionNode
from bot.core.templates.module_facts import ModuleFacts
from bot.core.templates.render import code, string

_BUILTINS = frozenset(dir(builtins))
_UNSTABLE = frozenset(
    {"now", "today", "utcnow", "time", "monotonic", "perf_counter", "random", "randint"}
    | {"choice", "shuffle", "sample", "uuid1", "uuid4", "getpid", "id", "hash", "urandom"}
    | {"getcwd", "environ", "input", "open", "sleep"}
)
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}|<[\w.]+ (?:object )?at ")
_TRACEBACK = ("Traceback (most recent call last):", "Traceback (innermost last):")
_UNSUPPORTED = frozenset({"ELLIPSIS", "IGNORE_EXCEPTION_DETAIL", "DONT_ACCEPT_BLANKLINE"})


class _Stop(Exception):
    """This example cannot be translated faithfully; the rest of its docstring is dropped."""


def _bound(tree: ast.AST) -> tuple[set[str], set[str]]:
    """Names an example binds: (by import, otherwise)."""
    imports: set[str] = set()
    others: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                if alias.name == "*":
                    raise _Stop
                imports.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            others.add(node.id)
        elif isinstance(node, FunctionNode | ast.ClassDef):
            others.add(node.name)
        elif isinstance(node, ast.arg):
            others.add(node.arg)
    return imports, others


class _Rewriter(ast.NodeTransformer):
    """Module globals become attributes of the module under test; unknown names stop."""

    def __init__(self, module: str, facts: ModuleFacts, local: set[str]) -> None:
        self.module = module
        self.facts = facts
        self.local = local

    def visit_Name(self, node: ast.Name) -> ast.expr:
        if node.id in _UNSTABLE:
            raise _Stop
        if not isinstance(node.ctx, ast.Load) or node.id in self.local:
            return node
        if node.id in self.facts.globals:
            return ast.copy_location(
                ast.Attribute(ast.Name(self.module, ast.Load()), node.id, ast.Load()), node
            )
        if node.id in _BUILTINS:
            return node
        raise _Stop  # a name from a doctest namespace or fixture tierbot cannot see

    def visit_Attribute(self, node: ast.Attribute) -> ast.expr:
        if node.attr in _UNSTABLE:
            raise _Stop
        self.generic_visit(node)
        return node


def _want_text(want: str) -> str:
    return "\n".join(
        "" if line == "<BLANKLINE>" else line for line in want.rstrip("\n").split("\n")
    )


def _exception(want: str, facts: ModuleFacts, refs: Refs) -> str:
    last = want.rstrip("\n").split("\n")[-1]
    name = last.split(":", 1)[0].strip().rsplit(".", 1)[-1]
    if name in facts.globals:
        return f"{refs.module}.{name}"
    if name in _BUILTINS and name[:1].isupper():
        return name
    raise _Stop


def _prints(expr: ast.expr, facts: ModuleFacts) -> bool:
    """The example calls a function or method of the module that prints (then the output
    doctest saw mixes what was printed with what was returned)."""
    for node in ast.walk(expr):
        if isinstance(node, ast.Call):
            callee = node.func
            name = callee.id if isinstance(callee, ast.Name) else getattr(callee, "attr", "")
            if name in facts.printing:
                return True
    return False


def _operand(expr: ast.expr) -> str:
    """``expr`` as the left side of ``==`` or ``is``: parenthesised where precedence needs it."""
    loose = (ast.Compare, ast.BoolOp, ast.IfExp, ast.Lambda, ast.NamedExpr, ast.UnaryOp)
    text = code(expr)
    return f"({text})" if isinstance(expr, loose) else text


def _compare(expr: ast.expr, example: Example, facts: ModuleFacts, original: ast.expr) -> str:
    want = _want_text(example.want)
    if "..." in want or _ADDRESS.search(want) or _prints(original, facts):
        raise _Stop
    shown = _operand(expr)
    normalize = "NORMALIZE_WHITESPACE" in example.options
    if (
        isinstance(expr, ast.Call)
        and isinstance(expr.func, ast.Name)
        and expr.func.id == "print"
        and len(expr.args) == 1
        and not expr.keywords
        and not normalize
    ):
        return f"assert str({code(expr.args[0])}) == {string(want)}"
    if normalize:
        expected = " ".join(want.split())
        return f'assert " ".join(repr({shown}).split()) == {string(expected)}'
    try:
        value = ast.parse(want, mode="eval").body
        ast.literal_eval(value)
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
        return f"assert repr({shown}) == {string(want)}"
    if isinstance(value, ast.Constant) and (value.value is None or isinstance(value.value, bool)):
        return f"assert {shown} is {value.value}"
    return f"assert {shown} == {code(value)}"


def _translate(doc: str, facts: ModuleFacts, refs: Refs) -> list[str]:
    chunks: list[list[str]] = []  # the lines of each translated example
    local: set[str] = set()
    for example in examples(doc):
        if example.options & _UNSUPPORTED or "+SKIP" in example.options:
            break
        try:
            tree = ast.parse(example.source)
            imports, others = _bound(tree)
            if others & facts.globals:
                break  # a module name rebound in the example: which one a use means is unclear
            rewritten = _Rewriter(refs.module, facts, local | imports | others).visit(tree)
            chunks.append(_lines(rewritten, tree, example, facts, refs))
        except (_Stop, SyntaxError, ValueError, RecursionError):
            break
        local |= imports | others
    while chunks and not chunks[-1][0].lstrip().startswith(("assert", "with")):
        chunks.pop()  # trailing set-up that nothing checks
    return [line for chunk in chunks for line in chunk]


def _lines(
    rewritten: ast.Module, tree: ast.Module, example: Example, facts: ModuleFacts, refs: Refs
) -> list[str]:
    want = example.want
    if want.startswith(_TRACEBACK):
        exception = _exception(want, facts, refs)
        body = [PAD * 2 + line for stmt in rewritten.body for line in code(stmt).split("\n")]
        return [f"{PAD}with {refs.pytest}.raises({exception}):", *body]
    if len(rewritten.body) == 1 and isinstance(rewritten.body[0], ast.Expr):
        expr = rewritten.body[0].value
        original = tree.body[0]
        assert isinstance(original, ast.Expr)
        if not want:
            if isinstance(expr, ast.Call):
                return [PAD + code(expr)]
            return [f"{PAD}assert {_operand(expr)} is None"]
        return [PAD + _compare(expr, example, facts, original.value)]
    if want:
        raise _Stop  # output from a statement (a loop that prints): not worth guessing
    return [PAD + line for stmt in rewritten.body for line in code(stmt).split("\n")]


def example_lines(
    tree: ast.Module, facts: ModuleFacts, owners: set[str], refs: Refs
) -> dict[str, list[str]]:
    """For each owner in ``owners``: test body lines from the examples in its docstrings."""
    if facts.star:
        return {}  # names from a star import cannot be told apart from missing ones
    found: dict[str, list[str]] = {}
    for owner, doc in docstrings(tree):
        if owner not in owners:
            continue
        lines = _translate(doc, facts, refs)
        if any(line.lstrip().startswith(("assert", "with")) for line in lines):
            found.setdefault(owner, []).extend(lines)
    return found
