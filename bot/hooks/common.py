"""What the hooks share: the repository they run in, staged-file filters, config and output.

This module is on every hook run, so it stays light. A run with nothing to do (the usual case
for a commit) must finish in about the time Python takes to start, which rules out importing
litellm, SQLAlchemy, Jinja2, GitPython, rich or click here; the modules that write import what
they need inside the functions that write.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from bot import REPO_CONFIG_PATH, RUN_COMMIT_ENV
from bot.adapters.pathguard import PathGuard

# Not `typing.TYPE_CHECKING`, and plain classes rather than dataclasses below: typing and
# dataclasses (which pulls in inspect) would be most of a no-op run's import time.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from bot.hooks.audit import Item
    from bot.spec import RepoConfig

EXIT_OK = 0
EXIT_CHANGED = 1  # files were written, or a staged file could not be read: nothing committed
EXIT_CONFIG = 2  # the repository config is invalid, or this is not a git work tree

# bot.spec's DEFAULT_STUB_MARKER, repeated so that a run in a repository without a config
# file never imports the configuration (a test keeps them equal).
DEFAULT_MARKER = "# tierbot: stub"

# Names pytest and the template tier treat as scripts or fixtures, never as modules to test.
NOT_TESTABLE = frozenset({"conftest.py", "setup.py", "noxfile.py", "__main__.py"})


class HookError(Exception):
    """The hook cannot run at all; the message is one line and ``code`` the exit status."""

    def __init__(self, message: str, code: int = EXIT_CONFIG) -> None:
        super().__init__(message)
        self.code = code


Echo = Callable[[str], None]


def echo(line: str) -> None:
    print(line, flush=True)


def is_python(path: str) -> bool:
    return path.endswith(".py")


def is_test_path(path: str) -> bool:
    """A test module or fixture file by pytest's conventions (and the template tier's)."""
    from bot.core.suite.layout import is_test_path as rule

    return rule(path)


def normalize(path: str) -> str:
    path = path.replace(os.sep, "/") if os.sep != "/" else path
    while path.startswith("./"):
        path = path[2:]
    return path


class Repo:
    """The work tree a hook runs in; git is asked only for what a run actually needs."""

    def __init__(
        self, root: Path, *, env: Mapping[str, str] | None = None, cwd: Path | None = None
    ) -> None:
        self.root = root
        self.env: Mapping[str, str] = dict(os.environ) if env is None else env
        self.cwd = cwd  # where relative paths on the command line start; None: the root
        self._files: list[str] | None = None
        # Every file a hook reads or writes goes through it: a staged symbolic link is never
        # followed, so a hook neither sends an outside file to a model nor writes one.
        self.guard = PathGuard(root)

    @classmethod
    def at_cwd(cls) -> Repo:
        """The work tree around the current directory.

        git and pre-commit both run hooks from the top of the work tree, so a ``.git`` entry
        (a directory, or a file in a linked worktree) answers without starting git.
        """
        cwd = Path.cwd()
        if (cwd / ".git").exists():
            return cls(cwd)
        try:
            top = _git(cwd, "rev-parse", "--show-toplevel").strip()
        except HookError:
            raise HookError(f"{cwd} is not inside a git work tree") from None
        return cls(Path(top), cwd=cwd)

    def git(self, *args: str) -> str:
        return _git(self.root, *args, env=self.env)

    def files(self) -> list[str]:
        """Tracked and staged paths (``git ls-files``), read once per run."""
        if self._files is None:
            out = self.git("ls-files", "-z")
            self._files = [normalize(p) for p in out.split("\0") if p]
        return self._files

    def git_dir(self) -> Path:
        """The common git directory (shared by linked worktrees): where the ledger lives."""
        path = Path(self.git("rev-parse", "--git-common-dir").strip())
        return path if path.is_absolute() else (self.root / path).resolve()

    def relative(self, path: str) -> str:
        """A path given on the command line, relative to the work tree root."""
        if not os.path.isabs(path) and self.cwd is None:
            return normalize(path)
        absolute = Path(path) if os.path.isabs(path) else (self.cwd or self.root) / path
        try:
            return normalize(os.path.relpath(absolute, self.root))
        except ValueError:  # another drive on Windows
            return normalize(path)


def _git(cwd: Path, *args: str, env: Mapping[str, str] | None = None) -> str:
    try:
        out = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=dict(env) if env is not None else None,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError as exc:
        raise HookError(f"cannot run git: {exc}") from None
    if out.returncode != 0:
        detail = (out.stderr.strip().splitlines() or [f"exit status {out.returncode}"])[-1]
        raise HookError(f"git {args[0]} failed: {detail}")
    return out.stdout


def python_paths(repo: Repo, filenames: Iterable[str]) -> list[str]:
    """The Python files among ``filenames``, relative to the work tree root, each once."""
    return list(dict.fromkeys(repo.relative(f) for f in filenames if is_python(f)))


def repo_config(repo: Repo) -> RepoConfig | None:
    """The repository's config when it has a config file, else None (the packaged defaults).

    Deciding that there is nothing to do needs only the marker and the exclude globs, whose
    defaults are known here; the defaults file is parsed only once a hook writes.
    """
    if not (repo.root / REPO_CONFIG_PATH).exists():
        return None
    return load_config(repo)


def load_config(repo: Repo) -> RepoConfig:
    """The repository config merged over the packaged defaults; a bad file is a HookError.

    Key variables and model hosts are checked against the allowlist of the developer's own
    environment (``TIERBOT_ALLOWED_KEY_ENVS`` / ``TIERBOT_ALLOWED_API_BASES``).
    """
    from bot.access import AccessError, ModelAccess
    from bot.config import ConfigError, load_repo_config

    try:
        return load_repo_config(repo.root, access=ModelAccess.from_env(repo.env))
    except (ConfigError, AccessError) as exc:
        raise HookError(f"error: {exc}") from None


def excluded(path: str, globs: Sequence[str]) -> bool:
    if not globs:
        return False
    from bot.core.paths import glob_match

    return any(glob_match(path, pattern) for pattern in globs)


def nothing_written(hook: str, problems: Sequence[str], out: Echo) -> int:
    """Print the problem lines of files a hook cannot use; it then writes nothing at all."""
    for line in problems:
        out(line)
    out(f"{hook}: nothing written: fix the {plural(len(problems), 'file')} above first")
    return EXIT_CHANGED


def record_items(
    repo: Repo,
    items: Sequence[Item],
    *,
    config: RepoConfig,
    env: Mapping[str, str],
    out: Echo,
    hook: str,
) -> None:
    """Write what a hook generated to the ledger; a git dir that cannot be found costs a note."""
    from bot.hooks.audit import record

    try:
        git_dir = repo.git_dir()
    except HookError as exc:
        out(f"{hook}: note: the ledger was not updated ({exc})")
        return
    record(items, repo_root=repo.root, git_dir=git_dir, config=config, env=env, out=out, hook=hook)


def file_hook_main(
    hook: str, description: str, run: Callable[[Sequence[str]], int], argv: Sequence[str] | None
) -> int:
    """The command line of a hook on staged files: the file names pre-commit passes, run guarded."""
    parser = argparse.ArgumentParser(prog=hook, description=description)
    parser.add_argument("filenames", nargs="*", help="staged files (pre-commit passes them)")
    args = parser.parse_args(argv)
    return run_guarded(hook, lambda: run(args.filenames))


def run_guarded(hook: str, body: Callable[[], int], out: Echo = echo) -> int:
    """Run a hook body; a HookError becomes one line on stderr and its exit status."""
    if os.environ.get(RUN_COMMIT_ENV):
        return EXIT_OK
    try:
        return body()
    except HookError as exc:
        message = str(exc)
        print(f"{hook}: {message}", file=sys.stderr, flush=True)
        return exc.code
    except ValueError as exc:
        # bot.access is imported only when something failed: the no-op path stays lean.
        from bot.access import AccessError

        if not isinstance(exc, AccessError):  # a malformed TIERBOT_ALLOWED_* setting
            raise
        print(f"{hook}: error: {exc}", file=sys.stderr, flush=True)
        return EXIT_CONFIG


def plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")
