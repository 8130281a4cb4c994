"""Write a new GitHub App's credentials where ``tierbot serve`` reads them: all or nothing.

Each file is staged under a temporary name in the target folder (owner-only, fsynced) and then
renamed into place, the env file last because it names the key; without ``force`` an existing
file is never replaced. On any failure the staged and placed files are removed again.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from bot import app_manifest
from bot.app_manifest import AppCredentials

ENV_FILE = "app.env"
KEY_FILE = "private-key.pem"


class CredentialsNotWritten(Exception):
    """Nothing was written; the message says why and what to do on GitHub."""


def write_credentials(
    directory: Path, credentials: AppCredentials, *, api_url: str, force: bool = False
) -> tuple[Path, Path]:
    """Write ``(env file, key file)`` into ``directory`` or raise CredentialsNotWritten."""
    env_path, key_path = directory / ENV_FILE, directory / KEY_FILE
    created = not directory.exists()
    staged: list[tuple[Path, Path]] = []
    placed: list[tuple[Path, Path | None]] = []  # (final, the backup of what it replaced)
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if created:
            # The folder holds secrets: keep the whole of it out of git.
            staged.append((_stage(directory, ".gitignore", "*\n", 0o644), directory / ".gitignore"))
        env_text = app_manifest.env_file_text(
            credentials, key_path=str(key_path.resolve()), api_url=api_url
        )
        staged.append((_stage(directory, KEY_FILE, credentials.pem), key_path))
        staged.append((_stage(directory, ENV_FILE, env_text), env_path))
        for temp, final in staged:
            placed.append((final, _place(temp, final, force=force)))
        _sync_dir(directory)
    except (OSError, ValueError) as exc:
        _undo(staged, placed, directory if created else None)
        raise CredentialsNotWritten(_unwritten(credentials, directory, exc)) from None
    for _, backup in placed:
        if backup is not None:
            backup.unlink(missing_ok=True)
    return env_path, key_path


def _undo(
    staged: list[tuple[Path, Path]],
    placed: list[tuple[Path, Path | None]],
    created: Path | None,
) -> None:
    for temp, _ in staged:
        temp.unlink(missing_ok=True)
    for final, backup in reversed(placed):
        if backup is not None:
            os.replace(backup, final)
        else:
            final.unlink(missing_ok=True)
    if created is not None:
        with contextlib.suppress(OSError):
            created.rmdir()


def _unwritten(credentials: AppCredentials, directory: Path, exc: Exception) -> str:
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return (
        f"GitHub created the App {credentials.name!r} (id {credentials.app_id}), but its "
        f"credentials cannot be written to {directory}: {reason}. Nothing was written; "
        f"generate a new private key and webhook secret on {credentials.html_url} (or delete "
        "the App there) and set them as docs/deploy.md describes."
    )


def _stage(directory: Path, name: str, text: str, mode: int = 0o600) -> Path:
    fd, temp = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)  # exact, whatever the umask
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        os.unlink(temp)
        raise
    return Path(temp)


def _place(temp: Path, final: Path, *, force: bool) -> Path | None:
    """Move ``temp`` to ``final``; returns a hard-link backup of a file it replaced."""
    try:
        if not force:
            # A hard link fails if ``final`` exists: a file that appeared meanwhile is kept.
            os.link(temp, final)
            return None
        backup = None
        if final.is_file():
            backup = final.with_name(f".{final.name}.{os.getpid()}.old")
            backup.unlink(missing_ok=True)
            os.link(final, backup)
        try:
            os.replace(temp, final)
        except OSError:
            if backup is not None:
                backup.unlink()
            raise
        return backup
    finally:
        temp.unlink(missing_ok=True)


def _sync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
