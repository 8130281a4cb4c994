"""The operator's allowlist of model key variables and model hosts."""

from __future__ import annotations

import pytest

from bot.access import (
    API_BASES_SETTING,
    DEFAULT_KEY_ENVS,
    KEY_ENVS_SETTING,
    AccessError,
    ModelAccess,
    is_loopback,
    parse_origin,
)


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("http://127.0.0.1:11434", ("http", "127.0.0.1", 11434)),
        ("http://localhost:8080/v1", ("http", "localhost", 8080)),
        ("HTTPS://LLM.Example.com/openai/v1", ("https", "llm.example.com", 443)),
        ("http://[::1]:8000/v1", ("http", "::1", 8000)),
        ("https://llm.example.com:8443", ("https", "llm.example.com", 8443)),
    ],
)
def test_plain_urls_give_their_origin(url, origin):
    assert parse_origin(url) == origin


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1@evil.example",  # user info: the host is evil.example
        "http://evil.example#@127.0.0.1",
        "http://127.0.0.1\\@evil.example",
        "http://evil.example?x=@127.0.0.1",
        "http://127.0.0.1:99999",
        "ftp://127.0.0.1/",
        "127.0.0.1:11434",
        "http://%31%32%37.0.0.1/",
        "http://127.0.0.1 /",
        "",
    ],
)
def test_anything_else_is_not_a_url_the_check_trusts(url):
    assert parse_origin(url) is None


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.3.2.1", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),  # reaches this machine on Linux, but is not loopback
        ("127.0.0.1.nip.io", False),
        ("localhost.evil.example", False),
        ("10.0.0.5", False),
    ],
)
def test_loopback_hosts(host, loopback):
    assert is_loopback(host) is loopback


def test_defaults_allow_the_providers_keys_and_loopback_only():
    access = ModelAccess.from_env({})

    assert access.key_envs == DEFAULT_KEY_ENVS
    assert {"OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"} <= access.key_envs
    assert not any(name.startswith("TIERBOT_") for name in access.key_envs)
    assert access.key_env_problem("OPENAI_API_KEY") is None
    assert access.api_base_problem("http://127.0.0.1:11434") is None
    assert access.api_base_problem("http://localhost:8080/v1") is None
    assert "TIERBOT_ALLOWED_API_BASES" in (access.api_base_problem("https://evil.example") or "")
    assert "TIERBOT_ALLOWED_KEY_ENVS" in (access.key_env_problem("HOME") or "")


def test_tierbot_settings_are_never_a_key_whatever_the_operator_lists():
    access = ModelAccess(key_envs=DEFAULT_KEY_ENVS | {"TIERBOT_WEBHOOK_SECRET"})

    problem = access.key_env_problem("TIERBOT_WEBHOOK_SECRET") or ""

    assert "tierbot's own settings" in problem and KEY_ENVS_SETTING in problem
    with pytest.raises(AccessError, match="TIERBOT_PRIVATE_KEY is one of tierbot's own"):
        ModelAccess.from_env({KEY_ENVS_SETTING: "MY_KEY, TIERBOT_PRIVATE_KEY"})


def test_the_operator_adds_variables_and_origins():
    access = ModelAccess.from_env(
        {
            KEY_ENVS_SETTING: "CORP_LLM_KEY,  OTHER_KEY",
            API_BASES_SETTING: "https://llm.corp.example/v1 http://10.0.0.5:8000",
        }
    )

    assert access.key_env_problem("CORP_LLM_KEY") is None
    assert access.key_env_problem("OTHER_KEY") is None
    assert access.key_env_problem("OPENAI_API_KEY") is None  # the defaults stay
    assert access.api_base_problem("https://llm.corp.example/openai/deployments/x") is None
    assert access.api_base_problem("http://10.0.0.5:8000/v1") is None
    assert access.api_base_problem("http://10.0.0.5:8001/v1") is not None  # another port
    assert access.api_base_problem("http://llm.corp.example/v1") is not None  # another scheme
    assert "https://llm.corp.example" in access.allowed_api_bases()


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({KEY_ENVS_SETTING: "BAD-NAME"}, "is not a variable name"),
        ({API_BASES_SETTING: "llm.corp.example"}, "is not an http(s) URL"),
        ({API_BASES_SETTING: "https://user:pw@llm.corp.example"}, "is not an http(s) URL"),
    ],
)
def test_malformed_operator_settings_are_refused_by_name(environ, message):
    with pytest.raises(AccessError) as caught:
        ModelAccess.from_env(environ)

    assert message in str(caught.value) and next(iter(environ)) in str(caught.value)


def test_keys_hands_over_only_allowed_variables_that_are_set():
    access = ModelAccess.from_env({KEY_ENVS_SETTING: "CORP_LLM_KEY"})
    environ = {
        "OPENAI_API_KEY": "a",
        "CORP_LLM_KEY": "b",
        "ANTHROPIC_API_KEY": "",
        "TIERBOT_WEBHOOK_SECRET": "c",
        "HOME": "/root",
    }

    assert access.keys(environ) == {"CORP_LLM_KEY": "b", "OPENAI_API_KEY": "a"}
