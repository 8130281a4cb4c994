"""The ``hooks:`` section of the repository config: defaults, overrides and one-line errors."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, HooksSpec, load_config


def test_defaults_are_the_free_tier_only():
    hooks = load_config(None).hooks
    assert hooks == HooksSpec()
    assert hooks.run == ("tests", "stubs")
    assert hooks.marker == "# tierbot: stub"
    assert hooks.model_tier is None
    assert hooks.strict is False
    assert hooks.tests_path is None


GOOD = [
    ("model tier", "hooks: {model_tier: junior}", "model_tier", "junior"),
    ("local model tier", "hooks: {model_tier: intern}", "model_tier", "intern"),
    ("strict", "hooks: {strict: true}", "strict", True),
    ("marker", "hooks: {marker: '# todo(bot)'}", "marker", "# todo(bot)"),
    ("marker is stripped", "hooks: {marker: '  # fill me  '}", "marker", "# fill me"),
    ("layout", "hooks: {tests_path: 'tests/unit/test_{module}.py'}", "tests_path", None),
    ("run one hook", "hooks: {run: [stubs]}", "run", ("stubs",)),
    ("run nothing", "hooks: {run: []}", "run", ()),
    ("format", "hooks: {format: black}", "format", "black"),
    ("timeout", "hooks: {timeout: 5}", "timeout", 5.0),
    ("free budget", "hooks: {budget_usd: 0}", "budget_usd", 0.0),
    ("exclude", "hooks: {exclude: ['migrations/**']}", "exclude", ("migrations/**",)),
]


@pytest.mark.parametrize(("text", "key", "value"), [g[1:] for g in GOOD], ids=[g[0] for g in GOOD])
def test_valid_hooks_settings(text, key, value):
    hooks = load_config(text).hooks
    if value is None:  # the layout case: the value is the text itself
        assert hooks.tests_path == "tests/unit/test_{module}.py"
    else:
        assert getattr(hooks, key) == value
    # Everything else keeps its default.
    assert load_config(None).hooks.budget_usd == 0.05


BAD = [
    ("unknown key", "hooks: {modeltier: junior}", "hooks.modeltier", "allowed: run, tests_path"),
    (
        "template is not a model",
        "hooks: {model_tier: template}",
        "hooks.model_tier",
        "allowed: intern, junior, senior",
    ),
    ("unknown tier", "hooks: {model_tier: wizard}", "hooks.model_tier", "unknown value 'wizard'"),
    ("strict not bool", "hooks: {strict: 'yes'}", "hooks.strict", "true or false"),
    ("marker not comment", "hooks: {marker: 'STUB'}", "hooks.marker", "a comment"),
    ("marker empty", "hooks: {marker: '#'}", "hooks.marker", "a comment"),
    ("unknown hook", "hooks: {run: [tests, docs]}", "hooks.run", "allowed: tests, stubs"),
    ("run not a list", "hooks: {run: tests}", "hooks.run", "a list of strings"),
    (
        "layout without module",
        "hooks: {tests_path: tests/test_x.py}",
        "hooks.tests_path",
        "{module}",
    ),
    (
        "layout escapes",
        "hooks: {tests_path: '../tests/test_{module}.py'}",
        "hooks.tests_path",
        "inside the repository",
    ),
    (
        "layout placeholder",
        "hooks: {tests_path: 'tests/{dir}/test_{module}.py'}",
        "hooks.tests_path",
        "unknown placeholder {dir}",
    ),
    ("format", "hooks: {format: yapf}", "hooks.format", "allowed: auto, ruff, black, none"),
    ("timeout", "hooks: {timeout: 0}", "hooks.timeout", "positive"),
    ("budget", "hooks: {budget_usd: -1}", "hooks.budget_usd", ">= 0"),
    ("not a mapping", "hooks: [tests]", "hooks", "expected a mapping"),
]


@pytest.mark.parametrize(("text", "key", "message"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_invalid_hooks_settings_name_file_and_key_on_one_line(text, key, message):
    with pytest.raises(ConfigError) as info:
        load_config(text, file=".github/tierbot.yml")
    error = str(info.value)
    assert error.startswith(f".github/tierbot.yml: {key}: ")
    assert message in error
    assert "\n" not in error
