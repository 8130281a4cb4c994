"""The error and retry policy every GitHub request shares (the API, the token exchange, git).

The retry policy (``retry_delay``) is a pure function of one failed response, so it is shared by
the token exchange (``auth.py``) and by the forge's PyGithub calls, and tested without a server:

- 5xx, a dropped connection or a timeout -> exponential backoff (1, 2, 4 s ...).
- 429, or 403 with ``retry-after`` or a rate-limit message -> ``retry-after`` (seconds or an
  HTTP date) if sent, else ``x-ratelimit-reset`` when ``x-ratelimit-remaining`` is 0, else a
  minute for a secondary limit (GitHub's advice), else the backoff.
- a wait longer than ``max_wait_s`` (a primary limit resetting in 40 minutes) is not slept
  through: it ends as ``GitHubRateLimited`` carrying ``retry_after`` for the caller to reschedule.
- any other 4xx -> ``GitHubError`` at once, never a retry loop.
"""

from __future__ import annotations

import email.utils
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import requests

from bot.ports.github import GitHubError, GitHubRateLimited

_T = TypeVar("_T")
_MESSAGE_CHARS = 400


@dataclass(frozen=True)
class RetryPolicy:
    tries: int = 4  # attempts in all, the first included
    backoff_s: float = 1.0  # 5xx and network errors: backoff_s * 2**retry, capped
    max_backoff_s: float = 30.0
    secondary_wait_s: float = 60.0  # a secondary limit that names no time: GitHub says a minute
    max_wait_s: float = 120.0  # never sleep longer than this for one retry


@dataclass(frozen=True)
class Failure:
    """One failed attempt, whatever raised it: HTTP status (None: network) and GitHub's words."""

    status: int | None
    headers: Mapping[str, str]  # lower-case names
    message: str

    @classmethod
    def from_response(cls, response: requests.Response) -> Failure:
        return cls(response.status_code, _lower(response.headers), _message_of(response))


def _lower(headers: Mapping[str, Any]) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in headers.items()}


def _message_of(response: requests.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:_MESSAGE_CHARS] or response.reason or ""
    return describe_body(data) or response.reason or ""


def describe_body(data: Any) -> str:
    """GitHub's error body as one line: ``message`` plus any ``errors`` (422 details)."""
    if not isinstance(data, dict):
        return str(data)[:_MESSAGE_CHARS] if data else ""
    message = str(data.get("message") or "")
    details = []
    for error in data.get("errors") or []:
        if isinstance(error, dict):
            text = error.get("message") or " ".join(
                str(error[k]) for k in ("resource", "field", "code") if error.get(k)
            )
            details.append(str(text))
        else:
            details.append(str(error))
    if details:
        message = f"{message} ({'; '.join(details)})" if message else "; ".join(details)
    return message[:_MESSAGE_CHARS]


_RATE_LIMIT_ENDINGS = (
    "please retry your request again later.",
    "please wait a few minutes before you try again.",
)


def _is_rate_limit_message(message: str) -> bool:
    lowered = message.lower()
    return "rate limit" in lowered or lowered.endswith(
        (
            "please retry your request again later.",
            "please wait a few minutes before you try again.",
        )
    )


def _retry_after(value: str | None, now: float) -> float | None:
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def retry_delay(failure: Failure, retry: int, now: float, policy: RetryPolicy) -> float | None:
    """Seconds to wait before retry number ``retry`` (0-based), or None: the failure is final.

    May exceed ``policy.max_wait_s``; the caller turns that into ``GitHubRateLimited``.
    """
    backoff = min(policy.max_backoff_s, policy.backoff_s * 2.0**retry)
    status, headers = failure.status, failure.headers
    if status is None or status >= 500:
        return backoff
    limited = status == 429 or (
        status == 403 and ("retry-after" in headers or _is_rate_limit_message(failure.message))
    )
    if not limited:
        return None
    after = _retry_after(headers.get("retry-after"), now)
    if after is not None:
        return after
    reset = headers.get("x-ratelimit-reset", "")
    if headers.get("x-ratelimit-remaining") == "0" and reset.isdigit():
        # +1: GitHub does not say when within that second the window resets.
        return max(0.0, int(reset) - now) + 1.0
    if "secondary rate limit" in failure.message.lower() or status == 403:
        return max(policy.secondary_wait_s, backoff)
    return backoff


def run_with_retries(
    operation: str,
    attempt: Callable[[], _T],
    *,
    classify: Callable[[BaseException], Failure | None],
    policy: RetryPolicy,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    redact: Callable[[str], str],
    on_retry: Callable[[str, Failure, float, int], None] | None = None,
    on_unauthorized: Callable[[], bool] | None = None,
) -> _T:
    """Call ``attempt`` until it succeeds, the failure is final, or the tries run out.

    ``classify`` maps an exception to a ``Failure`` (None: not a GitHub failure, re-raised as
    is). ``on_unauthorized`` is asked once on a 401; returning True retries at once (a fresh
    token was arranged).
    """
    reauthorized = False
    retry = 0
    while True:
        try:
            return attempt()
        except Exception as exc:
            failure = classify(exc)
            if failure is None:
                raise
        message = redact(failure.message)
        if failure.status == 401 and not reauthorized and on_unauthorized is not None:
            reauthorized = True
            if on_unauthorized():
                continue
        delay = retry_delay(failure, retry, clock(), policy)
        if delay is None:
            raise GitHubError(operation, failure.status, message) from None
        if delay > policy.max_wait_s:
            raise GitHubRateLimited(
                operation,
                failure.status,
                f"{message} (retry after {delay:.0f} s)",
                retry_after=delay,
            ) from None
        retry += 1
        if retry >= policy.tries:
            raise GitHubError(
                operation, failure.status, f"{message} (gave up after {policy.tries} tries)"
            ) from None
        if on_retry is not None:
            on_retry(operation, Failure(failure.status, failure.headers, message), delay, retry)
        sleep(delay)


class HttpFailure(Exception):
    """Raised inside an attempt for a non-2xx answer the caller read itself."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.status)
        self.failure = failure


# The request may never have reached GitHub, or its answer was cut short: worth another try.
NETWORK_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)


def classify_requests_error(exc: BaseException) -> Failure | None:
    """The ``Failure`` in an ``HttpFailure`` or a network error; None for anything else."""
    if isinstance(exc, HttpFailure):
        return exc.failure
    if isinstance(exc, NETWORK_ERRORS):
        return Failure(None, {}, f"{type(exc).__name__} talking to GitHub")
    return None
