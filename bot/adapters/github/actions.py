"""The forge's CI reads: check runs, workflow runs, their jobs and job logs."""

from __future__ import annotations

import requests
from github.GithubObject import NotSet
from github.PaginatedList import PaginatedList
from github.WorkflowJob import WorkflowJob

from bot.adapters.github.client import RestClient, describe_text
from bot.adapters.github.retry import (
    Failure,
    HttpFailure,
)
from bot.adapters.github.transport import (
    GitTransportError as GitTransportError,
)
from bot.adapters.github.transport import (
    InvalidName as InvalidName,
)
from bot.adapters.github.transport import (
    check_repo,
)
from bot.ports.github import (
    CheckRunInfo,
    JobInfo,
    WorkflowRunInfo,
)


class ActionsCalls(RestClient):
    # -- CI ---------------------------------------------------------------------------------

    def check_runs(self, repo: str, ref: str) -> list[CheckRunInfo]:
        def attempt() -> list[CheckRunInfo]:
            return [
                CheckRunInfo(
                    id=run.id,
                    name=run.name,
                    status=run.status,
                    conclusion=run.conclusion,
                    head_sha=run.head_sha,
                    url=run.html_url or run.details_url or "",
                )
                for run in self._repo(repo).get_commit(ref).get_check_runs()
            ]

        return self._call("check_runs", f"{repo}@{ref}", attempt)

    def workflow_runs(
        self,
        repo: str,
        *,
        branch: str | None = None,
        head_sha: str | None = None,
        limit: int = 30,
    ) -> list[WorkflowRunInfo]:
        """The newest ``limit`` workflow runs (of ``branch`` / ``head_sha`` if given)."""

        def attempt() -> list[WorkflowRunInfo]:
            runs = self._repo(repo).get_workflow_runs(
                branch=branch if branch else NotSet, head_sha=head_sha if head_sha else NotSet
            )
            out: list[WorkflowRunInfo] = []
            for run in runs:
                if len(out) >= limit:
                    break
                out.append(
                    WorkflowRunInfo(
                        id=run.id,
                        name=run.name or "",
                        status=run.status,
                        conclusion=run.conclusion,
                        head_sha=run.head_sha,
                        head_branch=run.head_branch or "",
                        event=run.event,
                        url=run.html_url,
                    )
                )
            return out

        return self._call("workflow_runs", f"{repo} {branch or head_sha or ''}".strip(), attempt)

    def jobs(self, repo: str, run_id: int) -> list[JobInfo]:
        # Built here rather than by WorkflowRun.jobs(), which first fetches the run for its URL.
        def attempt() -> list[JobInfo]:
            return [
                JobInfo(
                    id=job.id,
                    run_id=job.run_id,
                    name=job.name,
                    status=job.status,
                    conclusion=job.conclusion,
                    head_sha=job.head_sha,
                    url=job.html_url,
                )
                for job in PaginatedList(
                    WorkflowJob,
                    self._requester,
                    f"/repos/{check_repo(repo)}/actions/runs/{int(run_id)}/jobs",
                    None,
                    list_item="jobs",
                )
            ]

        return self._call("jobs", f"{repo} run {run_id}", attempt)

    def job_log(self, repo: str, job_id: int) -> str:
        """A job's plain-text log. The API answers 302 to a short-lived signed URL; that URL is
        fetched without the token (it is another host on github.com)."""

        def attempt() -> str:
            status, headers, output = self._raw(
                "GET", f"/repos/{check_repo(repo)}/actions/jobs/{int(job_id)}/logs"
            )
            if status == 200:
                return output
            location = str(headers.get("location") or "")
            if status not in (301, 302, 307) or not location:
                raise HttpFailure(Failure(status, headers, describe_text(output)))
            response = self._downloads().get(location, timeout=60, allow_redirects=True)
            if response.status_code >= 300:
                raise HttpFailure(Failure.from_response(response))
            response.encoding = response.encoding or "utf-8"
            return response.text

        return self._call("job_log", f"{repo} job {job_id}", attempt)

    def _downloads(self) -> requests.Session:
        with self._lock:
            if self._download is None:
                self._download = requests.Session()
                self._download.trust_env = False
            return self._download
