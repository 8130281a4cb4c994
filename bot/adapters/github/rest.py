"""The GitHub forge: every read and write the bot makes on GitHub, through PyGithub and git.

``GitHubForge`` acts as one App installation. Its methods return the port's frozen dataclasses
(``bot/ports/github.py``), never PyGithub objects, so the rest of the bot neither depends on
PyGithub nor can trigger a hidden request by touching an attribute. Requests go through the
REST client (``client.py``); the calls are grouped by what they touch (``issues.py``,
``pulls.py``, ``actions.py``); clones and pushes go through the git transport
(``transport.py``).
"""

from __future__ import annotations

from types import TracebackType

from bot.adapters.github.actions import ActionsCalls
from bot.adapters.github.auth import GitHubConfigError
from bot.adapters.github.issues import IssueCalls
from bot.adapters.github.pulls import PullCalls
from bot.adapters.github.transport import GitTransportError, InvalidName
from bot.ports.github import GitHubError, GitHubRateLimited


class GitHubForge(IssueCalls, PullCalls, ActionsCalls):
    """One App installation's view of GitHub. No I/O until a method is called."""

    def __repr__(self) -> str:
        return f"GitHubForge(installation_id={self.installation_id}, api_url={self.api_url!r})"

    def __enter__(self) -> GitHubForge:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# Statuses of a final GitHub answer that a later try may not get: the rest of 4xx is final.
_RETRYABLE_4XX = frozenset({401, 408, 409, 429})


def is_permanent(exc: BaseException) -> bool:
    """Whether a job that raised ``exc`` fails for good now rather than being tried again.

    Permanent: GitHub's 4xx answers (404 gone, 422 invalid, 403 forbidden; never a rate limit,
    which ``GitHubRateLimited`` or a retry-after marks), git refusals and missing repositories,
    names GitHub would refuse, unusable App settings. Transient: 5xx, timeouts, dropped
    connections, rate limits, a token GitHub refused, a push racing another one. A cause
    (``raise ... from``) is looked at as well.
    """
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, GitHubRateLimited):
            return False
        if isinstance(seen, GitHubError) and seen.status is not None:
            return 400 <= seen.status < 500 and seen.status not in _RETRYABLE_4XX
        if isinstance(seen, GitTransportError):
            return seen.permanent
        if isinstance(seen, InvalidName | GitHubConfigError):
            return True
        seen = seen.__cause__
    return False
