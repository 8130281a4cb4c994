"""State changes with the webhooks GitHub sends for them; REST routes, git and tests share these.

Every change made through the API is made here too, so a label the bot adds produces the same
``issues.labeled`` delivery as a label a test adds: tierbot has to ignore its own events, as
it would on GitHub.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from . import gitrepo, payloads
from .render import Urls
from .state import (
    Comment,
    Installation,
    Issue,
    Label,
    Pull,
    Repo,
    Review,
    ReviewComment,
    Store,
    User,
    utcnow,
)
from .webhooks import Delivery, WebhookSender

# What the App subscribes to; deliveries of other events are not sent.
DEFAULT_EVENTS = (
    "issues",
    "issue_comment",
    "pull_request",
    "pull_request_review",
    "check_run",
    "check_suite",
    "workflow_run",
    "workflow_job",
    "installation",
    "push",
)


class NotFound(LookupError):
    pass


_CLOSING = re.compile(r"\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\s+#(\d+)", re.IGNORECASE)


def closing_references(text: str) -> list[int]:
    """Issue numbers a PR body closes when merged ("Closes #3", "fixes #4")."""
    return [int(n) for n in _CLOSING.findall(text)]


@dataclass
class Actor:
    """Who makes a change: a user, or the App's bot account (``via_app``)."""

    user: User
    via_app: bool = False
    workflow: bool = False  # through a workflow's GITHUB_TOKEN: starts no workflow


