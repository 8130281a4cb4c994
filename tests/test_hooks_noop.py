"""No-op runs stay light: nothing heavy is imported when there is nothing to write.

Timing is measured by ``bench/hooks_noop.py``, which prints ratios; here only what can be
asserted without a clock: the exit status, that nothing was written, and which modules loaded
(``python -X importtime``).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import DEFAULT_STUB_MARKER, HOOK_NAMES, REPO_CONFIG_PATH, HooksSpec
from bot.hooks import common, git_hook
from tests.support.repos import git, make_repo, write

HEAVY = frozenset({"litellm", "sqlalchemy", "jinja2", "git", "rich", "click"})
FILES = 200


def imported(command: list[str], cwd: Path) -> tuple[int, str, set[str]]:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", *command],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    modules = {
        line.rsplit("|", 1)[-1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:")
    }
    return result.returncode, result.stdout, modules


@pytest.fixture
def quiet_repo(tmp_path: Path) -> tuple[Path, list[str]]:
    """Staged modules whose names the tests mention, and nothing marked: nothing to do."""
    root = make_repo(tmp_path / "quiet", {"pkg/__init__.py": "", "README.md": "x\n"})
    files = {}
    for n in range(FILES):
        files[f"pkg/mod_{n}.py"] = (
            f"def load_{n}(p):\n    return p\n\n\nclass Store{n}:\n    pass\n"
        )
        files[f"tests/test_mod_{n}.py"] = f"from pkg.mod_{n} import Store{n}, load_{n}\n"
    write(root, files)
    git(root, "add", "-A")
    return root, sorted(p for p in files if p.startswith("pkg/"))


@pytest.mark.parametrize("with_config", [False, True], ids=["defaults", "config file"])
@pytest.mark.parametrize(
    "entry",
    [
        ["-m", "bot.hooks.tests_hook"],
        ["-m", "bot.hooks.stubs_hook"],
        ["-P", "-m", "bot.hooks.git_hook"],
    ],
    ids=["tierbot-tests", "tierbot-stubs", "git hook"],
)
def test_a_noop_run_imports_nothing_heavy_and_writes_nothing(quiet_repo, entry, with_config):
    root, modules = quiet_repo
    if with_config:
        write(root, {REPO_CONFIG_PATH: "hooks: {strict: true}\n"})
        git(root, "add", "-A")
    before = git(root, "status", "--porcelain", "--untracked-files=all")
    arguments = [*entry, *modules] if "bot.hooks.git_hook" not in entry else entry
    code, out, loaded = imported(arguments, root)
    assert (code, out) == (0, "")
    assert git(root, "status", "--porcelain", "--untracked-files=all") == before
    heavy = {name for name in loaded if name.split(".")[0] in HEAVY}
    assert heavy == set()
    # Without a config file not even the config module and YAML are loaded.
    assert ("bot.config" in loaded) is with_config
    assert ("yaml" in loaded) is with_config
    # A no-op never reaches the template tier's generators.
    assert "bot.core.templates" not in loaded


def test_the_fast_path_defaults_are_the_packaged_defaults():
    assert common.REPO_CONFIG_PATH is REPO_CONFIG_PATH
    assert common.DEFAULT_MARKER == DEFAULT_STUB_MARKER == HooksSpec().marker
    assert git_hook.HOOK_NAMES == HOOK_NAMES == HooksSpec().run
    assert HooksSpec().exclude == ()
