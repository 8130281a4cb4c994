"""Process settings, read once from the environment at the edge and passed down explicitly."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


class EnvFileError(ValueError):
    """An env file that cannot be read or parsed; the message names the file and line."""


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


def read_env_file(path: Path) -> dict[str, str]:
    """``NAME=value`` lines (``tierbot init`` writes one), parsed as python-dotenv does;
    a line it cannot parse is an error, not a variable silently missing."""
    from dotenv.parser import parse_stream

    try:
        with path.open(encoding="utf-8") as stream:
            bindings = list(parse_stream(stream))
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise EnvFileError(f"cannot read the env file {path}: {reason}") from None
    values: dict[str, str] = {}
    for binding in bindings:
        if binding.error:
            raise EnvFileError(f"{path}:{binding.original.line}: not a NAME=value line")
        if binding.key is not None:
            values[binding.key] = binding.value or ""
    return values


def environ_with_file(
    environ: Mapping[str, str], env_file: Path | None
) -> tuple[dict[str, str], list[str]]:
    """The process environment over the file's values (as docker and dotenv do), and the
    names whose file value the environment overrides, so the caller can say so."""
    if env_file is None:
        return dict(environ), []
    values = read_env_file(env_file)
    shadowed = sorted(n for n, v in values.items() if n in environ and environ[n] != v)
    return {**values, **environ}, shadowed