class Hub:
    def __init__(self, store: Store, sender: WebhookSender, urls: Urls) -> None:
        self.store = store
        self.sender = sender
        self.urls = urls
        self.subscribed: set[str] = set(DEFAULT_EVENTS)
        # Set by the emulator: CI runs when a PR opens, as `on: pull_request` does.
        self.after_pull_opened: Callable[[Repo, Issue], None] | None = None

    # -- webhooks ---------------------------------------------------------------------------

    def emit(self, event: str, payload: Mapping[str, Any]) -> Delivery | None:
        if event not in self.subscribed or self.sender.url is None:
            return None
        return self.sender.send(event, payload)

    def installation(self, repo: Repo) -> Installation | None:
        return self.store.installation_for(repo)

    # -- lookups ----------------------------------------------------------------------------

    def repo(self, full_name: str) -> Repo:
        owner, _, name = full_name.partition("/")
        found = self.store.repo(owner, name)
        if found is None:
            raise NotFound(full_name)
        return found

    def issue(self, repo: Repo, number: int) -> Issue:
        with self.store.lock:
            item = repo.issues.get(number)
        if item is None:
            raise NotFound(f"{repo.full_name}#{number}")
        return item

    def label_named(self, repo: Repo, name: str) -> Label:
        with self.store.lock:
            found = next(
                (lab for lab in repo.labels.values() if lab.name.lower() == name.lower()), None
            )
            if found is None:
                # Adding an unknown label to an issue creates it, as GitHub does.
                found = Label(id=self.store.new_id("label"), name=name)
                repo.labels[name.lower()] = found
            return found

    # -- issues, labels, comments -------------------------------------------------------------

    def open_issue(
        self, repo: Repo, title: str, body: str | None, actor: Actor, labels: Iterable[str] = ()
    ) -> Issue:
        now = utcnow()
        with self.store.lock:
            item = Issue(
                number=repo.next_number(),
                id=self.store.new_id("issue"),
                title=title,
                body=body,
                user=actor.user,
                created_at=now,
                updated_at=now,
                labels=[self.label_named(repo, name) for name in labels],
                via_app=actor.via_app,
            )
            repo.issues[item.number] = item
            payload = payloads.envelope(
                self.urls,
                repo,
                actor.user,
                self.installation(repo),
                "opened",
                issue=payloads.issue(self.urls, repo, item, self.store.app),
            )
        self.emit("issues", payload)
        return item

    def add_labels(self, repo: Repo, item: Issue, names: Iterable[str], actor: Actor) -> None:
        for name in names:
            with self.store.lock:
                lab = self.label_named(repo, name)
                if any(existing.id == lab.id for existing in item.labels):
                    continue  # GitHub sends nothing for a label already there
                item.labels.append(lab)
                item.updated_at = utcnow()
                payload = self._label_payload(repo, item, lab, actor, "labeled")
            self.emit("pull_request" if item.pull else "issues", payload)

    def remove_label(self, repo: Repo, item: Issue, name: str, actor: Actor) -> None:
        with self.store.lock:
            lab = next((x for x in item.labels if x.name.lower() == name.lower()), None)
            if lab is None:
                raise NotFound(f"label {name}")
            item.labels.remove(lab)
            item.updated_at = utcnow()
            payload = self._label_payload(repo, item, lab, actor, "unlabeled")
        self.emit("pull_request" if item.pull else "issues", payload)

    def _label_payload(
        self, repo: Repo, item: Issue, lab: Label, actor: Actor, action: str
    ) -> dict[str, object]:
        inst = self.installation(repo)
        if item.pull:
            return payloads.envelope(
                self.urls,
                repo,
                actor.user,
                inst,
                action,
                number=item.number,
                pull_request=payloads.pull_request(self.urls, repo, item),
                label=payloads.label(self.urls, repo, lab),
            )
        return payloads.envelope(
            self.urls,
            repo,
            actor.user,
            inst,
            action,
            issue=payloads.issue(self.urls, repo, item, self.store.app),
            label=payloads.label(self.urls, repo, lab),
        )

    def add_comment(self, repo: Repo, item: Issue, body: str, actor: Actor) -> Comment:
        now = utcnow()
        with self.store.lock:
            comment = Comment(
                id=self.store.new_id("comment"),
                issue_number=item.number,
                body=body,
                user=actor.user,
                created_at=now,
                updated_at=now,
                via_app=actor.via_app,
            )
            item.comments.append(comment)
            item.updated_at = now
            payload = payloads.envelope(
                self.urls,
                repo,
                actor.user,
                self.installation(repo),
                "created",
                issue=payloads.issue(self.urls, repo, item, self.store.app),
                comment=payloads.issue_comment(self.urls, repo, item, comment, self.store.app),
            )
        self.emit("issue_comment", payload)
        return comment

    def find_comment(self, repo: Repo, comment_id: int) -> tuple[Issue, Comment]:
        with self.store.lock:
            for item in repo.issues.values():
                for comment in item.comments:
                    if comment.id == comment_id:
                        return item, comment
        raise NotFound(f"comment {comment_id}")

    def edit_comment(self, repo: Repo, comment_id: int, body: str) -> tuple[Issue, Comment]:
        # GitHub sends issue_comment.edited here; octokit has no schema for it in the copied
        # fixtures and tierbot ignores edits, so the emulator does not deliver it.
        with self.store.lock:
            item, comment = self.find_comment(repo, comment_id)
            comment.body = body
            comment.updated_at = utcnow()
            return item, comment

    # -- pull requests ------------------------------------------------------------------------

    def open_pull(
        self,
        repo: Repo,
        *,
        title: str,
        head: str,
        base: str,
        body: str | None,
        actor: Actor,
        draft: bool = False,
    ) -> Issue:
        head_sha = gitrepo.resolve(repo.path, f"refs/heads/{head}")
        base_sha = gitrepo.resolve(repo.path, f"refs/heads/{base}")
        if head_sha is None or base_sha is None:
            raise NotFound(head if head_sha is None else base)
        now = utcnow()
        with self.store.lock:
            item = Issue(
                number=repo.next_number(),
                id=self.store.new_id("issue"),
                title=title,
                body=body,
                user=actor.user,
                created_at=now,
                updated_at=now,
                via_app=actor.via_app,
                pull=Pull(
                    id=self.store.new_id("pull"),
                    head_ref=head,
                    base_ref=base,
                    head_sha=head_sha,
                    base_sha=base_sha,
                    draft=draft,
                ),
            )
            repo.issues[item.number] = item
            payload = payloads.envelope(
                self.urls,
                repo,
                actor.user,
                self.installation(repo),
                "opened",
                number=item.number,
                pull_request=payloads.pull_request(self.urls, repo, item),
            )
        self.emit("pull_request", payload)
        if self.after_pull_opened is not None and not actor.workflow:
            self.after_pull_opened(repo, item)
        return item

    def add_review(
        self, repo: Repo, item: Issue, review: Review, comments: list[ReviewComment]
    ) -> None:
        with self.store.lock:
            assert item.pull is not None
            item.pull.reviews.append(review)
            item.pull.review_comments.extend(comments)
            item.updated_at = utcnow()
            payload = payloads.envelope(
                self.urls,
                repo,
                review.user,
                self.installation(repo),
                "submitted",
                review=payloads.review(self.urls, repo, item, review),
                pull_request=payloads.simple_pull_request(self.urls, repo, item),
            )
        self.emit("pull_request_review", payload)

    def edit_issue(
        self, repo: Repo, item: Issue, *, title: str | None = None, body: str | None = None
    ) -> None:
        # GitHub sends issues.edited / pull_request.edited; octokit's schemas for them are not
        # among the copied fixtures and tierbot ignores edits, so none is delivered.
        with self.store.lock:
            if title is not None:
                item.title = title
            if body is not None:
                item.body = body
            item.updated_at = utcnow()

    def reopen(self, item: Issue) -> None:
        # issues.reopened is not among the copied payload schemas, and tierbot ignores it.
        with self.store.lock:
            item.state, item.closed_at, item.updated_at = "open", None, utcnow()

    def close(self, repo: Repo, item: Issue, actor: Actor) -> None:
        """Close an issue or PR; a PR gets ``pull_request.closed`` (issues.closed is not sent)."""
        with self.store.lock:
            if item.state == "closed":
                return
            item.state = "closed"
            item.closed_at = item.updated_at = utcnow()
            payload = None
            if item.pull is not None:
                payload = payloads.envelope(
                    self.urls,
                    repo,
                    actor.user,
                    self.installation(repo),
                    "closed",
                    number=item.number,
                    pull_request=payloads.pull_request(self.urls, repo, item),
                )
        if payload is not None:
            self.emit("pull_request", payload)

    def merge(self, repo: Repo, item: Issue, actor: Actor) -> str:
        """Merge a PR into its base (a merge commit), push it, close the PR and its issues."""
        pull = item.pull
        assert pull is not None
        base_ref = f"refs/heads/{pull.base_ref}"
        base = gitrepo.resolve(repo.path, base_ref)
        if base is None:
            raise NotFound(pull.base_ref)
        message = f"Merge pull request #{item.number} from {repo.owner.login}/{pull.head_ref}"
        sha = gitrepo.merge_commit(
            repo.path,
            base,
            pull.head_sha,
            f"{message}\n\n{item.title}",
            (actor.user.login, f"{actor.user.login}@example.com"),
        )
        if sha is None:
            raise ValueError("Pull Request is not mergeable")
        gitrepo.update_ref(repo.path, base_ref, sha, base)
        with self.store.lock:
            pull.merged, pull.merged_at, pull.merged_by = True, utcnow(), actor.user
            pull.merge_commit_sha = sha
        self.pushed(repo, {base_ref: (base, sha)}, actor.user)
        self.close(repo, item, actor)
        for number in closing_references(item.body or ""):
            linked = repo.issues.get(number)
            if linked is not None and linked.pull is None:
                self.close(repo, linked, actor)
        return sha

    # -- pushes -------------------------------------------------------------------------------

    def pushed(self, repo: Repo, changes: dict[str, tuple[str, str]], pusher: User) -> list[Issue]:
        """Record ref updates (``ref -> (before, after)``); return the PRs whose head moved."""
        moved: list[Issue] = []
        inst = self.installation(repo)
        with self.store.lock:
            repo.pushed_at = utcnow()
        for ref, (before, after) in sorted(changes.items()):
            self.emit("push", payloads.push(self.urls, repo, ref, before, after, pusher, inst))
            if not ref.startswith("refs/heads/") or after == gitrepo.ZERO_SHA:
                continue
            branch = ref.removeprefix("refs/heads/")
            with self.store.lock:
                pulls = repo.open_pulls_for_branch(branch)
                for item in pulls:
                    assert item.pull is not None
                    item.pull.head_sha = after
                    item.updated_at = utcnow()
            for item in pulls:
                self.emit(
                    "pull_request",
                    payloads.envelope(
                        self.urls,
                        repo,
                        pusher,
                        inst,
                        "synchronize",
                        number=item.number,
                        before=before,
                        after=after,
                        pull_request=payloads.pull_request(self.urls, repo, item),
                    ),
                )
                moved.append(item)
        return moved
