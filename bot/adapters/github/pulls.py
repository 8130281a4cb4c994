"""The forge's pull requests: find, open, read (files, diff) and review."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

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
    InlineComment,
    PullFile,
    PullInfo,
)

_DIFF = "application/vnd.github.diff"


class PullCalls(RestClient):
    # -- pull requests ----------------------------------------------------------------------

    @staticmethod
    def _pull_info(pr: Any) -> PullInfo:
        return PullInfo(
            number=pr.number,
            title=pr.title or "",
            body=pr.body or "",
            state=pr.state,
            head_ref=pr.head.ref,
            head_sha=pr.head.sha,
            base_ref=pr.base.ref,
            author=pr.user.login,
            url=pr.html_url,
            draft=bool(pr.draft),
        )

    def find_pull(self, repo: str, head_branch: str) -> PullInfo | None:
        """The open PR from ``head_branch`` of this repository, if there is one."""
        owner = check_repo(repo).split("/")[0]

        def attempt() -> PullInfo | None:
            pulls = self._repo(repo).get_pulls(state="open", head=f"{owner}:{head_branch}")
            for pr in pulls:
                return self._pull_info(pr)
            return None

        return self._call("find_pull", f"{repo} {head_branch}", attempt)

    def create_pull(
        self, repo: str, head: str, base: str, title: str, body: str, *, draft: bool = False
    ) -> PullInfo:
        return self._call(
            "create_pull",
            f"{repo} {head}->{base}",
            lambda: self._pull_info(
                self._repo(repo).create_pull(
                    title=title, body=body, head=head, base=base, draft=draft
                )
            ),
        )

    def pull(self, repo: str, number: int) -> PullInfo:
        return self._call(
            "pull", f"{repo}#{number}", lambda: self._pull_info(self._repo(repo).get_pull(number))
        )

    def pull_files(self, repo: str, number: int) -> list[PullFile]:
        def attempt() -> list[PullFile]:
            return [
                PullFile(
                    path=f.filename,
                    status=f.status,
                    additions=f.additions,
                    deletions=f.deletions,
                    patch=f.patch,
                    previous_path=f.previous_filename,
                )
                for f in self._repo(repo).get_pull(number).get_files()
            ]

        return self._call("pull_files", f"{repo}#{number}", attempt)

    def pull_diff(self, repo: str, number: int) -> str:
        """The PR's unified diff (``application/vnd.github.diff``)."""

        def attempt() -> str:
            status, headers, output = self._raw(
                "GET", f"/repos/{check_repo(repo)}/pulls/{int(number)}", accept=_DIFF
            )
            if status >= 300:
                raise HttpFailure(Failure(status, headers, describe_text(output)))
            return output

        return self._call("pull_diff", f"{repo}#{number}", attempt)

    def create_review(
        self,
        repo: str,
        number: int,
        commit_id: str,
        body: str,
        comments: Iterable[InlineComment],
        *,
        event: str = "COMMENT",
    ) -> int:
        """One review of the PR at ``commit_id`` with inline comments; its id.

        GitHub refuses the whole review (422) if any comment sits outside the diff.
        """
        payload = [c.payload() for c in comments]

        def attempt() -> int:
            handle = self._repo(repo)
            review = handle.get_pull(number).create_review(
                commit=handle.get_commit(commit_id), body=body, event=event, comments=payload
            )
            return int(review.id)

        return self._call("create_review", f"{repo}#{number}", attempt)
