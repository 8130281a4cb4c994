"""The ``plan:`` section of the repository config: defaults, overrides, errors."""

from __future__ import annotations

import pytest

from bot.config import TOP_KEYS, ConfigError, PlanSpec, RepoConfig, load_config


def test_packaged_defaults_match_the_dataclass_defaults():
    assert load_config(None).plan == PlanSpec()
    assert PlanSpec() == PlanSpec(tier="senior", max_subtasks=8, triage_tier=None, parallel=4)
    assert "plan" in TOP_KEYS
    assert RepoConfig.__dataclass_fields__["plan"].default == PlanSpec()


GOOD = [
    ("empty section", "plan: {}", PlanSpec()),
    ("planner tier", "plan: {tier: junior}", PlanSpec(tier="junior")),
    ("max subtasks", "plan: {max_subtasks: 3}", PlanSpec(max_subtasks=3)),
    ("triage tier", "plan: {triage_tier: junior}", PlanSpec(triage_tier="junior")),
    ("one call at a time", "plan: {parallel: 1}", PlanSpec(parallel=1)),
    ("more calls at once", "plan: {parallel: 8}", PlanSpec(parallel=8)),
]


@pytest.mark.parametrize(("text", "expected"), [g[1:] for g in GOOD], ids=[g[0] for g in GOOD])
def test_valid_plan_sections(text, expected):
    assert load_config(text).plan == expected


BAD = [
    (
        "unknown key",
        "plan: {max: 3}",
        "plan.max: unknown key (allowed: tier, max_subtasks, triage_tier, auto_label, parallel)",
    ),
    ("not a mapping", "plan: [senior]", "plan: expected a mapping, got list"),
    (
        "the template tier cannot plan",
        "plan: {tier: template}",
        "plan.tier: unknown value 'template' (allowed: intern, junior, senior)",
    ),
    ("unknown tier", "plan: {tier: wizard}", "plan.tier: unknown value 'wizard'"),
    (
        "zero subtasks",
        "plan: {max_subtasks: 0}",
        "plan.max_subtasks: expected an integer >= 1, got 0",
    ),
    ("not an integer", "plan: {max_subtasks: many}", "plan.max_subtasks: expected an integer"),
    ("no call at a time", "plan: {parallel: 0}", "plan.parallel: expected an integer >= 1, got 0"),
    (
        "negative parallel",
        "plan: {parallel: -2}",
        "plan.parallel: expected an integer >= 1, got -2",
    ),
    ("parallel as a word", "plan: {parallel: many}", "plan.parallel: expected an integer"),
    ("parallel as a boolean", "plan: {parallel: true}", "plan.parallel: expected an integer"),
    ("parallel as a float", "plan: {parallel: 2.5}", "plan.parallel: expected an integer"),
    (
        "triage on the template tier",
        "plan: {triage_tier: template}",
        "plan.triage_tier: unknown value 'template' (allowed: null, intern, junior, senior)",
    ),
]


@pytest.mark.parametrize(("text", "message"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_invalid_plan_sections_name_file_key_and_fix(text, message):
    with pytest.raises(ConfigError) as info:
        load_config(text)
    assert str(info.value).startswith(".github/tierbot.yml: ")
    assert message in str(info.value)
