"""The Models port over litellm: the only place litellm is imported, lazily, inside ``complete``.

litellm costs seconds to import, so nothing here imports it at module level: the pre-commit
path and the web process load this module for free and never pay for litellm unless a model
tier is actually called.

Everything reaches litellm per call (model, api_base, key, timeout, ``num_retries=0``): this
adapter never writes ``os.environ`` and never sets litellm's module globals, because the same
process may serve several tiers and repositories at once. Retries are done here instead, by
the error table below, so that escalation sees one ``ModelError`` with a ``kind`` it can act on.

Error table (what litellm raises -> what this adapter does -> the ``ModelErrorKind``):

- ``Timeout`` -> one retry -> TIMEOUT.
- ``RateLimitError`` / HTTP 429 -> sleep ``retry-after-ms`` or ``retry-after`` (seconds or an
  HTTP date; capped at ``max_retry_after``), else 1, 2, 4 s; up to ``max_rate_limit_retries``
  retries -> RATE_LIMITED, with the server's ``retry_after`` when it sent one.
- ``AuthenticationError``, ``PermissionDeniedError``, any 401/403 (litellm raises a bare
  ``APIError`` for an OpenAI-compatible 403) -> no retry -> AUTH, naming the tier and the
  variable, never the key. A configured but unset variable -> AUTH before any request.
- ``ContextWindowExceededError``, or a 400 whose code is ``context_length_exceeded`` (litellm
  only recognises the error by its message text) -> no retry -> CONTEXT_WINDOW.
- a 2xx that is not a usable completion: non-JSON body, no ``choices``, no text (litellm raises
  the first two as ``InternalServerError``) -> no retry -> BAD_RESPONSE.
- ``NotFoundError`` (404: the server does not serve this model) -> no retry -> UNAVAILABLE.
- ``APIConnectionError``, ``ServiceUnavailableError``, ``InternalServerError``,
  ``BadGatewayError``, other 5xx -> one retry after 1 s -> UNAVAILABLE.
- other 4xx (``BadRequestError``, ``UnprocessableEntityError``) -> no retry -> BAD_RESPONSE.

Keys come only from the ``env`` this adapter is given, which the edge fills with the operator's
allowed key variables and nothing else (``Settings.model_keys``), and every message passes
``redact`` before it is sent (the edge's ``Redactor.tokens``: the process's secret values and
token shapes), whatever built the prompt.

Timeouts and unreachable servers share the one retry. Exceptions that are not provider errors
(programming errors) propagate unchanged.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bot.adapters.llm_errors import PLACEHOLDER_API_KEY, classify
from bot.core.logs import scrub_tokens
from bot.core.types import Completion, Message, Usage
from bot.ports import ModelError, ModelErrorKind
from bot.spec import TierSpec

_TRANSIENT_RETRIES = 1  # one retry for a timeout or an unreachable server, shared
_TRANSIENT_BACKOFF_S = 1.0


class LiteLLMModels:
    """Call a tier's model through litellm; raise ``ModelError`` by the table in the module doc."""

    def __init__(
        self,
        *,
        env: Mapping[str, str],
        sleep: Callable[[float], None] = time.sleep,
        max_rate_limit_retries: int = 3,
        max_retry_after: float = 60.0,
        redact: Callable[[str], str] = scrub_tokens,
    ) -> None:
        self._env = env
        self._redact = redact
        self._sleep = sleep
        self._max_rate_limit_retries = max_rate_limit_retries
        self._max_retry_after = max_retry_after

    def complete(self, tier: TierSpec, messages: Sequence[Message]) -> Completion:
        if tier.is_template or not tier.model:
            raise ValueError(f"tier {tier.name!r} is not a model tier")
        api_key = self._api_key(tier)

        import litellm

        # The one module setting tierbot touches: litellm otherwise prints a "Give Feedback /
        # Get Help" banner on stdout for every exception, which would corrupt `--json` output
        # and hook output. It changes no behaviour of any call.
        litellm.suppress_debug_info = True
        payload = [{"role": m.role, "content": self._redact(m.content)} for m in messages]
        rate_limited = 0
        transient = 0
        while True:
            raw: dict[str, Any] = {}
            started = time.monotonic()
            try:
                response = litellm.completion(
                    model=tier.model,
                    messages=payload,
                    api_base=tier.api_base,
                    api_key=api_key,
                    max_tokens=tier.max_tokens,
                    timeout=tier.timeout,
                    num_retries=0,
                    # A per-call hook, not a global callback: litellm hands it the call details,
                    # which after the call include the provider's response as parsed JSON.
                    logger_fn=_capture_original_response(raw),
                )
            except Exception as exc:
                failure = classify(exc, tier, litellm, api_key)
                if failure is None:
                    raise
                if failure.retry == "transient" and transient < _TRANSIENT_RETRIES:
                    transient += 1
                    if failure.kind is ModelErrorKind.UNAVAILABLE:
                        self._sleep(_TRANSIENT_BACKOFF_S)
                    continue
                if failure.retry == "rate" and rate_limited < self._max_rate_limit_retries:
                    self._sleep(self._rate_limit_delay(failure.retry_after, rate_limited))
                    rate_limited += 1
                    continue
                raise ModelError(
                    failure.kind, failure.message, retry_after=failure.retry_after
                ) from None
            latency = time.monotonic() - started
            return _completion(response, raw.get("original_response"), tier, latency)

    def _api_key(self, tier: TierSpec) -> str:
        if tier.api_key_env:
            key = self._env.get(tier.api_key_env, "")
            if not key.strip():
                raise ModelError(
                    ModelErrorKind.AUTH,
                    f"tier {tier.name!r} ({tier.model}) needs an API key: "
                    f"set {tier.api_key_env} in the environment",
                )
            return key
        # No key configured. Passing a placeholder (rather than None) also keeps litellm from
        # falling back to a provider key it finds in os.environ on its own: the env snapshot
        # given to this adapter is the only place keys come from.
        return PLACEHOLDER_API_KEY

    def _rate_limit_delay(self, retry_after: float | None, retries_done: int) -> float:
        delay = retry_after if retry_after is not None else float(2**retries_done)
        return max(0.0, min(delay, self._max_retry_after))


