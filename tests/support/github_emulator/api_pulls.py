"""Pull-request routes: create, get (JSON, diff, patch), list, files, reviews, review comments."""

from __future__ import annotations

from typing import Any

from . import anchors, gitrepo, render
from .rest import ApiError, Call, Reply, not_found, route, validation_failed
from .state import Issue, Repo, Review, ReviewComment, utcnow

_REVIEW_DOCS = "https://docs.github.com/rest/pulls/reviews#create-a-review-for-a-pull-request"
_COMMENT_DOCS = (
    "https://docs.github.com/rest/pulls/comments#create-a-review-comment-for-a-pull-request"
)
_STATES = {"APPROVE": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED", "COMMENT": "COMMENTED"}


def _pull(call: Call, repo: Repo) -> Issue:
    item = repo.issues.get(call.int_param("pull_number"))
    if item is None or item.pull is None:
        raise not_found()
    return item


_base_tip = render.base_tip


@route("POST", "/repos/{owner}/{repo}/pulls")
def create_pull(call: Call) -> Reply:
    repo = call.repo(write=True)
    data = call.json_object()
    for name in ("title", "head", "base"):
        if not isinstance(data.get(name), str) or not data[name]:
            raise validation_failed("PullRequest", "missing_field", name)
    head = str(data["head"])
    if ":" in head:
        owner, _, head = head.partition(":")
        if owner.lower() != repo.owner.login.lower():
            raise validation_failed("PullRequest", "invalid", "head")
    base = str(data["base"])
    head_sha = gitrepo.resolve(repo.path, f"refs/heads/{head}")
    base_sha = gitrepo.resolve(repo.path, f"refs/heads/{base}")
    if head_sha is None:
        raise validation_failed("PullRequest", "invalid", "head")
    if base_sha is None:
        raise validation_failed("PullRequest", "invalid", "base")
    with call.store.lock:
        for other in repo.open_pulls_for_branch(head):
            if other.pull and other.pull.base_ref == base:
                raise validation_failed(
                    "PullRequest",
                    "custom",
                    None,
                    f"A pull request already exists for {repo.owner.login}:{head}.",
                )
    if gitrepo.count_commits(repo.path, base_sha, head_sha) == 0:
        raise validation_failed(
            "PullRequest", "custom", None, f"No commits between {base} and {head}"
        )
    item = call.hub.open_pull(
        repo,
        title=str(data["title"]),
        head=head,
        base=base,
        body=data.get("body"),
        actor=call.actor(),
        draft=bool(data.get("draft", False)),
    )
    if "maintainer_can_modify" in data:
        assert item.pull is not None
        item.pull.maintainer_can_modify = bool(data["maintainer_can_modify"])
    with call.store.lock:
        return Reply(201, render.pull_request(call.urls, repo, item))


@route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}")
def get_pull(call: Call) -> Reply:
    repo = call.repo()
    item = _pull(call, repo)
    pull = item.pull
    assert pull is not None
    accept = call.headers.get("accept", "")
    if "diff" in accept:
        text = gitrepo.diff(repo.path, _base_tip(repo, pull), pull.head_sha)
        return Reply(
            200, raw=text.encode(), media_type="application/vnd.github.diff; charset=utf-8"
        )
    if "patch" in accept:
        text = gitrepo.git(
            repo.path, "format-patch", "--stdout", f"{_base_tip(repo, pull)}..{pull.head_sha}"
        )
        return Reply(
            200, raw=text.encode(), media_type="application/vnd.github.patch; charset=utf-8"
        )
    with call.store.lock:
        return Reply(200, render.pull_request(call.urls, repo, item))


@route("GET", "/repos/{owner}/{repo}/pulls")
def list_pulls(call: Call) -> Reply:
    repo = call.repo()
    state = call.query.get("state", "open")
    head = call.query.get("head")
    base = call.query.get("base")
    with call.store.lock:
        items = []
        for item in sorted(repo.issues.values(), key=lambda i: -i.number):
            pull = item.pull
            if pull is None or (state != "all" and item.state != state):
                continue
            if head:
                owner, _, branch = head.rpartition(":")
                if branch != pull.head_ref or (owner and owner.lower() != repo.owner.login.lower()):
                    continue
            if base and base != pull.base_ref:
                continue
            items.append(render.pull_request(call.urls, repo, item, full=False))
        return call.page(items)


@route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/files")
def list_files(call: Call) -> Reply:
    repo = call.repo()
    item = _pull(call, repo)
    assert item.pull is not None
    return call.page(render.diff_entries(call.urls, repo, item.pull))


def _anchor(patches: Any, spec: dict[str, Any], docs: str) -> anchors.Anchor:
    path = spec.get("path")
    if not isinstance(path, str):
        raise ApiError(
            422, "Unprocessable Entity", errors=["Path could not be resolved"], docs=docs
        )
    try:
        return anchors.resolve(
            patches,
            path,
            line=spec.get("line"),
            side=spec.get("side"),
            start_line=spec.get("start_line"),
            start_side=spec.get("start_side"),
            position=spec.get("position"),
        )
    except anchors.Unresolvable as exc:
        raise ApiError(422, "Unprocessable Entity", errors=[str(exc)], docs=docs) from exc


