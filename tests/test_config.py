"""Configuration: defaults, merging and errors that name file, key and allowed values."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_config, load_repo_config


def test_defaults_have_the_documented_task_types():
    config = load_config(None)
    assert config.ladder == ("template", "intern", "junior", "senior")
    for name in ("stub", "boilerplate", "tests", "config", "docs"):
        spec = config.task_type(name)
        assert (spec.start, spec.ceiling, spec.output) == ("template", "junior", "commit")
        assert spec.label == f"tierbot:{name}"
    assert config.task_type("feature").start == "junior"
    for name in ("refactor", "debug", "review"):
        assert config.task_type(name).start == "senior"
    assert ".github/workflows/**" in config.paths.protected


def test_repo_file_merges_over_defaults():
    config = load_config(
        "tiers:\n  junior:\n    model: deepseek/deepseek-chat\n"
        "    price: {input_per_mtok: 0.3, output_per_mtok: 0.5}\n"
        "check: {command: make test}\n"
    )
    junior = config.tier("junior")
    assert junior.model == "deepseek/deepseek-chat"
    assert junior.api_key_env == "OPENAI_API_KEY"  # kept from the defaults
    assert junior.price is not None and junior.price.output_per_mtok == 0.5
    assert config.check.command == "make test"
    assert config.check.timeout == 600


BAD = [
    ("unknown top key", "budgett: 1", "budgett", "allowed: ladder, tiers"),
    (
        "unknown tier key",
        "tiers: {junior: {modle: x}}",
        "tiers.junior.modle",
        "allowed: kind, model",
    ),
    ("wrong type", "tiers: {junior: {max_tokens: lots}}", "tiers.junior.max_tokens", "an integer"),
    ("bool is not a number", "budget: {per_task_usd: true}", "budget.per_task_usd", "a number"),
    (
        "unknown tier as start",
        "task_types: {tests: {start: wizard}}",
        "task_types.tests.start",
        "allowed: template, intern, junior, senior",
    ),
    (
        "ceiling below start",
        "task_types: {tests: {start: junior, ceiling: intern}}",
        "task_types.tests.ceiling",
        "below start",
    ),
    (
        "unknown output",
        "task_types: {tests: {output: email}}",
        "task_types.tests.output",
        "allowed: commit, comment",
    ),
    ("ladder names unknown tier", "ladder: [template, wizard]", "ladder", "unknown tier 'wizard'"),
    (
        "key in the file",
        "tiers: {junior: {api_key_env: 'sk-abc123 secret'}}",
        "tiers.junior.api_key_env",
        "NAME of an environment variable",
    ),
    ("not yaml", "tiers: [unclosed", "line", "not valid YAML"),
    ("not a mapping", "- a\n- b\n", "<top>", "expected a mapping"),
    ("negative timeout", "check: {timeout: -1}", "check.timeout", "positive"),
    ("negative month", "budget: {per_month_usd: -5}", "budget.per_month_usd", ">= 0"),
    ("month as text", "budget: {per_month_usd: lots}", "budget.per_month_usd", "a number"),
]


@pytest.mark.parametrize(("text", "key", "message"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_invalid_config_names_file_key_and_allowed(text, key, message):
    with pytest.raises(ConfigError) as info:
        load_config(text)
    error = info.value
    assert error.file == ".github/tierbot.yml"
    assert error.key.startswith(key)
    assert message in str(error)


def test_empty_file_means_defaults(tmp_path):
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github" / "tierbot.yml").write_text("")
    assert load_repo_config(tmp_path).ladder[0] == "template"


def test_missing_file_means_defaults(tmp_path):
    assert load_repo_config(tmp_path).task_type("tests").start == "template"


def test_the_monthly_cap_is_off_unless_set():
    assert load_config(None).budget.per_month_usd is None
    assert load_config("budget: {per_month_usd: 50}").budget.per_month_usd == 50.0
    assert load_config("budget: {per_month_usd: null}").budget.per_month_usd is None
