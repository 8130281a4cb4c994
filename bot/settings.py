"""Process settings, read once from the environment at the edge and passed down explicitly."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    db_url: str | None  # TIERBOT_DB_URL; None: a SQLite file inside the repository's git dir
    env: Mapping[str, str]  # snapshot handed to adapters that need keys or run commands

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        return cls(db_url=environ.get("TIERBOT_DB_URL") or None, env=dict(environ))

    def ledger_url(self, git_dir: Path) -> str:
        if self.db_url:
            return self.db_url
        return f"sqlite:///{git_dir.resolve() / 'tierbot' / 'ledger.sqlite3'}"
