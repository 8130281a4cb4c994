"""Process settings, read once from the environment at the edge and passed down explicitly."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    db_url: str | None  # TIERBOT_DB_URL; None: a SQLite file chosen by the command
    env: Mapping[str, str] = field(repr=False)  # snapshot for adapters that need keys
    webhook_secret: str = field(default="", repr=False)  # TIERBOT_WEBHOOK_SECRET
    workdir: Path = Path(".tierbot-work")  # TIERBOT_WORKDIR: clones of target repositories
    # TIERBOT_GITHUB_PACING=off drops the spacing between API requests that keeps a busy
    # installation clear of GitHub's secondary rate limits (for an emulator or a quiet GHES).
    github_pacing: bool = True

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        return cls(
            db_url=environ.get("TIERBOT_DB_URL") or None,
            env=dict(environ),
            webhook_secret=environ.get("TIERBOT_WEBHOOK_SECRET", ""),
            workdir=Path(environ.get("TIERBOT_WORKDIR") or Path.home() / ".cache/tierbot/work"),
            github_pacing=environ.get("TIERBOT_GITHUB_PACING", "on").lower() != "off",
        )

    def ledger_url(self, git_dir: Path) -> str:
        """For the CLI on a local repository: a SQLite file inside its git directory."""
        if self.db_url:
            return self.db_url
        return f"sqlite:///{git_dir.resolve() / 'tierbot' / 'ledger.sqlite3'}"

    def server_db_url(self) -> str:
        """For the server and its workers: one database they share."""
        return self.db_url or f"sqlite:///{Path('tierbot.sqlite3').resolve()}"
