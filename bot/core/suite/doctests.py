"""Docstring examples (``>>>`` lines) read as doctest reads them, without importing doctest."""

from __future__ import annotations

import ast
import re

# The pattern of CPython's Lib/doctest.py (DocTestParser._EXAMPLE_RE, PSF licence): a PS1 line,
# its PS2 lines, then the expected output up to a blank line or the next PS1 line.
_EXAMPLE = re.compile(
    r"""
    (?P<source>
        (?:^(?P<indent> [ ]*) >>>    .*)    # PS1 line
        (?:\n           [ ]*  \.\.\. .*)*)  # PS2 lines
    \n?
    (?P<want> (?:(?![ ]*$)    # not a blank line
                 (?![ ]*>>>)  # not a line starting with PS1
                 .+$\n?       # any other line
              )*)
    """,
    re.MULTILINE | re.VERBOSE,
)
_OPTION = re.compile(r"#\s*doctest:\s*([^\n'\"]*)$", re.MULTILINE)


class Example:
    """One example: its source, the output it expects, and its ``# doctest:`` options."""

    __slots__ = ("options", "source", "want")

    def __init__(self, source: str, want: str, options: frozenset[str]) -> None:
        self.source = source
        self.want = want
        self.options = options


def _dedent(lines: list[str], indent: int) -> list[str]:
    return [line[indent:] for line in lines]


def examples(docstring: str) -> list[Example]:
    """The examples of ``docstring``; an example whose lines are inconsistently indented ends
    the list, as it would be an error for doctest."""
    found: list[Example] = []
    text = docstring.expandtabs()
    for match in _EXAMPLE.finditer(text):
        indent = len(match.group("indent"))
        source_lines = match.group("source").split("\n")
        if any(not line[indent:].startswith((">>>", "...")) for line in source_lines):
            break
        source = "\n".join(line[indent + 4 :] for line in source_lines)
        want_lines = match.group("want").split("\n")
        if want_lines and not want_lines[-1].strip():
            want_lines.pop()
        if any(line[:indent].strip() for line in want_lines):
            break
        want = "\n".join(_dedent(want_lines, indent))
        options = frozenset(
            word.strip() for found_ in _OPTION.findall(source) for word in found_.split(",")
        )
        found.append(Example(source, want + "\n" if want else "", options))
    return found


def example_trees(docstring: str) -> list[ast.Module]:
    """The examples of ``docstring`` that parse, as modules (for reading the names they use)."""
    trees: list[ast.Module] = []
    for example in examples(docstring):
        try:
            trees.append(ast.parse(example.source))
        except (SyntaxError, ValueError, RecursionError):
            continue
    return trees


def docstrings(tree: ast.Module) -> list[tuple[str, str]]:
    """``(owner, docstring)`` for the module, its top-level defs and classes and their methods.

    The owner is the top-level name the docstring belongs to ("" for the module's own).
    """
    found: list[tuple[str, str]] = []
    module_doc = ast.get_docstring(tree, clean=False)
    if module_doc and ">>>" in module_doc:
        found.append(("", module_doc))
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        inner = [node]
        if isinstance(node, ast.ClassDef):
            inner += [
                n
                for n in node.body
                if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            ]
        for item in inner:
            doc = ast.get_docstring(item, clean=False)
            if doc and ">>>" in doc:
                found.append((node.name, doc))
    return found
