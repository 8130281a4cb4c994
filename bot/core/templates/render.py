"""Python source written the way a formatter would leave it: quotes, docstrings, line length."""

from __future__ import annotations

import ast
import io
import re
import textwrap
import tokenize

from bot.core.templates.request import LINE_LENGTH

_PREFIX = re.compile(r"^[rRbBuU]*")


def _double_quoted(token: str) -> str | None:
    prefix = _PREFIX.match(token)
    head = prefix.group(0) if prefix else ""
    body = token[len(head) :]
    if not body.startswith("'") or body.startswith("'''"):
        return None
    inner = body[1:-1]
    if '"' in inner or "\\'" in inner:
        return None
    return f'{head}"{inner}"'


def code(node: ast.AST) -> str:
    """``ast.unparse`` with the double quotes a formatter would choose for plain strings."""
    text = ast.unparse(node)
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return text
    lines = text.split("\n")
    for token in reversed(tokens):
        if token.type != tokenize.STRING or token.start[0] != token.end[0]:
            continue
        replacement = _double_quoted(token.string)
        if replacement is None:
            continue
        row = token.start[0] - 1
        line = lines[row]
        lines[row] = line[: token.start[1]] + replacement + line[token.end[1] :]
    return "\n".join(lines)


def string(text: str) -> str:
    """``text`` as a string literal, double-quoted unless that needs more escapes."""
    return code(ast.Constant(text))


def docstring(text: str, indent: str) -> list[str]:
    """A docstring holding untrusted ``text``, wrapped to the line length."""
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
