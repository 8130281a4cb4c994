"""LiteLLMModels through litellm's real HTTP path (``openai/<name>`` + ``api_base``) against the
scripted model server, and the price table read from litellm's bundled JSON."""

from __future__ import annotations

import email.utils
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from bot.adapters.llm import PLACEHOLDER_API_KEY, LiteLLMModels, _usage
from bot.adapters.prices import load_price_table, parse_price_table
from bot.config import Price, TierSpec
from bot.core.types import Message, Usage
from bot.ports import ModelError, ModelErrorKind
from tests.support.model_server import (
    ScriptedModelServer,
    count_tokens,
    garbage,
    http_error,
    prompt_tokens,
    raw,
    reply,
    reply_without_usage,
    slow,
    truncated,
)

ROOT = Path(__file__).resolve().parent.parent
KEY_ENV = "TIERBOT_TEST_OPENAI_KEY"
KEY = "sk-test-0123456789abcdefSECRET"
MODEL = "coder"
MESSAGES = [
    Message("system", "You write Python. Reply with whole files."),
    Message("user", "Add mul(a, b) to calc.py."),
]
CONTEXT_MESSAGE = (
    "This model's maximum context length is 8192 tokens. However, your messages resulted in "
    "9001 tokens. Please reduce the length of the messages."
)

pytestmark = pytest.mark.slow  # imports litellm (about 4 s, once per run)


