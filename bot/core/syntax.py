"""Syntax checks of edited files by extension: Python, JSON, YAML, TOML."""

from __future__ import annotations

import json
import posixpath
import re
import tomllib
import warnings
from collections.abc import Callable

from bot.core.types import EditSet


def check_syntax(edits: EditSet) -> list[str]:
    """One ``path:line: message`` per file whose content does not parse; others unchecked."""
    problems: list[str] = []
    for edit in edits.edits:
        if edit.content is None:
            continue
        checker = _CHECKERS.get(posixpath.splitext(edit.path)[1].lower())
        if checker is not None:
            problem = checker(edit.content)
            if problem is not None:
                line, message = problem
                problems.append(f"{edit.path}:{line}: {message}")
    return problems


def _check_python(content: str) -> tuple[int, str] | None:
    # compile, not only ast.parse: it also catches errors found after parsing, such as
    # 'return' outside a function. Warnings (invalid escapes...) are not errors here, and
    # under pytest's -W error they would otherwise be raised.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            compile(content, "<edit>", "exec", dont_inherit=True)
        except SyntaxError as exc:
            return exc.lineno or 1, exc.msg
        except ValueError as exc:  # Python 3.11: "source code string cannot contain null bytes"
            return 1, str(exc)
    return None


def _check_json(content: str) -> tuple[int, str] | None:
    try:
        json.loads(content)
    except json.JSONDecodeError as exc:
        return exc.lineno, exc.msg
    return None


def _check_yaml(content: str) -> tuple[int, str] | None:
    import yaml  # lazily: the pre-commit path must start fast

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    # compose_all checks the syntax of every document without constructing Python objects,
    # so multi-document files and application tags (!Ref, !reference) are not reported.
    try:
        for _ in yaml.compose_all(content, Loader=loader):
            pass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        return (mark.line + 1 if mark else 1), str(exc.problem or exc.context or "invalid YAML")
    except yaml.YAMLError as exc:
        return 1, str(exc)
    return None


_TOML_WHERE = re.compile(r"\s*\(at (?:line (\d+), column \d+|end of document)\)$")


def _check_toml(content: str) -> tuple[int, str] | None:
    try:
        tomllib.loads(content)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        where = _TOML_WHERE.search(message)
        if where is None:
            return 1, message
        line = int(where.group(1)) if where.group(1) else content.count("\n") + 1
        return line, message[: where.start()]
    return None


_CHECKERS: dict[str, Callable[[str], tuple[int, str] | None]] = {
    ".py": _check_python,
    ".pyi": _check_python,
    ".json": _check_json,
    ".yml": _check_yaml,
    ".yaml": _check_yaml,
    ".toml": _check_toml,
}
