"""The ``review:`` and ``debug:`` sections of the repository config: defaults, overrides, errors."""

from __future__ import annotations

import pytest

from bot.config import (
    DEFAULT_REVIEW_SKIP,
    TOP_KEYS,
    ConfigError,
    DebugSpec,
    RepoConfig,
    ReviewSpec,
    load_config,
    packaged_defaults,
)


def test_packaged_defaults_match_the_dataclass_defaults():
    # RepoConfig built in code (tests, fakes) and the packaged file must not drift apart.
    assert load_config(None).review == ReviewSpec()
    assert tuple(packaged_defaults()["review"]["skip"]) == DEFAULT_REVIEW_SKIP


def test_review_is_a_top_level_key_and_optional_on_repoconfig():
    assert "review" in TOP_KEYS
    fields = RepoConfig.__dataclass_fields__["review"]
    assert fields.default == ReviewSpec()


GOOD = [
    ("empty section keeps defaults", "review: {}", {}),
    ("on_open", "review: {on_open: true}", {"on_open": True}),
    ("threshold", "review: {min_severity: nit}", {"min_severity": "nit"}),
    ("summary only", "review: {max_comments: 0}", {"max_comments": 0}),
    ("chunk cap", "review: {max_chunks: 3}", {"max_chunks": 3}),
    ("chunk tokens", "review: {chunk_tokens: 20000}", {"chunk_tokens": 20000}),
    ("triage tier", "review: {triage: junior}", {"triage": "junior"}),
    ("skip replaces the list", "review: {skip: ['gen/**']}", {"skip": ("gen/**",)}),
    ("skip may be empty", "review: {skip: []}", {"skip": ()}),
]


@pytest.mark.parametrize(("text", "expected"), [g[1:] for g in GOOD], ids=[g[0] for g in GOOD])
def test_valid_review_sections(text, expected):
    review = load_config(text).review
    for key, value in expected.items():
        assert getattr(review, key) == value
    untouched = {k for k in ReviewSpec.__dataclass_fields__ if k not in expected}
    for key in untouched:
        assert getattr(review, key) == getattr(ReviewSpec(), key)


BAD = [
    ("unknown key", "review: {max_coments: 3}", "review.max_coments", "allowed: on_open, skip"),
    ("not a mapping", "review: [a]", "review", "expected a mapping"),
    ("null section", "review: null", "review", "expected a mapping"),
    ("on_open not bool", "review: {on_open: yes please}", "review.on_open", "true or false"),
    (
        "unknown severity",
        "review: {min_severity: high}",
        "review.min_severity",
        "allowed: critical, major, minor, nit",
    ),
    ("negative comment cap", "review: {max_comments: -1}", "review.max_comments", ">= 0"),
    ("bool comment cap", "review: {max_comments: true}", "review.max_comments", ">= 0"),
    ("zero chunks", "review: {max_chunks: 0}", "review.max_chunks", ">= 1"),
    ("tiny chunk budget", "review: {chunk_tokens: 50}", "review.chunk_tokens", "at least 1000"),
    ("chunk budget text", "review: {chunk_tokens: big}", "review.chunk_tokens", "an integer"),
    ("skip not a list", "review: {skip: '*.lock'}", "review.skip", "a list of strings"),
    ("empty glob", "review: {skip: ['']}", "review.skip", "empty glob"),
    (
        "triage unknown tier",
        "review: {triage: wizard}",
        "review.triage",
        "allowed: null, intern, junior, senior",
    ),
    ("triage template", "review: {triage: template}", "review.triage", "unknown value"),
]


@pytest.mark.parametrize(("text", "key", "message"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_invalid_review_sections_name_file_key_and_allowed(text, key, message):
    with pytest.raises(ConfigError) as info:
        load_config(text, file=".github/tierbot.yml")
    assert info.value.file == ".github/tierbot.yml"
    assert info.value.key == key
    assert message in str(info.value)


# --- the debug: section ---------------------------------------------------------------------


def test_debug_fix_commits_are_off_unless_the_repo_turns_them_on():
    assert "debug" in TOP_KEYS
    assert load_config(None).debug == DebugSpec() == DebugSpec(fix_commit=False)
    assert packaged_defaults()["debug"] == {"fix_commit": False}
    assert load_config("debug: {fix_commit: true}").debug.fix_commit is True
    assert load_config("debug: {}").debug.fix_commit is False


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        ("debug: {fix_commits: true}", "debug.fix_commits", "allowed: fix_commit"),
        ("debug: {fix_commit: 1}", "debug.fix_commit", "true or false"),
        ("debug: [fix_commit]", "debug", "expected a mapping"),
    ],
)
def test_invalid_debug_sections_name_the_key(text, key, message):
    with pytest.raises(ConfigError) as info:
        load_config(text)
    assert info.value.key == key
    assert message in str(info.value)
