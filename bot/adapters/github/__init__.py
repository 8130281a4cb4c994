"""GitHub: the REST forge (``rest.py``), App credentials (``auth.py``), the retry policy
(``retry.py``), and git over HTTPS with its askpass helper (``transport.py``, ``askpass.py``)."""

from bot.adapters.github.auth import DEFAULT_API_URL, GitHubApp, GitHubConfigError
from bot.adapters.github.rest import GitHubForge, is_permanent
from bot.adapters.github.retry import RetryPolicy
from bot.adapters.github.transport import GitTransportError, InvalidName, git_base_url
from bot.ports.github import (
    CheckRunInfo,
    CommentInfo,
    GitHubError,
    GitHubRateLimited,
    InlineComment,
    IssueInfo,
    JobInfo,
    PullFile,
    PullInfo,
    WorkflowRunInfo,
)

__all__ = [
    "DEFAULT_API_URL",
    "CheckRunInfo",
    "CommentInfo",
    "GitHubApp",
    "GitHubConfigError",
    "GitHubError",
    "GitHubForge",
    "GitHubRateLimited",
    "GitTransportError",
    "InlineComment",
    "InvalidName",
    "IssueInfo",
    "JobInfo",
    "PullFile",
    "PullInfo",
    "RetryPolicy",
    "WorkflowRunInfo",
    "git_base_url",
    "is_permanent",
]
