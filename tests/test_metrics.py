"""/metrics on serve and on a worker moves as a task does; JSON log lines carry the job's fields."""

from __future__ import annotations

import io
import json
import logging
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.core.logs import RedactingFilter, Redactor
from bot.logsetup import bind, configure, job_scope
from tests.support.github_emulator import GitHubEmulator
from tests.support.model_server import ScriptedModelServer, reply
from tests.support.server import TierbotProcesses, free_port, wait_until
from tests.test_e2e_github import (
    CALC,
    GOOD,
    MUL_TEST,
    REPO,
    SECRET,
    WRONG,
    labels,
    make_repo,
    wait_finished,
)

pytest_plugins = ["tests.support.github_emulator.fixtures"]


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(url, timeout=10) as answer:
        assert answer.status == 200
        text = answer.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def total(samples: dict, name: str, **match: str) -> float:
    return sum(
        value
        for (n, lbls), value in samples.items()
        if n == name and all(dict(lbls).get(k) == v for k, v in match.items())
    )


@pytest.fixture
def models() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as server:
        yield server


def test_metrics_of_serve_and_worker_move_as_a_task_does(
    tmp_path: Path, github_emulator: GitHubEmulator, models: ScriptedModelServer
):
    models.script("intern-model", [reply(WRONG), reply(WRONG)])
    models.script("junior-model", [reply(GOOD)])
    make_repo(github_emulator, models.url, {"calc.py": CALC, "tests/test_calc.py": MUL_TEST})
    procs = TierbotProcesses(
        tmp_path,
        {
            "TIERBOT_WEBHOOK_SECRET": SECRET,
            "TIERBOT_APP_ID": str(github_emulator.app_id),
            "TIERBOT_PRIVATE_KEY": github_emulator.private_key_pem.decode(),
            "TIERBOT_GITHUB_API_URL": github_emulator.api_url,
        },
    )
    github_emulator.set_webhook(procs.url, SECRET)
    procs.start_web("--log-format", "json")
    web_metrics = f"http://127.0.0.1:{procs.port}/metrics"
    worker_port = free_port()
    try:
        before = scrape(web_metrics)
        assert total(before, "tierbot_deliveries_total", outcome="queued") == 0
        issue = github_emulator.open_issue(REPO, "Add mul(a, b) to calc.py")
        github_emulator.label_issue(REPO, issue.number, "tierbot:boilerplate", sender="alice")
        github_emulator.wait_for_webhooks()
        queued = scrape(web_metrics)
        assert total(queued, "tierbot_deliveries_total", outcome="queued") >= 1
        assert total(queued, "tierbot_queue_depth") >= 1
        assert total(queued, "tierbot_jobs", state="queued") >= 1

        worker = procs._spawn(
            "worker",
            "--log-format",
            "json",
            "--metrics-port",
            str(worker_port),
            name="worker0",
        )
        procs.workers.append(worker)
        wait_finished(github_emulator, procs, issue.number, timeout=120)
        assert "tierbot:done" in labels(github_emulator, issue.number)
        github_emulator.wait_for_webhooks()

        wait_until(
            lambda: total(scrape(web_metrics), "tierbot_queue_depth") == 0,
            timeout=60,
            what="the queue to drain",
        )
        web = scrape(web_metrics)
        assert total(web, "tierbot_jobs", state="done") >= 1
        assert total(web, "tierbot_queue_oldest_job_seconds") == 0
        assert total(web, "tierbot_intake_seconds_count") >= 1

        work = scrape(f"http://127.0.0.1:{worker_port}/metrics")
        assert total(work, "tierbot_jobs_run_total", result="done") >= 1
        assert total(work, "tierbot_attempts_total", tier="intern", outcome="check-failed") >= 1
        assert total(work, "tierbot_attempts_total", tier="junior", outcome="green") == 1
        assert total(work, "tierbot_tasks_total", tier="junior", status="done") == 1
        assert total(work, "tierbot_model_calls_total", tier="intern") >= 1
        assert total(work, "tierbot_model_calls_total", tier="junior") == 1
        assert total(work, "tierbot_model_call_seconds_count", tier="junior") == 1
        assert total(work, "tierbot_model_tokens_total", tier="junior", kind="prompt") > 0
        assert total(work, "tierbot_github_requests_total") > 0
        assert total(work, "tierbot_github_rate_limit_remaining") > 0
        # The worker's lines are JSON and name the job they belong to.
        lines = [
            json.loads(line)
            for line in (tmp_path / "worker0.log").read_text().splitlines()
            if line.startswith("{")
        ]
        with_job = [line for line in lines if "job_id" in line]
        assert with_job, lines
        assert {line["repo"] for line in with_job} == {REPO}
    finally:
        procs.stop()


def test_json_lines_carry_the_job_fields_and_no_secret(capsys: pytest.CaptureFixture[str]):
    root = logging.getLogger()
    before = (list(root.handlers), root.level)  # configure() replaces them: put them back
    handler = configure("json")
    secret = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"
    handler.addFilter(RedactingFilter(Redactor([secret])))
    stream = io.StringIO()
    handler.setStream(stream)
    log = logging.getLogger("tierbot.test")
    try:
        log.info("outside any job")
        with job_scope(delivery_id="d-1", job_id=7, key="octo/shop#12"):
            bind(task_id=3, tier="junior")
            log.warning("token %s was refused", secret)
        log.info("after the job")
    finally:
        root.handlers[:], _ = before
        root.setLevel(before[1])
    first, inside, after = (json.loads(line) for line in stream.getvalue().splitlines())
    assert "job_id" not in first and "job_id" not in after
    assert inside["delivery_id"] == "d-1" and inside["job_id"] == 7
    assert inside["repo"] == "octo/shop" and inside["number"] == "12"
    assert inside["task_id"] == 3 and inside["tier"] == "junior"
    assert inside["level"] == "warning"
    assert secret not in stream.getvalue()


def test_an_unknown_log_format_is_refused():
    with pytest.raises(ValueError, match="text, json"):
        configure("xml")  # type: ignore[arg-type]


def test_configured_logs_keep_litellms_per_call_info_lines_out():
    root = logging.getLogger()
    litellm_logger = logging.getLogger("LiteLLM")
    before = (list(root.handlers), root.level, litellm_logger.level)
    try:
        configure("text")
        assert root.getEffectiveLevel() == logging.INFO
        assert not litellm_logger.isEnabledFor(logging.INFO)
        assert litellm_logger.isEnabledFor(logging.WARNING)
    finally:
        root.handlers[:] = before[0]
        root.setLevel(before[1])
        litellm_logger.setLevel(before[2])
