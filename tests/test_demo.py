"""`tierbot demo`: the test it wrote, where the sample is, and the sample removed unless --keep."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from bot.cli import main


def sample_dir(err: str) -> Path:
    found = re.search(r"^sample repository: (.+)$", err, re.M)
    assert found, err
    return Path(found.group(1))


def test_demo_prints_the_test_and_removes_its_temporary_sample(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert main(["demo"]) == 0
    out, err = capsys.readouterr()
    root = sample_dir(err)
    assert root.parent == tmp_path
    assert "done on tierbot/add-skeleton-tests-for-shop-cart-py" in out
    # The test file itself, as committed on the branch.
    assert "show tierbot/add-skeleton-tests-for-shop-cart-py:tests/test_cart.py" in err
    assert "def test_" in err and "shop.cart" in err
    assert f"removed the sample repository {root} (--keep keeps it)" in err
    assert not root.exists()


def test_demo_keep_keeps_the_sample(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert main(["demo", "--keep"]) == 0
    err = capsys.readouterr().err
    root = sample_dir(err)
    assert f"the sample repository is kept in {root}" in err
    assert (root / "shop" / "cart.py").exists()
