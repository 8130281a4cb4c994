"""CI: run the repository's check command on a pushed PR head, as a one-job Actions workflow would.

The command comes from ``.github/tierbot.yml`` (``check.command``) in the pushed commit, else
``python -m pytest -q``; it runs in a fresh checkout of the head commit, in a background thread.
The result is recorded as a check suite, a check run, a workflow run and a job with its log, and
``workflow_job``, ``check_run``, ``check_suite`` and ``workflow_run`` completed webhooks follow.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import yaml

from . import gitrepo, payloads
from .hub import Hub
from .state import CheckRun, CheckSuite, Issue, Job, Repo, Step, User, WorkflowRun, utcnow

DEFAULT_COMMAND = "python -m pytest -q"
DEFAULT_TIMEOUT = 600.0
WORKFLOW_NAME = "CI"
WORKFLOW_PATH = ".github/workflows/ci.yml"
JOB_NAME = "check"
CONFIG_PATH = ".github/tierbot.yml"

# Variables of the process running the emulator that must not leak into the checked code.
_DROPPED_ENV_PREFIXES = ("GIT_", "PYTEST_", "TIERBOT_")


@dataclass(frozen=True)
class CheckSpec:
    command: str
    timeout: float


def check_spec(repo: Repo, sha: str) -> CheckSpec:
    """The check command configured in the commit, or the default one."""
    raw = gitrepo.read_file(repo.path, sha, CONFIG_PATH)
    command, timeout = DEFAULT_COMMAND, DEFAULT_TIMEOUT
    if raw is not None:
        try:
            data = yaml.safe_load(raw) or {}
        except yaml.YAMLError:
            data = {}
        check = data.get("check") if isinstance(data, dict) else None
        if isinstance(check, dict):
            if isinstance(check.get("command"), str) and check["command"].strip():
                command = check["command"]
            if isinstance(check.get("timeout"), int | float) and check["timeout"] > 0:
                timeout = float(check["timeout"])
    return CheckSpec(command, timeout)


def _stamp(moment: datetime | None = None) -> str:
    # Actions log lines start with a 7-digit-fraction UTC timestamp.
    return (moment or utcnow()).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


def _env(repo: Repo, sha: str, branch: str, base: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_DROPPED_ENV_PREFIXES)}
    # "python" in the check command is the interpreter running the emulator, as a runner's
    # setup-python would provide one.
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env.update(
        {
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_REPOSITORY": repo.full_name,
            "GITHUB_SHA": sha,
            "GITHUB_REF": f"refs/heads/{branch}",
            "GITHUB_HEAD_REF": branch,
            "GITHUB_BASE_REF": base or "",
            "GITHUB_EVENT_NAME": "pull_request",
        }
    )
    return env


class CiRunner:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.enabled = True
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def trigger(
        self, repo: Repo, pulls: list[Issue], branch: str, before: str, after: str, actor: User
    ) -> WorkflowRun | None:
        """Queue a run for ``after`` on ``branch`` (the head of ``pulls``)."""
        if not self.enabled:
            return None
        store = self.hub.store
        now = utcnow()
        numbers = [item.number for item in pulls]
        base = pulls[0].pull.base_ref if pulls and pulls[0].pull else None
        with store.lock:
            suite = CheckSuite(
                id=store.new_id("check_suite"),
                head_branch=branch,
                head_sha=after,
                before=before,
                after=after,
                status="queued",
                conclusion=None,
                created_at=now,
                updated_at=now,
                pull_numbers=numbers,
            )
            check = CheckRun(
                id=store.new_id("check_run"),
                suite_id=suite.id,
                name=JOB_NAME,
                head_sha=after,
                external_id="",
                status="queued",
                conclusion=None,
                started_at=now,
                completed_at=None,
            )
            if not repo.workflow_id:
                repo.workflow_id = store.new_id("workflow")
            run = WorkflowRun(
                id=store.new_id("workflow_run"),
                run_number=len(repo.workflow_runs) + 1,
                workflow_id=repo.workflow_id,
                name=WORKFLOW_NAME,
                path=WORKFLOW_PATH,
                display_title=pulls[0].title if pulls else branch,
                event="pull_request",
                head_branch=branch,
                head_sha=after,
                status="queued",
                conclusion=None,
                check_suite_id=suite.id,
                actor=actor,
                created_at=now,
                updated_at=now,
                run_started_at=now,
                pull_numbers=numbers,
            )
            # On GitHub a job is its check run: they share the id.
            job = Job(
                id=check.id,
                run_id=run.id,
                check_run_id=check.id,
                name=JOB_NAME,
                head_sha=after,
                head_branch=branch,
                status="queued",
                conclusion=None,
                created_at=now,
                started_at=now,
                completed_at=None,
            )
            run.job_ids.append(job.id)
            repo.check_suites[suite.id] = suite
            repo.check_runs[check.id] = check
            repo.workflow_runs[run.id] = run
            repo.jobs[job.id] = job
        thread = threading.Thread(
            target=self._run,
            args=(repo, suite, check, run, job, base),
            name=f"emulator-ci-{run.id}",
            daemon=True,
        )
        with self._lock:
            self._threads.append(thread)
        thread.start()
        return run

    def _run(
        self,
        repo: Repo,
        suite: CheckSuite,
        check: CheckRun,
        run: WorkflowRun,
        job: Job,
        base: str | None,
    ) -> None:
        store = self.hub.store
        started = utcnow()
        with store.lock:
            for item in (suite, run, check, job):
                item.status = "in_progress"
            check.started_at = job.started_at = run.run_started_at = started
        spec = check_spec(repo, job.head_sha)
        lines = [
            f"{_stamp(started)} ##[group]Run actions/checkout@v4",
            f"{_stamp()} Checking out {job.head_sha}",
            f"{_stamp()} ##[endgroup]",
            f"{_stamp()} ##[group]Run {spec.command}",
        ]
        output, code = self._execute(repo, job, spec, base)
        finished = utcnow()
        lines += [f"{_stamp(finished)} {line}" for line in output.splitlines()]
        conclusion = "success" if code == 0 else "failure"
        if code != 0:
            reason = (
                f"timed out after {spec.timeout:g} seconds"
                if code is None
                else f"Process completed with exit code {code}."
            )
            lines.append(f"{_stamp(finished)} ##[error]{reason}")
        lines.append(f"{_stamp(finished)} ##[endgroup]")
        log = "\n".join(lines) + "\n"
        tail = "\n".join(output.splitlines()[-40:])
        with store.lock:
            job.steps = [
                Step("Set up job", 1, "completed", "success", started, started),
                Step("Run actions/checkout@v4", 2, "completed", "success", started, started),
                Step(f"Run {spec.command}", 3, "completed", conclusion, started, finished),
                Step("Complete job", 4, "completed", "success", finished, finished),
            ]
            for item in (suite, run, check, job):
                item.status = "completed"
                item.conclusion = conclusion
            check.completed_at = job.completed_at = finished
            suite.updated_at = run.updated_at = finished
            check.title = "check passed" if code == 0 else "check failed"
            check.summary = f"`{spec.command}` exited with {code}"
            check.text = tail
            job.log = log
            run.log = f"{JOB_NAME}/3_Run {spec.command}.txt\n{log}"
        self._notify(repo, suite, check, run, job)

    def _execute(
        self, repo: Repo, job: Job, spec: CheckSpec, base: str | None
    ) -> tuple[str, int | None]:
        with tempfile.TemporaryDirectory(prefix="emulator-ci-") as tmp:
            work = Path(tmp) / repo.name
            try:
                gitrepo.clone_checkout(repo.path, job.head_sha, work)
            except subprocess.CalledProcessError as exc:
                return f"checkout failed: {exc.stderr!r}", 1
            try:
                done = subprocess.run(
                    spec.command,
                    shell=True,
                    cwd=work,
                    capture_output=True,
                    text=True,
                    env=_env(repo, job.head_sha, job.head_branch or "", base),
                    timeout=spec.timeout,
                    stdin=subprocess.DEVNULL,
                    check=False,
                )
            except subprocess.TimeoutExpired as exc:
                partial = exc.stdout if isinstance(exc.stdout, str) else ""
                return partial, None
            return done.stdout + done.stderr, done.returncode

    def _notify(
        self, repo: Repo, suite: CheckSuite, check: CheckRun, run: WorkflowRun, job: Job
    ) -> None:
        hub, urls = self.hub, self.hub.urls
        inst = hub.installation(repo)
        sender = run.actor
        with hub.store.lock:
            bodies = [
                (
                    "workflow_job",
                    payloads.envelope(
                        urls,
                        repo,
                        sender,
                        inst,
                        "completed",
                        workflow_job=payloads.workflow_job(urls, repo, job, run),
                    ),
                ),
                (
                    "check_run",
                    payloads.envelope(
                        urls,
                        repo,
                        sender,
                        inst,
                        "completed",
                        check_run=payloads.check_run(urls, repo, check, suite),
                    ),
                ),
                (
                    "check_suite",
                    payloads.envelope(
                        urls,
                        repo,
                        sender,
                        inst,
                        "completed",
                        check_suite=payloads.check_suite(urls, repo, suite),
                    ),
                ),
                (
                    "workflow_run",
                    payloads.envelope(
                        urls,
                        repo,
                        sender,
                        inst,
                        "completed",
                        workflow=payloads.workflow(urls, repo, run),
                        workflow_run=payloads.workflow_run(urls, repo, run),
                    ),
                ),
            ]
        for event, body in bodies:
            hub.emit(event, body)

    def wait(self, timeout: float = 60.0) -> None:
        """Block until every run started so far has finished (and its webhooks are queued)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                raise TimeoutError(f"CI run {thread.name} still running after {timeout} s")
