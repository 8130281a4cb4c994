"""Render prompts from the template files in ``bot/prompts`` (Jinja, StrictUndefined)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jinja2

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"


@functools.cache
def _environment(directory: str) -> jinja2.Environment:
    # StrictUndefined: a variable missing from the context is a bug, never an empty string
    # silently sent to a paid model.
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(directory),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
    )


def render(name: str, directory: Path = PROMPTS_DIR, **values: Any) -> str:
    return _environment(str(directory)).get_template(name).render(**values)
