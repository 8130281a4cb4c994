"""Task types from flags, labels and text."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_config
from bot.core.routing import infer_type, route, type_for_label

CONFIG = load_config(None)
KNOWN = set(CONFIG.task_types)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Add skeleton tests for src/pkg/config.py", "tests"),
        ("Create a stub module src/pkg/util.py", "stub"),
        ("Add an .editorconfig", "config"),
        ("Update the README docs", "docs"),
        ("Refactor the parser", "refactor"),
        ("Implement OAuth login", "feature"),
    ],
)
def test_infer_type(text, expected):
    assert infer_type(text, KNOWN) == expected


def test_default_ladders():
    assert route(CONFIG, "tests").start == "template"
    assert route(CONFIG, "tests").ceiling == "junior"
    assert route(CONFIG, "feature").start == "junior"
    assert route(CONFIG, "refactor").start == "senior"


def test_labels():
    assert type_for_label(CONFIG, "tierbot:stub") == "stub"
    assert type_for_label(CONFIG, "bug") is None


def test_comment_types_are_not_run_as_commits():
    with pytest.raises(ConfigError, match="review tasks comment"):
        route(CONFIG, "review")


def test_unknown_type_names_the_allowed_ones():
    with pytest.raises(ConfigError, match=r"allowed: .*stub"):
        route(CONFIG, "wizardry")
