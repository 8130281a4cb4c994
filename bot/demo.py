"""A small sample repository for ``tierbot demo``: the main job, offline, on the free tier."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
