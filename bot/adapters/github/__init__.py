"""GitHub: the REST forge (``rest.py``), App credentials and the retry policy (``auth.py``), and
the askpass helper that hands a token to git (``askpass.py``)."""

from bot.adapters.github.auth import DEFAULT_API_URL, GitHubApp, GitHubConfigError, RetryPolicy
from bot.adapters.github.rest import (
    GitHubForge,
    GitTransportError,
    InvalidName,
    git_base_url,
    is_permanent,
)
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