@route("POST", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews")
def create_review(call: Call) -> Reply:
    repo = call.repo(write=True)
    item = _pull(call, repo)
    pull = item.pull
    assert pull is not None
    actor = call.actor()
    data = call.json_object()
    event = data.get("event")
    if event is not None and event not in _STATES:
        raise ApiError(
            422, "Unprocessable Entity", errors=[f"Invalid event {event!r}"], docs=_REVIEW_DOCS
        )
    body = data.get("body") or ""
    specs = data.get("comments") or []
    if event == "REQUEST_CHANGES" and not body:
        raise ApiError(
            422,
            "Unprocessable Entity",
            errors=["Review body is required for REQUEST_CHANGES"],
            docs=_REVIEW_DOCS,
        )
    if event in ("APPROVE", "REQUEST_CHANGES") and item.user.id == actor.user.id:
        verb = "approve" if event == "APPROVE" else "request changes on"
        raise ApiError(
            422,
            "Unprocessable Entity",
            errors=[f"Can not {verb} your own pull request"],
            docs=_REVIEW_DOCS,
        )
    commit_id = data.get("commit_id") or pull.head_sha
    if gitrepo.resolve(repo.path, str(commit_id)) is None:
        raise ApiError(422, "Unprocessable Entity", errors=["Commit not found"], docs=_REVIEW_DOCS)
    patches = gitrepo.patch_set(gitrepo.diff(repo.path, _base_tip(repo, pull), str(commit_id)))
    placed = [
        (spec, _anchor(patches, spec, _REVIEW_DOCS)) for spec in specs if isinstance(spec, dict)
    ]
    now = utcnow()
    review = Review(
        id=call.store.new_id("review"),
        user=actor.user,
        body=body,
        state=_STATES[event] if event else "PENDING",
        commit_id=str(commit_id),
        submitted_at=now if event else None,
        via_app=actor.via_app,
    )
    comments = [
        ReviewComment(
            id=call.store.new_id("review_comment"),
            review_id=review.id,
            path=spec["path"],
            body=str(spec.get("body", "")),
            user=actor.user,
            commit_id=str(commit_id),
            diff_hunk=anchor.diff_hunk,
            line=anchor.line,
            side=anchor.side,
            start_line=anchor.start_line,
            start_side=anchor.start_side,
            position=anchor.position,
            created_at=now,
        )
        for spec, anchor in placed
    ]
    if event:
        call.hub.add_review(repo, item, review, comments)
    else:
        with call.store.lock:
            pull.reviews.append(review)
            pull.review_comments.extend(comments)
    with call.store.lock:
        return Reply(200, render.review(call.urls, repo, item, review))


@route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews")
def list_reviews(call: Call) -> Reply:
    repo = call.repo()
    with call.store.lock:
        item = _pull(call, repo)
        assert item.pull is not None
        return call.page([render.review(call.urls, repo, item, r) for r in item.pull.reviews])


@route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/comments")
def list_review_comments(call: Call) -> Reply:
    repo = call.repo()
    with call.store.lock:
        item = _pull(call, repo)
        assert item.pull is not None
        return call.page(
            [render.review_comment(call.urls, repo, item, c) for c in item.pull.review_comments]
        )


@route("POST", "/repos/{owner}/{repo}/pulls/{pull_number}/comments")
def create_review_comment(call: Call) -> Reply:
    repo = call.repo(write=True)
    item = _pull(call, repo)
    pull = item.pull
    assert pull is not None
    actor = call.actor()
    data = call.json_object()
    body = data.get("body")
    if not isinstance(body, str) or not body:
        raise validation_failed("PullRequestReviewComment", "missing_field", "body")
    commit_id = data.get("commit_id")
    if not isinstance(commit_id, str) or gitrepo.resolve(repo.path, commit_id) is None:
        raise validation_failed("PullRequestReviewComment", "missing_field", "commit_id")
    patches = gitrepo.patch_set(gitrepo.diff(repo.path, _base_tip(repo, pull), commit_id))
    anchor = _anchor(patches, data, _COMMENT_DOCS)
    now = utcnow()
    review = Review(
        id=call.store.new_id("review"),
        user=actor.user,
        body="",
        state="COMMENTED",
        commit_id=commit_id,
        submitted_at=now,
        via_app=actor.via_app,
    )
    comment = ReviewComment(
        id=call.store.new_id("review_comment"),
        review_id=review.id,
        path=str(data["path"]),
        body=body,
        user=actor.user,
        commit_id=commit_id,
        diff_hunk=anchor.diff_hunk,
        line=anchor.line,
        side=anchor.side,
        start_line=anchor.start_line,
        start_side=anchor.start_side,
        position=anchor.position,
        created_at=now,
    )
    with call.store.lock:
        pull.reviews.append(review)
        pull.review_comments.append(comment)
        return Reply(201, render.review_comment(call.urls, repo, item, comment))


@route("PATCH", "/repos/{owner}/{repo}/pulls/{pull_number}")
def update_pull(call: Call) -> Reply:
    repo = call.repo(write=True)
    item = _pull(call, repo)
    actor = call.actor()
    data = call.json_object()
    title, body = data.get("title"), data.get("body")
    call.hub.edit_issue(
        repo,
        item,
        title=title if isinstance(title, str) else None,
        body=body if isinstance(body, str) else None,
    )
    if data.get("state") == "closed":
        call.hub.close(repo, item, actor)
    with call.store.lock:
        return Reply(200, render.pull_request(call.urls, repo, item))


@route("PUT", "/repos/{owner}/{repo}/pulls/{pull_number}/merge")
def merge_pull(call: Call) -> Reply:
    repo = call.repo(write=True)
    item = _pull(call, repo)
    if item.state != "open":
        raise ApiError(405, "Pull Request is not mergeable")
    try:
        sha = call.hub.merge(repo, item, call.actor())
    except ValueError as exc:
        raise ApiError(405, str(exc)) from exc
    return Reply(200, {"sha": sha, "merged": True, "message": "Pull Request successfully merged"})
