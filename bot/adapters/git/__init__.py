"""Git through GitPython and the git command line: task worktrees and the read-only checkout view
(``worktree.py``), clones that push (``pushing.py``), and the commands the pull request
services run (``commands.py``)."""

from bot.adapters.git.commands import CliGit
from bot.adapters.git.identity import BOT_EMAIL, BOT_NAME
from bot.adapters.git.pushing import PushingWorkspace
from bot.adapters.git.sources import read_source
from bot.adapters.git.worktree import (
    CheckoutView,
    CommitRefused,
    GitError,
    GitWorkspace,
    LocalRepo,
    NotARepository,
    NothingToCommit,
    PushFailed,
    UnsafeEdit,
)

__all__ = [
    "BOT_EMAIL",
    "BOT_NAME",
    "CheckoutView",
    "CliGit",
    "CommitRefused",
    "GitError",
    "GitWorkspace",
    "LocalRepo",
    "NotARepository",
    "NothingToCommit",
    "PushFailed",
    "PushingWorkspace",
    "UnsafeEdit",
    "read_source",
]
