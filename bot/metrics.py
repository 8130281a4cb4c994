"""Prometheus metrics of serve and of each worker: intake, queue, tasks, spend, models, GitHub.

Counters and histograms live in the process that does the work (serve counts deliveries, a
worker counts its tasks, model calls and GitHub requests); Prometheus sums them over the
processes it scrapes. Queue depth and job states are read from the shared database at scrape
time, so any one process reports the whole queue.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from bot.adapters.ledger import SqlLedger
from bot.core.types import Outcome, Status, Task
from bot.ports import CallRecord

log = logging.getLogger("tierbot.metrics")

REGISTRY = CollectorRegistry(auto_describe=True)

DELIVERIES = Counter(
    "tierbot_deliveries",
    "Webhook deliveries by what intake did (queued, duplicate, ignored, pong, rejected) and why "
    "(the HTTP status of a rejection).",
    ["outcome", "reason"],
    registry=REGISTRY,
)
INTAKE_SECONDS = Histogram(
    "tierbot_intake_seconds",
    "Time from a delivery's arrival to its answer (stored before the 202).",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0, 5.0),
    registry=REGISTRY,
)
JOBS_RUN = Counter(
    "tierbot_jobs_run",
    "Jobs this worker ran, by how they ended (done, retry, failed, released).",
    ["result"],
    registry=REGISTRY,
)
TASKS = Counter(
    "tierbot_tasks",
    "Tasks finished, by type, the tier of their last attempt and status.",
    ["type", "tier", "status"],
    registry=REGISTRY,
)
ATTEMPTS = Counter(
    "tierbot_attempts",
    "Attempts finished, by task type, tier and outcome.",
    ["type", "tier", "outcome"],
    registry=REGISTRY,
)
SPEND = Counter(
    "tierbot_spend_usd",
    "Known spend of model calls in US dollars, by task type and tier.",
    ["type", "tier"],
    registry=REGISTRY,
)
UNPRICED_CALLS = Counter(
    "tierbot_unpriced_model_calls",
    "Model calls made whose cost is unknown (not in tierbot_spend_usd), by type and tier.",
    ["type", "tier"],
    registry=REGISTRY,
)
MODEL_CALLS = Counter(
    "tierbot_model_calls",
    "Model calls by tier, model and outcome (refused: stopped by a budget, never made).",
    ["tier", "model", "outcome"],
    registry=REGISTRY,
)
MODEL_SECONDS = Histogram(
    "tierbot_model_call_seconds",
    "Latency of model calls, by tier.",
    ["tier"],
    buckets=(0.5, 1, 2.5, 5, 10, 20, 40, 80, 160, 320),
    registry=REGISTRY,
)
MODEL_TOKENS = Counter(
    "tierbot_model_tokens",
    "Tokens of model calls, by tier and kind (prompt, completion).",
    ["tier", "kind"],
    registry=REGISTRY,
)
GITHUB_CALLS = Counter(
    "tierbot_github_requests",
    "GitHub API requests made, retries included, by operation.",
    ["operation"],
    registry=REGISTRY,
)
GITHUB_REMAINING = Gauge(
    "tierbot_github_rate_limit_remaining",
    "Requests left in the current GitHub rate-limit window, as of the last answer.",
    registry=REGISTRY,
)


@dataclass(frozen=True)
class QueueStats:
    """What a queue adapter reports at scrape time."""

    jobs_by_state: Mapping[str, int]
    depth: int  # jobs waiting to run (due or not)
    oldest_waiting_s: float  # age of the oldest waiting job; 0 when none waits


class QueueCollector(Collector):
    """Reads the queue's figures from the database at each scrape; a database that does not
    answer leaves them out (and counts the miss) instead of failing the whole scrape."""

    def __init__(self, stats: Callable[[], QueueStats]) -> None:
        self._stats = stats
        self.failures = 0

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            stats = self._stats()
        except Exception as exc:  # a scrape must answer even while the database is away
            self.failures += 1
            log.warning("queue figures unavailable: %s", type(exc).__name__)
            return
        by_state = GaugeMetricFamily(
            "tierbot_jobs", "Jobs in the queue by state.", labels=["state"]
        )
        for state, n in sorted(stats.jobs_by_state.items()):
            by_state.add_metric([state], n)
        yield by_state
        yield GaugeMetricFamily("tierbot_queue_depth", "Jobs waiting to run.", value=stats.depth)
        yield GaugeMetricFamily(
            "tierbot_queue_oldest_job_seconds",
            "Age of the oldest job waiting to run.",
            value=stats.oldest_waiting_s,
        )


_collector: QueueCollector | None = None


def watch_queue(stats: Callable[[], QueueStats]) -> None:
    """Report ``stats`` at every scrape (one queue per process; a second call replaces it)."""
    global _collector
    if _collector is not None:
        REGISTRY.unregister(_collector)
    _collector = QueueCollector(stats)
    REGISTRY.register(_collector)


def exposition() -> tuple[bytes, str]:
    """The body and content type of a /metrics answer."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def serve_metrics(port: int, host: str = "127.0.0.1") -> None:
    """A /metrics endpoint on its own port, in a daemon thread (for worker processes)."""
    start_http_server(port, addr=host, registry=REGISTRY)


