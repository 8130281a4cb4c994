"""Render prompts from templates handed in (Jinja, StrictUndefined); the core reads no files.

``bot.prompts.file_prompts()`` loads the packaged templates; tests may hand in their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import jinja2


class Prompts(Protocol):
    """Renders the prompt template ``name`` with ``values``."""

    def render(self, name: str, /, **values: Any) -> str: ...


class TemplatePrompts:
    """``Prompts`` over template sources keyed by name, compiled on first use."""

    def __init__(self, templates: Mapping[str, str]) -> None:
        # StrictUndefined: a variable missing from the context is a bug, never an empty string
        # silently sent to a paid model.
        self.environment = jinja2.Environment(
            loader=jinja2.DictLoader(dict(templates)),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
            trim_blocks=True,
        )

    def render(self, name: str, /, **values: Any) -> str:
        return self.environment.get_template(name).render(**values)