class Sleeps:
    """The injected sleep: records instead of waiting."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def models(sleeps: Sleeps) -> LiteLLMModels:
    return LiteLLMModels(env={KEY_ENV: KEY}, sleep=sleeps)


def tier(server: ScriptedModelServer | str, **overrides: object) -> TierSpec:
    url = server if isinstance(server, str) else server.url
    fields: dict[str, object] = {
        "name": "junior",
        "kind": "model",
        "model": f"openai/{MODEL}",
        "api_base": url,
        "api_key_env": KEY_ENV,
        "max_tokens": 256,
        "timeout": 5.0,
    }
    fields.update(overrides)
    return TierSpec(**fields)  # type: ignore[arg-type]


def expected_usage(text: str) -> Usage:
    sent = [{"role": m.role, "content": m.content} for m in MESSAGES]
    return Usage(prompt_tokens(sent), count_tokens(text))


def error_of(models: LiteLLMModels, spec: TierSpec) -> ModelError:
    with pytest.raises(ModelError) as caught:
        models.complete(spec, MESSAGES)
    return caught.value


# -- success ---------------------------------------------------------------------------------


def test_reply_returns_text_and_the_servers_token_counts(model_server, models):
    text = "### calc.py\n```python\ndef mul(a, b):\n    return a * b\n```\n"
    model_server.script(MODEL, [reply(text)])

    completion = models.complete(tier(model_server), MESSAGES)

    assert completion.text == text
    assert completion.usage == expected_usage(text)
    assert completion.usage.prompt_tokens and completion.usage.completion_tokens
    assert completion.model == f"openai/{MODEL}"
    assert completion.latency_s > 0


def test_the_request_carries_prompt_key_and_limits(model_server, models):
    model_server.script(MODEL, [reply("ok")])

    models.complete(tier(model_server, max_tokens=123), MESSAGES)

    (request,) = model_server.requests
    assert request.model == MODEL  # litellm strips the openai/ prefix
    assert request.messages == [{"role": m.role, "content": m.content} for m in MESSAGES]
    assert request.body["max_tokens"] == 123
    assert request.headers["authorization"] == f"Bearer {KEY}"


def test_missing_usage_is_unknown_not_zero(model_server, models):
    model_server.script(MODEL, [reply_without_usage("hello")])

    completion = models.complete(tier(model_server), MESSAGES)

    assert completion.text == "hello"
    assert completion.usage == Usage(None, None)


def test_usage_prefers_the_providers_own_body_and_treats_all_zero_as_unreported():
    zeros = SimpleNamespace(usage=SimpleNamespace(prompt_tokens=0, completion_tokens=0))
    counted = SimpleNamespace(usage=SimpleNamespace(prompt_tokens=12, completion_tokens=0))
    # Without the provider's body: litellm's default Usage() is all zeros, which no provider
    # reports for a non-empty prompt.
    assert _usage(zeros, None) == Usage(None, None)
    assert _usage(counted, None) == Usage(12, 0)
    # With it: its counts, count by count, whatever litellm made of them.
    assert _usage(counted, '{"choices": [], "usage": null}') == Usage(None, None)
    assert _usage(zeros, {"choices": [], "usage": {"prompt_tokens": 4}}) == Usage(4, None)
    ollama = {"message": {}, "done": True}
    assert _usage(counted, ollama) == Usage(None, None)
    assert _usage(counted, {**ollama, "eval_count": 5}) == Usage(None, 5)


def test_truncated_reply_is_returned_as_it_is(model_server, models):
    model_server.script(MODEL, [truncated("def mul(a, b")])

    completion = models.complete(tier(model_server), MESSAGES)

    assert completion.text == "def mul(a, b"
    assert completion.usage == expected_usage("def mul(a, b")


def test_tier_without_a_key_sends_a_placeholder_for_local_servers(model_server, sleeps):
    model_server.script(MODEL, [reply("ok")])
    models = LiteLLMModels(env={}, sleep=sleeps)

    completion = models.complete(tier(model_server, api_key_env=None), MESSAGES)

    assert completion.text == "ok"
    assert model_server.requests[0].headers["authorization"] == f"Bearer {PLACEHOLDER_API_KEY}"


# -- rate limits -----------------------------------------------------------------------------


def test_429_honours_retry_after_then_succeeds(model_server, models, sleeps):
    model_server.script(
        MODEL,
        [
            http_error(429, "Rate limit reached for requests", {"retry-after": "7"}),
            reply("ok"),
        ],
    )

    completion = models.complete(tier(model_server), MESSAGES)

    assert completion.text == "ok"
    assert sleeps.calls == [7.0]
    assert len(model_server.requests) == 2


def test_retry_after_is_capped(model_server, sleeps):
    model_server.script(
        MODEL,
        [
            http_error(429, "Rate limit reached", {"retry-after": "3600"}),
            reply("ok"),
        ],
    )
    models = LiteLLMModels(env={KEY_ENV: KEY}, sleep=sleeps, max_retry_after=30.0)

    models.complete(tier(model_server), MESSAGES)

    assert sleeps.calls == [30.0]


def test_retry_after_ms_and_http_dates_are_understood(model_server, models, sleeps):
    in_ten_seconds = email.utils.formatdate(time.time() + 10, usegmt=True)
    model_server.script(
        MODEL,
        [
            http_error(429, "Rate limit reached", {"retry-after-ms": "1500", "retry-after": "2"}),
            http_error(429, "Rate limit reached", {"retry-after": in_ten_seconds}),
            reply("ok"),
        ],
    )

    models.complete(tier(model_server), MESSAGES)

    assert sleeps.calls[0] == 1.5
    assert 7.0 < sleeps.calls[1] <= 10.0


def test_429_without_retry_after_backs_off_1_2_4_then_gives_up(model_server, models, sleeps):
    model_server.script(MODEL, [http_error(429, "Rate limit reached")])

    error = error_of(models, tier(model_server))

    assert error.kind is ModelErrorKind.RATE_LIMITED
    assert error.retry_after is None
    assert sleeps.calls == [1.0, 2.0, 4.0]
    assert len(model_server.requests) == 4


def test_429_forever_is_rate_limited_with_the_servers_retry_after(model_server, sleeps):
    model_server.script(MODEL, [http_error(429, "Rate limit reached", {"retry-after": "2"})])
    models = LiteLLMModels(env={KEY_ENV: KEY}, sleep=sleeps, max_rate_limit_retries=2)

    error = error_of(models, tier(model_server))

    assert error.kind is ModelErrorKind.RATE_LIMITED
    assert error.retry_after == 2.0
    assert sleeps.calls == [2.0, 2.0]
    assert len(model_server.requests) == 3
    assert "junior" in str(error)


# -- auth ------------------------------------------------------------------------------------


def test_401_is_auth_at_once_and_never_shows_the_key(model_server, models, sleeps):
    model_server.script(
        MODEL,
        [
            http_error(401, f"Incorrect API key provided: {KEY}. You can find your API key at ..."),
        ],
    )

    error = error_of(models, tier(model_server))

    assert error.kind is ModelErrorKind.AUTH
    assert len(model_server.requests) == 1
    assert sleeps.calls == []
    message = str(error)
    assert "junior" in message and KEY_ENV in message
    assert KEY not in message and "SECRET" not in message


def test_403_is_auth(model_server, models):
    model_server.script(MODEL, [http_error(403, "Project does not have access to this model")])

    error = error_of(models, tier(model_server))

    assert error.kind is ModelErrorKind.AUTH
    assert len(model_server.requests) == 1


@pytest.mark.parametrize("env", [{}, {KEY_ENV: ""}, {KEY_ENV: "  "}])
def test_missing_key_is_auth_before_any_request(model_server, sleeps, env):
    model_server.script(MODEL, [reply("never")])
    models = LiteLLMModels(env=env, sleep=sleeps)

    error = error_of(models, tier(model_server))

    assert error.kind is ModelErrorKind.AUTH
    assert f"set {KEY_ENV}" in str(error)
    assert "junior" in str(error)
    assert model_server.requests == []


# -- context window --------------------------------------------------------------------------


@pytest.mark.parametrize("message", [CONTEXT_MESSAGE, "Input too long."])
def test_context_length_exceeded_is_context_window(model_server, models, sleeps, message):
    model_server.script(MODEL, [http_error(400, message, code="context_length_exceeded")])

    error = error_of(models, tier(model_server))

    assert error.kind is ModelErrorKind.CONTEXT_WINDOW
    assert len(model_server.requests) == 1
    assert sleeps.calls == []


# -- unavailable and timeouts ----------------------------------------------------------------


def test_stopped_server_is_unavailable_and_names_the_api_base(sleeps):
    server = ScriptedModelServer().start()
    spec = tier(server)
    server.stop()
    models = LiteLLMModels(env={KEY_ENV: KEY}, sleep=sleeps)

    error = error_of(models, spec)

    assert error.kind is ModelErrorKind.UNAVAILABLE
    assert f"model server at {spec.api_base} unreachable" in str(error)
    assert sleeps.calls == [1.0]  # one retry, after the injected backoff


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_retried_once_then_unavailable(model_server, models, status):
    model_server.script(MODEL, [http_error(status, "upstream overloaded")])

    error = error_of(models, tier(model_server))

    assert error.kind is ModelErrorKind.UNAVAILABLE
    assert len(model_server.requests) == 2


def test_a_single_503_is_recovered_by_the_retry(model_server, models):
    model_server.script(MODEL, [http_error(503, "warming up"), reply("ok")])

    assert models.complete(tier(model_server), MESSAGES).text == "ok"
    assert len(model_server.requests) == 2


def test_unknown_model_is_unavailable_without_retry(model_server, models):
    error = error_of(models, tier(model_server))  # nothing scripted: the server answers 404

    assert error.kind is ModelErrorKind.UNAVAILABLE
    assert len(model_server.requests) == 1


def test_slow_beyond_the_timeout_is_timeout_after_exactly_two_requests(model_server, models):
    model_server.script(MODEL, [slow(10)])
    error = error_of(models, tier(model_server, timeout=0.5))

    assert error.kind is ModelErrorKind.TIMEOUT
    assert len(model_server.requests) == 2


def test_one_slow_answer_is_recovered_by_the_retry(model_server, models):
    model_server.script(MODEL, [slow(10), reply("ok")])

    assert models.complete(tier(model_server, timeout=0.5), MESSAGES).text == "ok"
    assert len(model_server.requests) == 2


# -- bad responses ---------------------------------------------------------------------------


def test_garbage_is_bad_response_without_retry(model_server, models):
    model_server.script(MODEL, [garbage()])

    error = error_of(models, tier(model_server))

    assert error.kind is ModelErrorKind.BAD_RESPONSE
    assert len(model_server.requests) == 1


@pytest.mark.parametrize(
    "body",
    [
        {"id": "x", "object": "chat.completion", "created": 1, "model": MODEL},
        {"id": "x", "object": "chat.completion", "created": 1, "model": MODEL, "choices": []},
        "[1, 2, 3]",
    ],
)
def test_a_body_without_choices_is_bad_response(model_server, models, body):
    model_server.script(MODEL, [raw(body)])

    error = error_of(models, tier(model_server))

    assert error.kind is ModelErrorKind.BAD_RESPONSE
    assert len(model_server.requests) == 1


def test_no_content_is_bad_response_and_keeps_the_usage(model_server, models):
    choice = {
        "index": 0,
        "message": {"role": "assistant", "content": None},
        "finish_reason": "stop",
    }
    model_server.script(
        MODEL,
        [
            raw(
                {
                    "id": "x",
                    "object": "chat.completion",
                    "created": 1,
                    "model": MODEL,
                    "choices": [choice],
                    "usage": {"prompt_tokens": 9, "completion_tokens": 0, "total_tokens": 9},
                }
            )
        ],
    )

    error = error_of(models, tier(model_server))

    assert error.kind is ModelErrorKind.BAD_RESPONSE
    assert error.usage == Usage(9, 0)


def test_other_4xx_is_bad_response_without_retry(model_server, models):
    model_server.script(MODEL, [http_error(422, "max_tokens is too large")])

    error = error_of(models, tier(model_server))

    assert error.kind is ModelErrorKind.BAD_RESPONSE
    assert len(model_server.requests) == 1


# -- no global state -------------------------------------------------------------------------


def test_calls_never_write_os_environ_or_litellm_globals(model_server, sleeps):
    import litellm

    model_server.script(
        MODEL,
        [
            reply("ok"),
            http_error(401, "bad key"),
            http_error(429, "slow", {"retry-after": "1"}),
        ],
    )
    models = LiteLLMModels(env={KEY_ENV: KEY, "OPENAI_API_KEY": "sk-other"}, sleep=sleeps)
    environ_before = dict(os.environ)
    globals_before = (
        litellm.api_key,
        litellm.openai_key,
        litellm.api_base,
        litellm.drop_params,
        list(litellm.callbacks),
        list(litellm.success_callback),
        list(litellm.failure_callback),
    )

    models.complete(tier(model_server), MESSAGES)
    for _ in range(2):
        with pytest.raises(ModelError):
            models.complete(tier(model_server, max_tokens=99), MESSAGES)
    with pytest.raises(ModelError):
        LiteLLMModels(env={}).complete(tier(model_server), MESSAGES)

    assert dict(os.environ) == environ_before
    assert KEY_ENV not in os.environ
    assert (
        litellm.api_key,
        litellm.openai_key,
        litellm.api_base,
        litellm.drop_params,
        list(litellm.callbacks),
        list(litellm.success_callback),
        list(litellm.failure_callback),
    ) == globals_before


def test_importing_the_adapters_does_not_import_litellm():
    code = (
        "import sys, bot.adapters.llm, bot.adapters.prices\n"
        "table = bot.adapters.prices.load_price_table()\n"
        "assert table, 'empty price table'\n"
        "print('litellm' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    assert out.strip() == "False"


# -- prices ----------------------------------------------------------------------------------


def test_price_table_is_per_million_tokens_from_litellms_bundled_file():
    table = load_price_table()

    assert table["gpt-4o-mini"] == Price(input_per_mtok=0.15, output_per_mtok=0.6)
    assert "sample_spec" not in table
    assert all(p.input_per_mtok >= 0 and p.output_per_mtok >= 0 for p in table.values())
    assert load_price_table() == table  # cached; a copy each time
    assert load_price_table() is not table


def test_price_entries_without_both_prices_are_left_out():
    table = parse_price_table(
        {
            "sample_spec": {"input_cost_per_token": 0.0, "output_cost_per_token": 0.0},
            "a": {"input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05},
            "image-only": {"input_cost_per_token": None, "output_cost_per_image": 0.04},
            "bad": {"input_cost_per_token": "free", "output_cost_per_token": 0.0},
            "broken": "not a mapping",
        }
    )

    assert table == {"a": Price(3.0, 15.0)}
    assert parse_price_table([1, 2]) == {}
