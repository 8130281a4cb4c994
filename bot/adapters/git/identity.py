"""Who the bot's commits are by, which hooks they skip, and what a refused commit said."""

from __future__ import annotations

from collections.abc import Mapping

from bot import RUN_COMMIT_ENV

BOT_NAME = "tierbot"
BOT_EMAIL = "tierbot@users.noreply.github.com"
OWN_HOOK_IDS = ("tierbot-tests", "tierbot-stubs")  # .pre-commit-hooks.yaml
HOOK_OUTPUT_LINES = 12


def bot_identity() -> dict[str, str]:
    return {
        "GIT_AUTHOR_NAME": BOT_NAME,
        "GIT_AUTHOR_EMAIL": BOT_EMAIL,
        "GIT_COMMITTER_NAME": BOT_NAME,
        "GIT_COMMITTER_EMAIL": BOT_EMAIL,
    }


def commit_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The bot's identity, and its own hooks skipped: pre-commit's documented ``SKIP`` for the
    framework's hooks, ``RUN_COMMIT_ENV`` for the plain git hook."""
    skip = [s for s in environ.get("SKIP", "").split(",") if s.strip()]
    skip += [h for h in OWN_HOOK_IDS if h not in skip]
    return {**bot_identity(), RUN_COMMIT_ENV: "1", "SKIP": ",".join(skip)}


def refused_message(output: str) -> str:
    """What ``git commit`` said when it refused, with the hook's last lines."""
    lines = [line.rstrip() for line in output.splitlines() if line.strip()]
    if not lines:
        return "git commit failed (a hook rejected it without output)"
    shown = "\n".join(lines[-HOOK_OUTPUT_LINES:])
    return f"git commit was rejected (a pre-commit hook?); it said:\n{shown}"
