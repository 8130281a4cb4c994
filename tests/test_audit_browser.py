"""The HTML report in a real headless Chromium, driven over the DevTools protocol: the page
loads with no console error and no network, every chart renders (screenshots are kept in the
test's directory), and the numbers the page shows equal `tierbot report --json`."""

from __future__ import annotations

import base64
import itertools
import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bot.audit.html import CHARTS
from bot.cli import cli
from bot.core.types import Outcome
from tests.support.audit_ledger import Call, Step
from tests.support.services import require_service
from tests.test_audit_features import FEATURES
from tests.test_audit_report import _fill

pytest.importorskip("plotly")
websocket = pytest.importorskip("websocket")


def _chromium() -> str | None:
    return next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)


class DevTools:
    """One page of a headless Chromium, over its DevTools websocket."""

    def __init__(self, binary: str, profile: Path) -> None:
        self.proc = subprocess.Popen(
            [
                binary,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--remote-debugging-port=0",
                f"--user-data-dir={profile}",
                "--window-size=1200,2600",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stderr is not None
        deadline = time.monotonic() + 30
        browser = None
        while time.monotonic() < deadline and browser is None:
            line = self.proc.stderr.readline()
            found = re.search(r"DevTools listening on (ws://\S+)", line)
            browser = found.group(1) if found else None
        assert browser, "Chromium did not start its DevTools endpoint"
        port = re.search(r":(\d+)/", browser).group(1)  # type: ignore[union-attr]
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list") as resp:
            pages = [t for t in json.load(resp) if t["type"] == "page"]
        self.ws = websocket.create_connection(pages[0]["webSocketDebuggerUrl"], timeout=30)
        self.ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        ident = next(self.ids)
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == ident:
                assert "error" not in message, message
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, method: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(e.get("method") == method for e in self.events):
                return
            self.events.append(json.loads(self.ws.recv()))
        raise AssertionError(f"no {method} within {timeout} s")

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        assert "exceptionDetails" not in result, result
        return result["result"].get("value")

    def close(self) -> None:
        self.ws.close()
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[DevTools]:
    binary = _chromium()
    require_service(
        "chromium", binary is not None, "no chromium on PATH (apt-get install chromium)"
    )
    assert binary is not None
    tools = DevTools(binary, tmp_path / "profile")
    try:
        yield tools
    finally:
        tools.close()


def test_html_report_in_chromium(
    browser: DevTools, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support.repos import make_repo

    monkeypatch.delenv("TIERBOT_DB_URL", raising=False)
    repo = make_repo(tmp_path / "repo", {"README.md": "hi\n"})
    # A feature issue with priced planning, so every KPI of the page is a number.
    priced = replace(FEATURES[0], steps=(Step("senior", Outcome.GREEN, (Call(0.01),), 0.05),))
    _fill(repo, [priced, *FEATURES[1:]])
    runner = CliRunner()
    page = tmp_path / "report.html"
    assert runner.invoke(cli, ["report", "--repo", str(repo), "--html", str(page)]).exit_code == 0
    as_json = runner.invoke(cli, ["report", "--repo", str(repo), "--json"])
    data = json.loads(as_json.stdout)

    browser.send("Runtime.enable")
    browser.send("Log.enable")
    browser.send("Network.enable")
    browser.send("Page.enable")
    browser.send("Page.navigate", url=page.as_uri())
    browser.wait_for("Page.loadEventFired")
    time.sleep(1.0)  # plotly draws after load

    errors = [
        e
        for e in browser.events
        if e.get("method") == "Runtime.exceptionThrown"
        or (e.get("method") == "Runtime.consoleAPICalled" and e["params"]["type"] == "error")
        or (e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")
    ]
    assert errors == []
    requested = [
        e["params"]["request"]["url"]
        for e in browser.events
        if e.get("method") == "Network.requestWillBeSent"
    ]
    assert all(url.startswith(("file:", "data:")) for url in requested), requested

    for chart in CHARTS:
        drawn = browser.evaluate(
            f"document.getElementById({chart!r}).querySelectorAll('.main-svg').length"
        )
        assert drawn >= 1, f"chart {chart} did not render"
    shot = browser.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
    (tmp_path / "report.png").write_bytes(base64.b64decode(shot["data"]))
    assert (tmp_path / "report.png").stat().st_size > 10_000

    traces = browser.evaluate(
        "Object.fromEntries(" + json.dumps(list(CHARTS)) + ".map(id => [id, "
        "document.getElementById(id).data.map(t => ({x: t.x, y: t.y, z: t.z, text: t.text, "
        "name: t.name}))]))"
    )
    funnel = traces["funnel"][0]
    assert funnel["y"] == [f["tier"] for f in data["funnel"]]
    assert funnel["x"] == [f["reached"] for f in data["funnel"]]
    spent = {
        (x, t["name"]): y for t in traces["spend"] for x, y in zip(t["x"], t["y"], strict=True)
    }
    assert spent == {
        (f"{s['task_type']} · {s['outcome']}", s["tier"]): s["cost_known_usd"]
        for s in data["spend"]
    }
    heat = traces["green"][0]
    shown = {
        (ty, ti): txt
        for ty, row in zip(heat["y"], heat["text"], strict=True)
        for ti, txt in zip(heat["x"], row, strict=True)
        if txt
    }
    assert shown == {
        (g["task_type"], g["tier"]): f"{g['green']}/{g['attempts']}" for g in data["green_rates"]
    }
    kpis = browser.evaluate(
        "Object.fromEntries([...document.querySelectorAll('#summary .v')]"
        ".map(e => [e.dataset.key, e.textContent]))"
    )
    totals = data["totals"][0]
    assert kpis["tasks"] == str(totals["tasks"])
    assert kpis["calls that reached a model server"] == str(totals["calls"])
    assert kpis["saving on done tasks"] == f"${totals['saving_usd']:.4f}"
    _features_shown_equal_the_json(browser, data)


def _features_shown_equal_the_json(browser: DevTools, data: dict[str, Any]) -> None:
    rows = browser.evaluate(
        "[...document.querySelectorAll('#features-table tr[data-task]')].map(r => "
        "Object.fromEntries([...r.querySelectorAll('td')]"
        ".map(c => [c.dataset.key, c.textContent])))"
    )
    assert len(rows) == len(data["features"]) == 2
    for shown, row in zip(rows, data["features"], strict=True):
        for key, text in shown.items():
            value = row[key]
            if key.endswith("_cost_usd"):
                assert text == f"${value:.4f}", key
            else:
                assert text == str(value), key
