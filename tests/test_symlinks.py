"""Committed symbolic links against the bot's reads and writes: workspaces, engine, hooks, config.

Every link of ``tests/support/symlinks.py`` (to /proc/self/environ, an outside file and folder,
the workflows folder, .git and .git/config) is tried as a context read and as an edit, on a
task worktree and on a pushing clone. Nothing outside is read or written, nothing lands under
.git or the workflows folder, and an edit through a link is a policy refusal, never a crash.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import git as gitpython
import pytest

from bot.adapters.git import CliGit, GitError, GitWorkspace, LocalRepo, PushingWorkspace
from bot.config import ConfigError, load_config, load_repo_config
from bot.core.diagnosis import Fix
from bot.core.types import EditSet, FileEdit, Outcome, Status
from bot.engine import Engine, make_task
from bot.executor import Executor
from bot.hooks import stubs_hook, tests_hook
from bot.hooks.common import Repo
from bot.ports import PathRefused
from bot.service.fix import fix_edits
from tests.support.fakes import FakeForge, FakeLedger, FakeModels, passed
from tests.support.repos import git
from tests.support.symlinks import (
    EDITS,
    OUTSIDE_SECRET,
    PAYLOAD,
    READS,
    Attack,
    assert_nothing_leaked,
    make_attack,
)

CALC = "def add(a, b):\n    return a + b\n"
CONFIG = load_config(
    "tiers:\n"
    "  junior: {price: {input_per_mtok: 1, output_per_mtok: 2}}\n"
    "  senior: {price: {input_per_mtok: 3, output_per_mtok: 15}}\n"
)


class Target:
    """A workspace on the attack repo, and every place an attack must not reach."""

    def __init__(self, attack: Attack, ws: GitWorkspace, git_dir: Path) -> None:
        self.attack, self.ws, self.git_dir = attack, ws, git_dir
        self.before = self.state()

    def state(self) -> dict[str, str]:
        return self.attack.snapshot(self.git_dir, self.ws.root / ".github")

    def assert_untouched(self) -> None:
        assert self.state() == self.before
        assert git(self.ws.root, "status", "--porcelain") == ""
        for folder in (self.attack.outside, self.git_dir, self.ws.root / ".github"):
            for path in folder.rglob("*"):
                if path.is_file() and not path.is_symlink():
                    assert PAYLOAD.encode() not in path.read_bytes(), path


@pytest.fixture(params=["worktree", "clone"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    attack = make_attack(tmp_path, {"calc.py": CALC})
    if request.param == "worktree":
        local = LocalRepo.open(attack.repo)
        yield Target(attack, local.add_worktree("tierbot/links"), local.git_dir)
        return
    clone = tmp_path / "clone"
    gitpython.Repo.clone_from(str(attack.repo), str(clone))
    ws = PushingWorkspace.on_branch(clone, "tierbot/links", "main", lambda root, branch: None)
    yield Target(attack, ws, clone / ".git")


def test_the_links_are_checked_out_as_links(target: Target):
    assert (target.ws.root / "envfile.txt").is_symlink()
    assert {"envfile.txt", "shared", "wf", "g", "git-config.ini"} <= set(target.ws.list_files())


@pytest.mark.parametrize("path", READS)
def test_no_read_follows_a_link(target: Target, path: str):
    assert target.ws.read(path) is None
    assert target.ws.read("calc.py") == CALC


@pytest.mark.parametrize(("path", "link"), EDITS)
def test_an_edit_through_a_link_is_refused_and_writes_nothing(target: Target, path: str, link: str):
    edits = EditSet((FileEdit("calc.py", CALC + "# changed\n"), FileEdit(path, PAYLOAD)))
    with pytest.raises(PathRefused, match=f"{link} is a symbolic link"):
        target.ws.apply(edits)
    target.assert_untouched()
    assert target.ws.read("calc.py") == CALC  # the whole edit set was refused


def test_deleting_a_link_removes_the_link_and_never_its_target(target: Target):
    target.ws.apply(EditSet((FileEdit("notes.txt", None), FileEdit("wf", None))))
    target.ws.commit("drop two links", {})
    assert not (target.ws.root / "notes.txt").is_symlink()
    assert (target.attack.outside / "secret.txt").read_text() == f"{OUTSIDE_SECRET}\n"
    assert (target.ws.root / ".github" / "workflows" / "ci.yml").is_file()
    with pytest.raises(PathRefused, match="shared is a symbolic link"):
        target.ws.apply(EditSet((FileEdit("shared/secret.txt", None),)))
    assert (target.attack.outside / "secret.txt").exists()


def test_a_failing_git_add_is_a_workspace_error_and_leaves_the_tree_clean(target: Target):
    target.ws.apply(EditSet((FileEdit(".gitignore", "*.log\n"),)))
    target.ws.commit("ignore logs", {})
    with pytest.raises(GitError, match="staging the edit failed") as info:
        target.ws.apply(EditSet((FileEdit("calc.py", "X = 1\n"), FileEdit("out.log", "x\n"))))
    assert "ignored" in info.value.output
    assert git(target.ws.root, "status", "--porcelain") == ""
    assert target.ws.read("calc.py") == CALC


@pytest.mark.parametrize(("path", "link"), EDITS)
def test_the_engine_escalates_an_edit_through_a_link_and_ends_cleanly(
    target: Target, path: str, link: str
):
    reply = f"### {path}\n```\n{PAYLOAD}\n```\n"
    models = FakeModels({"junior": [reply], "senior": [reply]})
    ledger = FakeLedger()
    engine = Engine(
        config=CONFIG,
        models=models,
        ledger=ledger,
        forge=FakeForge([passed()]),
        prices={},
        repo="r",
    )
    text = "Fix calc.py. Background: " + ", ".join(READS)
    executor = Executor(forge=engine.forge, workspace=target.ws, dry_run=False)
    result = engine.run(make_task(text, "feature"), target.ws, executor)

    assert result.status is Status.NEEDS_HUMAN and result.branch is None
    assert [a.outcome for a in result.attempts] == [Outcome.POLICY] * 4
    for attempt in result.attempts:
        assert f"{link} is a symbolic link" in attempt.detail
    assert [a["outcome"] for a in ledger.attempts.values()] == [Outcome.POLICY] * 4
    assert ledger.tasks[1]["status"] is Status.NEEDS_HUMAN
    for _tier, messages in models.calls:
        assert_nothing_leaked("".join(m.content for m in messages))
    assert "symbolic link" in models.calls[1][1][-1].content  # the retry says why
    target.assert_untouched()


# -- the repository config, the hooks and the debug fix -------------------------------------


def test_a_linked_repo_config_is_a_config_error_that_shows_nothing_of_its_target(tmp_path):
    root = tmp_path / "r"
    (root / ".github").mkdir(parents=True)
    (root / ".github" / "tierbot.yml").symlink_to("/proc/self/environ")
    with pytest.raises(ConfigError, match="symbolic link") as info:
        load_repo_config(root)
    assert_nothing_leaked(str(info.value))


@pytest.fixture
def attack(tmp_path: Path) -> Attack:
    return make_attack(
        tmp_path, {"pkg/__init__.py": "", "pkg/cart.py": "def total(x):\n    return x\n"}
    )


def test_the_tests_hook_never_extends_a_linked_test_file(attack: Attack, tmp_path: Path):
    outside_test = attack.outside / "test_cart.py"
    outside_test.write_text("import os\n")
    (attack.repo / "tests").mkdir()
    (attack.repo / "tests" / "test_cart.py").symlink_to(outside_test)
    git(attack.repo, "add", "-A")
    before = attack.snapshot()
    lines: list[str] = []
    code = tests_hook.run(["pkg/cart.py"], repo=Repo(attack.repo), out=lines.append)
    assert code == 1
    assert any("tests/test_cart.py is a symbolic link" in line for line in lines), lines
    assert attack.snapshot() == before


def test_the_tests_hook_never_creates_a_root_conftest_through_a_dangling_link(attack: Attack):
    (attack.repo / "shop.py").write_text("def price(x):\n    return x\n")
    (attack.repo / "conftest.py").symlink_to(attack.outside / "conftest.py")
    git(attack.repo, "add", "-A")
    lines: list[str] = []
    code = tests_hook.run(["shop.py"], repo=Repo(attack.repo), out=lines.append)
    assert code == 1 and (attack.repo / "tests" / "test_shop.py").is_file(), lines
    assert not (attack.outside / "conftest.py").exists()


def test_the_tests_hook_never_creates_a_test_package_init_through_a_dangling_link(
    attack: Attack,
):
    (attack.repo / "shop.py").write_text("def price(x):\n    return x\n")
    (attack.repo / "tests").mkdir()
    (attack.repo / "tests" / "__init__.py").symlink_to(attack.outside / "init.py")
    lines: list[str] = []
    code = tests_hook.run(["shop.py"], repo=Repo(attack.repo), out=lines.append)
    assert code == 1 and (attack.repo / "tests" / "test_shop.py").is_file(), lines
    assert not (attack.outside / "init.py").exists()


def test_the_stubs_hook_neither_reads_nor_fills_a_linked_module(attack: Attack):
    outside_module = attack.outside / "stubbed.py"
    outside_module.write_text("# tierbot: stub\ndef parse(text):\n    ...\n")
    (attack.repo / "linked.py").symlink_to(outside_module)
    git(attack.repo, "add", "-A")
    before = attack.snapshot()
    lines: list[str] = []
    code = stubs_hook.run(["linked.py", "envfile.txt"], repo=Repo(attack.repo), out=lines.append)
    assert (code, lines) == (0, [])
    assert attack.snapshot() == before


def test_a_proposed_fix_that_makes_a_link_is_never_read_back(target: Target):
    diff = (
        "diff --git a/leak.txt b/leak.txt\n"
        "new file mode 120000\n"
        "--- /dev/null\n"
        "+++ b/leak.txt\n"
        "@@ -0,0 +1 @@\n"
        "+/proc/self/environ\n"
        "\\ No newline at end of file\n"
    )
    why = fix_edits(Fix(diff=diff), target.ws.read, CliGit().apply_patch)
    assert isinstance(why, str) and "leak.txt is a symbolic link" in why
    assert_nothing_leaked(why)


def test_a_proposed_fix_through_a_link_finds_nothing_to_patch(target: Target):
    diff = (
        "--- a/wf/ci.yml\n+++ b/wf/ci.yml\n@@ -1,2 +1,2 @@\n-on: push\n+on: pull_request\n"
        " jobs: {}\n"
    )
    why = fix_edits(Fix(diff=diff), target.ws.read, CliGit().apply_patch)
    assert isinstance(why, str) and "does not apply" in why
    target.assert_untouched()
