"""A repository with hostile committed symbolic links, and checks that nothing got through."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.support.repos import git

PAYLOAD = "PWNED-THROUGH-A-LINK"
OUTSIDE_SECRET = "OUTSIDE-SECRET-7c1e5b"
WORKFLOW = "on: push\njobs: {}\n"


def links(outside: Path) -> dict[str, str]:
    """Link name -> target: the environment, an outside file and folder, workflows, .git."""
    return {
        "envfile.txt": "/proc/self/environ",
        "notes.txt": str(outside / "secret.txt"),
        "shared": str(outside),
        "wf": ".github/workflows",
        "g": ".git",
        "git-config.ini": ".git/config",
    }


# Each read names a link or a path through one; none may return the target's content.
READS = ["envfile.txt", "notes.txt", "shared/secret.txt", "wf/ci.yml", "g/config", "git-config.ini"]
# Each edit overwrites, creates or rewrites through a link: (path, the link it names).
EDITS = [
    ("envfile.txt", "envfile.txt"),
    ("notes.txt", "notes.txt"),
    ("shared/new.txt", "shared"),
    ("shared/secret.txt", "shared"),
    ("wf/evil.yml", "wf"),
    ("g/config", "g"),
    ("g/hooks/pre-commit", "g"),
    ("git-config.ini", "git-config.ini"),
]


@dataclass(frozen=True)
class Attack:
    repo: Path  # the repository with the links committed
    outside: Path  # a folder outside it, holding secret.txt

    def snapshot(self, *folders: Path) -> dict[str, str]:
        """A digest of every file under ``outside`` and ``folders`` (links not followed)."""
        digests = {}
        for folder in (self.outside, *folders):
            for path in sorted(folder.rglob("*")):
                if path.is_file() and not path.is_symlink():
                    digests[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
        return digests


def make_attack(tmp_path: Path, files: Mapping[str, str]) -> Attack:
    """A repo of ``files`` plus ``.github/workflows/ci.yml`` and every link, in one commit."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(f"{OUTSIDE_SECRET}\n")
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    for path, text in {**files, ".github/workflows/ci.yml": WORKFLOW}.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)
    for name, target in links(outside).items():
        (repo / name).symlink_to(target)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "initial, with links")
    return Attack(repo, outside)


def environ_entries() -> list[str]:
    """This process's environment as the kernel shows it through /proc/self/environ."""
    raw = Path("/proc/self/environ").read_bytes()
    return [e.decode("utf-8", "replace") for e in raw.split(b"\0") if len(e) > 8]


def assert_nothing_leaked(prompt: str, *, secrets: Sequence[str] = ()) -> None:
    assert OUTSIDE_SECRET not in prompt
    assert "[core]" not in prompt  # .git/config
    assert "jobs: {}" not in prompt  # the workflow, read only through the link
    for entry in environ_entries():
        assert entry not in prompt
    for secret in secrets:
        assert secret not in prompt