def delivery(outcome: str, reason: str = "") -> None:
    DELIVERIES.labels(outcome, reason).inc()


def job_ran(result: str) -> None:
    JOBS_RUN.labels(result).inc()


def github_request(operation: str, n: int, rate_limit_remaining: int | None) -> None:
    GITHUB_CALLS.labels(operation).inc(n)
    if rate_limit_remaining is not None and rate_limit_remaining >= 0:
        GITHUB_REMAINING.set(rate_limit_remaining)


class MeteredLedger(SqlLedger):
    """The SQL ledger counting what passes through it: tasks, attempts, model calls, spend.

    Every task, attempt and model call is recorded in the ledger, so counting here misses
    none. The type and tier of a record are remembered from its start in this process (a task
    resumed elsewhere is a new task); the log context gets the task id and tier too.
    """

    def __init__(self, url: str, **kwargs: Any) -> None:
        super().__init__(url, **kwargs)
        self._types: dict[int, str] = {}
        self._attempts: dict[int, tuple[int, str]] = {}
        self._last_tier: dict[int, str] = {}

    def start_task(self, *, repo: str, task: Task, start_tier: str, ceiling: str) -> int:
        task_id = super().start_task(repo=repo, task=task, start_tier=start_tier, ceiling=ceiling)
        self._types[task_id] = task.type
        self._last_tier[task_id] = start_tier
        from bot.logsetup import bind

        bind(task_id=task_id, tier=start_tier)
        return task_id

    def start_attempt(self, task_id: int, *, number: int, tier: str) -> int:
        attempt_id = super().start_attempt(task_id, number=number, tier=tier)
        self._attempts[attempt_id] = (task_id, tier)
        self._last_tier[task_id] = tier
        from bot.logsetup import bind

        bind(task_id=task_id, tier=tier)
        return attempt_id

    def record_call(self, task_id: int, attempt_id: int | None, call: CallRecord) -> None:
        super().record_call(task_id, attempt_id, call)
        kind = self._type_of(task_id)
        MODEL_CALLS.labels(call.tier, call.model, call.outcome).inc()
        if call.outcome == "refused":
            return
        MODEL_SECONDS.labels(call.tier).observe(call.latency_s)
        if call.prompt_tokens:
            MODEL_TOKENS.labels(call.tier, "prompt").inc(call.prompt_tokens)
        if call.completion_tokens:
            MODEL_TOKENS.labels(call.tier, "completion").inc(call.completion_tokens)
        if call.cost_usd is None:
            UNPRICED_CALLS.labels(kind, call.tier).inc()
        elif call.cost_usd > 0:
            SPEND.labels(kind, call.tier).inc(call.cost_usd)

    def finish_attempt(
        self,
        attempt_id: int,
        *,
        outcome: Outcome,
        detail: str,
        commit_sha: str | None,
        senior_cost_usd: float | None,
    ) -> None:
        super().finish_attempt(
            attempt_id,
            outcome=outcome,
            detail=detail,
            commit_sha=commit_sha,
            senior_cost_usd=senior_cost_usd,
        )
        task_id, tier = self._attempts.pop(attempt_id, (0, "unknown"))
        ATTEMPTS.labels(self._type_of(task_id), tier, Outcome(outcome).value).inc()

    def finish_task(
        self,
        task_id: int,
        *,
        status: Status,
        reason: str,
        branch: str | None,
        cost_usd: float | None,
        senior_cost_usd: float | None,
    ) -> None:
        super().finish_task(
            task_id,
            status=status,
            reason=reason,
            branch=branch,
            cost_usd=cost_usd,
            senior_cost_usd=senior_cost_usd,
        )
        tier = self._last_tier.pop(task_id, "unknown")
        TASKS.labels(self._types.pop(task_id, "unknown"), tier, Status(status).value).inc()

    def _type_of(self, task_id: int) -> str:
        kind = self._types.get(task_id)
        if kind is None:
            try:
                kind = self.get_task(task_id).type
            except LookupError:
                kind = "unknown"
            self._types[task_id] = kind
        return kind


def age_s(oldest: datetime | None, now: datetime) -> float:
    return max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
