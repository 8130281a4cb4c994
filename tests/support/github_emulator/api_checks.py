"""Checks and Actions routes: check suites and runs for a ref, workflow runs, jobs, job logs.

Logs answer 302 with a short-lived signed ``Location``, as GitHub's do; the emulator serves
that URL itself (``/_emulator/logs/...``) without the API's Authorization header.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from . import gitrepo, render
from .rest import Call, Reply, not_found, route
from .state import Repo

LOG_URL_LIFETIME = 60


def sign_log_path(secret: bytes, path: str, expires: int) -> str:
    return hmac.new(secret, f"{path}:{expires}".encode(), hashlib.sha256).hexdigest()


def _log_redirect(call: Call, path: str) -> Reply:
    expires = int(time.time()) + LOG_URL_LIFETIME
    sig = sign_log_path(call.services.log_secret, path, expires)
    location = f"{call.urls.web}{path}?expires={expires}&sig={sig}"
    return Reply(302, None, {"Location": location})


def _sha_for(repo: Repo, ref: str) -> str:
    sha = gitrepo.resolve(repo.path, ref)
    if sha is None:
        raise not_found()
    return sha


@route("GET", "/repos/{owner}/{repo}/commits/{ref:path}/check-runs")
def list_check_runs(call: Call) -> Reply:
    repo = call.repo()
    sha = _sha_for(repo, str(call.params["ref"]))
    name = call.query.get("check_name")
    status = call.query.get("status")
    with call.store.lock:
        runs = [
            render.check_run(call.urls, repo, run, repo.check_suites[run.suite_id])
            for run in sorted(repo.check_runs.values(), key=lambda r: -r.id)
            if run.head_sha == sha
            and (name is None or run.name == name)
            and (status is None or run.status == status)
        ]
    page = call.page(runs)
    page.body = {"total_count": len(runs), "check_runs": page.body}
    return page


@route("GET", "/repos/{owner}/{repo}/commits/{ref:path}/check-suites")
def list_check_suites(call: Call) -> Reply:
    repo = call.repo()
    sha = _sha_for(repo, str(call.params["ref"]))
    with call.store.lock:
        suites = [
            render.check_suite(call.urls, repo, s)
            for s in sorted(repo.check_suites.values(), key=lambda s: -s.id)
            if s.head_sha == sha
        ]
    page = call.page(suites)
    page.body = {"total_count": len(suites), "check_suites": page.body}
    return page


@route("GET", "/repos/{owner}/{repo}/check-runs/{check_run_id}")
def get_check_run(call: Call) -> Reply:
    repo = call.repo()
    with call.store.lock:
        run = repo.check_runs.get(call.int_param("check_run_id"))
        if run is None:
            raise not_found()
        return Reply(200, render.check_run(call.urls, repo, run, repo.check_suites[run.suite_id]))


@route("GET", "/repos/{owner}/{repo}/check-suites/{check_suite_id}")
def get_check_suite(call: Call) -> Reply:
    repo = call.repo()
    with call.store.lock:
        suite = repo.check_suites.get(call.int_param("check_suite_id"))
        if suite is None:
            raise not_found()
        return Reply(200, render.check_suite(call.urls, repo, suite))


@route("GET", "/repos/{owner}/{repo}/actions/runs")
def list_workflow_runs(call: Call) -> Reply:
    repo = call.repo()
    q = call.query
    with call.store.lock:
        runs = [
            render.workflow_run(call.urls, repo, run)
            for run in sorted(repo.workflow_runs.values(), key=lambda r: -r.id)
            if (q.get("branch") in (None, run.head_branch))
            and (q.get("head_sha") in (None, run.head_sha))
            and (q.get("event") in (None, run.event))
            and (q.get("status") in (None, run.status, run.conclusion))
        ]
    page = call.page(runs)
    page.body = {"total_count": len(runs), "workflow_runs": page.body}
    return page


@route("GET", "/repos/{owner}/{repo}/actions/runs/{run_id}")
def get_workflow_run(call: Call) -> Reply:
    repo = call.repo()
    with call.store.lock:
        run = repo.workflow_runs.get(call.int_param("run_id"))
        if run is None:
            raise not_found()
        return Reply(200, render.workflow_run(call.urls, repo, run))


@route("GET", "/repos/{owner}/{repo}/actions/runs/{run_id}/jobs")
def list_jobs(call: Call) -> Reply:
    repo = call.repo()
    with call.store.lock:
        run = repo.workflow_runs.get(call.int_param("run_id"))
        if run is None:
            raise not_found()
        jobs = [render.job(call.urls, repo, repo.jobs[j], run) for j in run.job_ids]
    page = call.page(jobs)
    page.body = {"total_count": len(jobs), "jobs": page.body}
    return page


@route("GET", "/repos/{owner}/{repo}/actions/runs/{run_id}/logs")
def download_run_logs(call: Call) -> Reply:
    repo = call.repo()
    run_id = call.int_param("run_id")
    if run_id not in repo.workflow_runs:
        raise not_found()
    return _log_redirect(call, f"/_emulator/logs/{repo.full_name}/runs/{run_id}")


@route("GET", "/repos/{owner}/{repo}/actions/jobs/{job_id}")
def get_job(call: Call) -> Reply:
    repo = call.repo()
    with call.store.lock:
        job = repo.jobs.get(call.int_param("job_id"))
        if job is None:
            raise not_found()
        return Reply(200, render.job(call.urls, repo, job, repo.workflow_runs[job.run_id]))


@route("GET", "/repos/{owner}/{repo}/actions/jobs/{job_id}/logs")
def download_job_logs(call: Call) -> Reply:
    repo = call.repo()
    job_id = call.int_param("job_id")
    if job_id not in repo.jobs:
        raise not_found()
    return _log_redirect(call, f"/_emulator/logs/{repo.full_name}/jobs/{job_id}")
