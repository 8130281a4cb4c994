"""Provider errors classified by the error table of ``bot.adapters.llm``, keys scrubbed."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from bot.ports import ModelErrorKind
from bot.spec import TierSpec

# Sent when a tier has no key configured: litellm's OpenAI-compatible clients refuse to send a
# request without one, and local servers (Ollama, llama.cpp) ignore it.
PLACEHOLDER_API_KEY = "tierbot-no-key"
_DETAIL_CHARS = 300

# litellm prefixes provider messages with its own class names, sometimes twice:
# "litellm.RateLimitError: RateLimitError: OpenAIException - slow down".
_LITELLM_PREFIX = re.compile(r"^(?:litellm\.\w+:\s*|\w+Error:\s*|\w+Exception\s*-\s*)+")
# Key-shaped strings a provider may echo back ("Incorrect API key provided: sk-proj-***abcd").
_KEY_SHAPED = re.compile(r"\b(?:sk|pk|rk|key|gsk|xai)-[A-Za-z0-9_\-*.]{4,}|Bearer\s+\S+", re.I)
# What litellm says when a 200 response is not a usable completion (it raises these as an
# InternalServerError, which would otherwise look like a server outage).
_BAD_RESPONSE_TEXT = re.compile(
    r"no 'choices'|Empty or invalid response|Error in response object format|"
    r"Invalid response object|Received response - <APIResponse \[2\d\d",
    re.I,
)
_CONTEXT_TEXT = re.compile(r"context_length_exceeded|maximum context length|context window", re.I)


@dataclass(frozen=True)
class Failure:
    """A provider error classified: its kind, the message, and how to retry it."""

    kind: ModelErrorKind
    message: str
    retry: str  # "none" | "transient" | "rate"
    retry_after: float | None = None


def classify(exc: Exception, tier: TierSpec, litellm: Any, api_key: str) -> Failure | None:
    """Map a litellm exception to the error table; ``None`` for errors that are not the model's."""
    import openai  # a litellm dependency; its exceptions are the bases of litellm's

    if not isinstance(exc, openai.OpenAIError):
        return None
    status = _status(exc)
    detail = _detail(exc, api_key)
    return _refused(exc, tier, litellm, openai, status, detail) or _failed(
        exc, tier, litellm, openai, status, detail
    )


def _where(tier: TierSpec) -> tuple[str, str]:
    return f"tier {tier.name!r} ({tier.model})", tier.api_base or "the provider's default endpoint"


def _refused(
    exc: Exception, tier: TierSpec, litellm: Any, openai: Any, status: int | None, detail: str
) -> Failure | None:
    """The first rows of the table: the call was answered with a refusal."""
    where, server = _where(tier)
    if isinstance(exc, litellm.Timeout):
        return Failure(
            ModelErrorKind.TIMEOUT,
            f"{where}: no answer from {server} within {tier.timeout:g} s (tried twice)",
            "transient",
        )
    if isinstance(exc, litellm.RateLimitError) or status == 429:
        retry_after = _retry_after(exc)
        return Failure(
            ModelErrorKind.RATE_LIMITED,
            f"{where}: rate limited by {server}: {detail}",
            "rate",
            retry_after=retry_after,
        )
    refused = litellm.AuthenticationError | litellm.PermissionDeniedError
    if isinstance(exc, refused) or status in (401, 403):
        return Failure(ModelErrorKind.AUTH, _auth_message(tier, status, detail), "none")
    if isinstance(exc, litellm.ContextWindowExceededError) or (
        isinstance(exc, openai.BadRequestError) and _is_context_error(exc, detail)
    ):
        return Failure(
            ModelErrorKind.CONTEXT_WINDOW,
            f"{where}: the prompt does not fit the model's context window: {detail}",
            "none",
        )
    return None


def _failed(
    exc: Exception, tier: TierSpec, litellm: Any, openai: Any, status: int | None, detail: str
) -> Failure:
    """The other rows: no usable answer, no such model, no server, or a request refused."""
    where, server = _where(tier)
    if _is_bad_response(exc, openai, detail):
        return Failure(
            ModelErrorKind.BAD_RESPONSE,
            f"{where}: {server} answered with something that is not a chat completion: {detail}",
            "none",
        )
    if isinstance(exc, litellm.NotFoundError) or status == 404:
        return Failure(
            ModelErrorKind.UNAVAILABLE,
            f"{where}: model server at {server} does not serve this model (404): {detail}",
            "none",
        )
    if (
        isinstance(
            exc,
            litellm.APIConnectionError
            | litellm.ServiceUnavailableError
            | litellm.InternalServerError
            | litellm.BadGatewayError
            | openai.APIConnectionError,
        )
        or _in_chain(exc, openai.APIConnectionError)
        or (status is not None and status >= 500)
    ):
        return Failure(
            ModelErrorKind.UNAVAILABLE,
            f"{where}: model server at {server} unreachable or failing (tried twice): {detail}",
            "transient",
        )
    if status is not None and 400 <= status < 500:
        return Failure(
            ModelErrorKind.BAD_RESPONSE,
            f"{where}: {server} rejected the request (HTTP {status}): {detail}",
            "none",
        )
    return Failure(
        ModelErrorKind.UNAVAILABLE,
        f"{where}: model call to {server} failed: {detail}",
        "none",
    )


def _auth_message(tier: TierSpec, status: int | None, detail: str) -> str:
    code = f"HTTP {status}" if status else "auth error"
    head = f"tier {tier.name!r} ({tier.model}): the provider refused the credentials ({code}: "
    if tier.api_key_env:
        return f"{head}{detail}); check that {tier.api_key_env} holds a valid key for this model"
    return (
        f"{head}{detail}); tier {tier.name!r} has no api_key_env: set "
        f"tiers.{tier.name}.api_key_env to the NAME of the variable holding the key"
    )


def _status(exc: Exception) -> int | None:
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None


def _detail(exc: Exception, api_key: str) -> str:
    text = getattr(exc, "message", None)
    if not isinstance(text, str) or not text:
        text = str(exc)
    text = _LITELLM_PREFIX.sub("", text.strip()).strip()
    return _scrub(text, api_key)[:_DETAIL_CHARS] or type(exc).__name__


def _scrub(text: str, api_key: str) -> str:
    if api_key and api_key != PLACEHOLDER_API_KEY:
        text = text.replace(api_key, "***")
    return _KEY_SHAPED.sub("***", text)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _in_chain(exc: BaseException, kinds: type | tuple[type, ...]) -> bool:
    return any(isinstance(e, kinds) for e in _chain(exc))


def _is_context_error(exc: Exception, detail: str) -> bool:
    code = getattr(exc, "code", None)
    body = getattr(exc, "body", None)
    if isinstance(body, Mapping):
        code = code or body.get("code")
    return code == "context_length_exceeded" or bool(_CONTEXT_TEXT.search(detail))


def _is_bad_response(exc: Exception, openai: Any, detail: str) -> bool:
    if _in_chain(exc, (json.JSONDecodeError, openai.APIResponseValidationError)):
        return True
    return any(_BAD_RESPONSE_TEXT.search(str(e)) for e in _chain(exc))


def _retry_after(exc: Exception) -> float | None:
    """Seconds from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date)."""
    headers = getattr(exc, "litellm_response_headers", None)
    if headers is None:
        response = getattr(exc, "response", None)
        headers = getattr(response, "headers", None)
    if headers is None or not hasattr(headers, "get"):
        return None
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime  # ~10 ms to import; only needed here

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
