"""The JSON a model was asked for, found in its answer; parse errors that quote none of it."""

from __future__ import annotations

import json
import re
from typing import Any

from bot.core.logs import scrub

_START = {
    list: re.compile(r"\[\s*[\{\]\"]"),
    dict: re.compile(r"\{\s*[\"\}]"),
}
_FENCE_JSON = re.compile(r"```[ \t]*json[ \t]*\r?\n", re.IGNORECASE)
_DECODER = json.JSONDecoder(strict=False)  # models put raw newlines inside strings


def extract_json(
    text: str, kinds: tuple[type[list[Any]] | type[dict[str, Any]], ...], error: type[Exception]
) -> Any:
    """The JSON value a model was asked for: in a ```json block, or bare within prose.

    The first value that parses wins. A value that starts but does not parse (truncated
    output, broken syntax) is an error rather than a reason to look further: a later
    fragment of a broken answer must never be taken for the whole answer.
    """
    if not text.strip():
        raise error("the model's answer is empty")
    problems: list[str] = []
    for match in _FENCE_JSON.finditer(text):
        start = _skip_space(text, match.end())
        try:
            value, _ = _DECODER.raw_decode(text, start)
        except json.JSONDecodeError as exc:
            problems.append(f"the ```json block is not valid JSON ({exc.msg} at {exc.pos})")
            continue
        if isinstance(value, kinds):
            return value
        problems.append(f"the ```json block holds {type(value).__name__}, not {_names(kinds)}")
    if problems:
        raise error(f"{problems[0]}; the answer starts: {_snippet(text)}")
    starts = [m.start() for kind in kinds if (m := _START[kind].search(text))]
    if not starts:
        raise error(f"no JSON {_names(kinds)} in the model's answer: {_snippet(text)}")
    try:
        value, _ = _DECODER.raw_decode(text, min(starts))
    except json.JSONDecodeError as exc:
        raise error(
            f"the JSON in the model's answer is broken or truncated ({exc.msg} at {exc.pos}): "
            f"{_snippet(text)}"
        ) from None
    if not isinstance(value, kinds):
        raise error(f"expected JSON {_names(kinds)}: {_snippet(text)}")
    return value


def _skip_space(text: str, index: int) -> int:
    while index < len(text) and text[index].isspace():
        index += 1
    return index


def _names(kinds: tuple[type, ...]) -> str:
    return " or ".join(
        "array" if k is list else "object" if k is dict else k.__name__ for k in kinds
    )


def _snippet(text: str) -> str:
    flat = " ".join(scrub(text).split())
    return repr(flat[:160] + ("..." if len(flat) > 160 else ""))


# How ``extract_json``'s errors end: "...: '<the answer's start>'" (see ``_snippet``).
QUOTED_ANSWER = re.compile(r"(?:; the answer starts)?: (?:'.*'|\".*\")$", re.DOTALL)


def without_quote(error: Exception) -> str:
    """A parse error without the quoted start of the answer: no fragment of junk is posted."""
    return QUOTED_ANSWER.sub("", str(error))
