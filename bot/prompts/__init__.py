"""The packaged prompt templates, read once and handed to the core as ``Prompts``."""

from __future__ import annotations

import functools
from pathlib import Path

from bot.core.prompts import Prompts, TemplatePrompts

PROMPTS_DIR = Path(__file__).resolve().parent


@functools.cache
def file_prompts(directory: Path = PROMPTS_DIR) -> Prompts:
    """Every ``*.j2`` template under ``directory``, keyed by file name."""
    templates = {p.name: p.read_text("utf-8") for p in sorted(directory.glob("*.j2"))}
    return TemplatePrompts(templates)