def _capture_original_response(into: dict[str, Any]) -> Callable[[Mapping[str, Any]], None]:
    def logger_fn(details: Mapping[str, Any]) -> None:
        # Called before the request (no response yet) and after it. Only the response is kept:
        # the details also hold the API key, which must go nowhere.
        original = details.get("original_response")
        if original is not None:
            into["original_response"] = original

    return logger_fn


def _completion(response: Any, original: Any, tier: TierSpec, latency: float) -> Completion:
    usage = _usage(response, original)
    choices = getattr(response, "choices", None) or []
    if not choices:
        raise ModelError(
            ModelErrorKind.BAD_RESPONSE,
            f"tier {tier.name!r} ({tier.model}): the response has no choices",
            usage=usage,
        )
    message = getattr(choices[0], "message", None)
    text = getattr(message, "content", None)
    if not isinstance(text, str) or not text.strip():
        raise ModelError(
            ModelErrorKind.BAD_RESPONSE,
            f"tier {tier.name!r} ({tier.model}): the response has no text content",
            usage=usage,
        )
    # A reply cut off at max_tokens (finish_reason "length") is returned as it is: Completion
    # has no field for it, and the edit parser rejects an incomplete edit on its own.
    assert tier.model is not None
    return Completion(text=text, usage=usage, latency_s=latency, model=tier.model)


def _usage(response: Any, original: Any) -> Usage:
    """The provider's token counts, or ``Usage(None, None)`` when it sent none.

    What litellm 1.110 does when a response has no usage (found by reading its source and
    checked against the scripted server):

    - OpenAI-compatible providers (``openai/...``, and others on the same path): ``completion``
      starts from ``ModelResponse()`` with ``usage = litellm.Usage()``, all zeros, and only
      replaces it when the JSON has a ``usage`` block. So a missing block reads as 0 and 0,
      not as an estimate, and ``_hidden_params`` says nothing about it.
    - ``ollama_chat/...``: when Ollama omits ``prompt_eval_count``/``eval_count`` litellm fills
      them in with its own ``token_counter`` estimate, indistinguishable from real counts in the
      returned object.

    So the provider's own body is read first (captured through the per-call ``logger_fn``):
    an OpenAI-shaped body gives its ``usage`` block or nothing, an Ollama body its
    ``prompt_eval_count``/``eval_count`` or nothing, count by count. For other shapes, or when
    the body is not available, litellm's parsed numbers are used, and 0 prompt tokens with 0
    completion tokens is taken as "not reported": no provider counts a non-empty prompt as 0.
    """
    body = _json_body(original)
    if body is not None and "choices" in body:  # OpenAI-compatible
        block = body.get("usage")
        if not isinstance(block, Mapping):
            return Usage(None, None)
        return Usage(_count(block.get("prompt_tokens")), _count(block.get("completion_tokens")))
    if body is not None and "message" in body and "done" in body:  # Ollama /api/chat
        return Usage(_count(body.get("prompt_eval_count")), _count(body.get("eval_count")))
    parsed = getattr(response, "usage", None)
    prompt = _count(getattr(parsed, "prompt_tokens", None))
    completion = _count(getattr(parsed, "completion_tokens", None))
    if not prompt and not completion:
        return Usage(None, None)
    return Usage(prompt, completion)


def _json_body(original: Any) -> Mapping[str, Any] | None:
    body = original
    if isinstance(body, str | bytes):
        try:
            body = json.loads(body)
        except ValueError:
            return None
    return body if isinstance(body, Mapping) else None


def _count(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None
