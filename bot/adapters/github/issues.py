"""The forge's issues, labels and comments; the bot's own comment found by its marker."""

from __future__ import annotations

from collections.abc import Sequence

from bot.adapters.github.client import RestClient
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
    CommentInfo,
    GitHubError,
    IssueInfo,
)


class IssueCalls(RestClient):
    # -- issues, labels, comments -----------------------------------------------------------

    def issue(self, repo: str, number: int) -> IssueInfo:
        def attempt() -> IssueInfo:
            item = self._repo(repo).get_issue(number)
            return IssueInfo(
                number=item.number,
                title=item.title or "",
                body=item.body or "",
                state=item.state,
                author=item.user.login,
                labels=tuple(label.name for label in item.labels),
                is_pull=item.pull_request is not None,
                url=item.html_url,
            )

        return self._call("issue", f"{repo}#{number}", attempt)

    def add_labels(self, repo: str, number: int, labels: Sequence[str]) -> None:
        if not labels:
            return
        self._call(
            "add_labels",
            f"{repo}#{number}",
            lambda: self._repo(repo).get_issue(number).add_to_labels(*labels),
        )

    def remove_label(self, repo: str, number: int, label: str) -> None:
        """Remove ``label``; a label the issue does not carry is not an error."""
        try:
            self._call(
                "remove_label",
                f"{repo}#{number} {label}",
                lambda: self._repo(repo).get_issue(number).remove_from_labels(label),
            )
        except GitHubError as exc:
            if exc.status != 404:
                raise

    def _list_comments(self, repo: str, number: int) -> list[CommentInfo]:
        out = []
        for c in self._repo(repo).get_issue(number).get_comments():
            app = c.performed_via_github_app
            out.append(
                CommentInfo(
                    id=c.id,
                    author=c.user.login,
                    author_type=c.user.type or "User",
                    body=c.body or "",
                    app_id=app.id if app is not None else None,
                )
            )
        return out

    def comments(self, repo: str, number: int) -> list[CommentInfo]:
        """Every comment on an issue or PR, oldest first."""
        return self._call("comments", f"{repo}#{number}", lambda: self._list_comments(repo, number))

    def _post_comment(self, repo: str, number: int, body: str) -> int:
        return int(self._repo(repo).get_issue(number).create_comment(body).id)

    def _patch_comment(self, repo: str, comment_id: int, body: str) -> None:
        self._requester.requestJsonAndCheck(
            "PATCH",
            f"/repos/{check_repo(repo)}/issues/comments/{int(comment_id)}",
            input={"body": body},
        )

    def create_comment(self, repo: str, number: int, body: str) -> int:
        return self._call(
            "create_comment", f"{repo}#{number}", lambda: self._post_comment(repo, number, body)
        )

    def edit_comment(self, repo: str, comment_id: int, body: str) -> None:
        self._call(
            "edit_comment",
            f"{repo} comment {comment_id}",
            lambda: self._patch_comment(repo, comment_id, body),
        )

    def _is_own(self, comment: CommentInfo) -> bool:
        if comment.app_id is not None:
            return comment.app_id == self.app.app_id
        if comment.author_type != "Bot":
            return False
        if self._bot_login is None:
            # Only when a bot comment carries the marker without naming its App (once).
            self._bot_login = self.app.bot_login(counter=self.calls)
        return comment.author == self._bot_login

    def upsert_issue(self, repo: str, title: str, marker: str, body: str) -> int:
        """The bot's own issue titled ``title`` or carrying ``marker``, edited in place (and
        reopened when someone closed it), else a new one; its number. ``body`` holds ``marker``.
        """
        if not marker or marker not in body:
            raise ValueError("upsert_issue: the body must contain the marker")

        def attempt() -> int:
            for item in self._repo(repo).get_issues(state="all"):
                if item.pull_request is not None or not (
                    item.title == title or marker in (item.body or "")
                ):
                    continue
                app = item.raw_data.get("performed_via_github_app") or {}
                author = CommentInfo(
                    id=item.number,
                    author=item.user.login,
                    author_type=item.user.type or "User",
                    body=item.body or "",
                    app_id=app.get("id"),
                )
                if not self._is_own(author):
                    continue
                wanted = (("title", title, item.title), ("body", body, item.body))
                changes = {k: v for k, v, now in wanted if v != now}
                if item.state != "open":
                    changes["state"] = "open"
                if changes:
                    item.edit(**changes)
                return int(item.number)
            return int(self._repo(repo).create_issue(title=title, body=body).number)

        return self._call("upsert_issue", f"{repo} {title!r}", attempt)

    def edit_body(self, repo: str, number: int, body: str) -> None:
        """Replace an issue's or pull request's body (a PR's body is its issue's)."""
        self._call(
            "edit_body",
            f"{repo}#{number}",
            lambda: self._requester.requestJsonAndCheck(
                "PATCH", f"/repos/{check_repo(repo)}/issues/{int(number)}", input={"body": body}
            ),
        )

    def upsert_comment(self, repo: str, number: int, marker: str, body: str) -> int:
        """Edit the bot's own comment holding ``marker`` in place, else create it; its id.

        Idempotent: the same call twice leaves one comment, and an unchanged body is not sent
        again. ``body`` must contain ``marker`` so the next call finds the comment.
        """
        if not marker or marker not in body:
            raise ValueError("upsert_comment: the body must contain the marker")

        def attempt() -> int:
            for comment in self._list_comments(repo, number):
                if marker in comment.body and self._is_own(comment):
                    if comment.body != body:
                        self._patch_comment(repo, comment.id, body)
                    return comment.id
            return self._post_comment(repo, number, body)

        return self._call("upsert_comment", f"{repo}#{number}", attempt)
