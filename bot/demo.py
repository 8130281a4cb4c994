"""A small sample repository for ``tierbot demo``: the main job, offline, on the free tier."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import click

SAMPLE = {
    "shop/__init__.py": '"""A tiny shop."""\n',
    "shop/cart.py": (
        '"""A shopping cart."""\n\n\n'
        "class Cart:\n"
        '    """Items and their prices."""\n\n'
        "    def __init__(self) -> None:\n"
        "        self.items: dict[str, float] = {}\n\n"
        "    def add(self, name: str, price: float) -> None:\n"
        "        self.items[name] = price\n\n"
        "    def total(self) -> float:\n"
        "        return sum(self.items.values())\n\n\n"
        "def apply_discount(total: float, percent: float) -> float:\n"
        "    return round(total * (1 - percent / 100), 2)\n"
    ),
    "tests/__init__.py": "",
    "tests/test_smoke.py": "import shop\n\n\ndef test_package_imports():\n"
    "    assert shop.__doc__ == 'A tiny shop.'\n",
}
TASK = "Add skeleton tests for shop/cart.py"
TEST_PATH = "tests/test_cart.py"


def create_sample_repo(root: Path) -> Path:
    """A committed git repository with a package, a test and a check command."""
    root.mkdir(parents=True, exist_ok=True)
    files = dict(SAMPLE)
    files[".github/tierbot.yml"] = (
        f'check:\n  command: "{sys.executable} -m pytest -q -p no:cacheprovider"\n'
    )
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, "utf-8")
    identity = ["-c", "user.name=tierbot demo", "-c", "user.email=demo@tierbot.invalid"]
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "sample"]):
        subprocess.run(["git", *identity, *args], cwd=root, check=True, capture_output=True)
    return root


def _git_show(root: Path, what: str) -> str:
    shown = subprocess.run(
        ["git", "-C", str(root), "show", what], capture_output=True, text=True, check=False
    )
    return shown.stdout


@click.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to create the sample repository (kept). Default: a temporary directory, "
    "removed at the end unless --keep.",
)
@click.option("--keep", is_flag=True, help="Keep the temporary sample repository.")
@click.pass_context
def demo(ctx: click.Context, directory: Path | None, keep: bool) -> None:
    """Create a sample repository and run a tests task in it on the free template tier."""
    from bot.audit.cli import report
    from bot.cli.run import run
    from bot.engine import slugify

    root = directory or Path(tempfile.mkdtemp(prefix="tierbot-demo-"))
    if root.exists() and any(root.iterdir()):
        click.echo(f"tierbot: error: --dir {root} is not empty", err=True)
        raise SystemExit(2)
    keep = keep or directory is not None
    create_sample_repo(root)
    click.echo(f"sample repository: {root}", err=True)
    click.echo(f'$ tierbot run "{TASK}" --type tests', err=True)
    try:
        try:
            ctx.invoke(run, text=TASK, task_type="tests", repo_path=root)
        except SystemExit as exc:
            if exc.code:
                raise
        branch = f"tierbot/{slugify(TASK)}"
        click.echo(f"$ git -C {root} show {branch}:{TEST_PATH}", err=True)
        click.echo(_git_show(root, f"{branch}:{TEST_PATH}"), err=True)
        click.echo("$ tierbot report", err=True)
        ctx.invoke(report, repo_path=root)
    finally:
        if keep:
            click.echo(f"the sample repository is kept in {root}", err=True)
        else:
            shutil.rmtree(root, ignore_errors=True)
            click.echo(f"removed the sample repository {root} (--keep keeps it)", err=True)
