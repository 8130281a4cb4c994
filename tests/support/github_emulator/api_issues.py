"""Issue routes: issues, their labels, and issue comments (which PRs share)."""

from __future__ import annotations

from typing import Any

from . import render
from .rest import ApiError, Call, Reply, not_found, route, validation_failed
from .state import Issue, Repo


def _issue(call: Call, repo: Repo) -> Issue:
    item = repo.issues.get(call.int_param("issue_number"))
    if item is None:
        raise not_found()
    return item


@route("POST", "/repos/{owner}/{repo}/issues")
def create_issue(call: Call) -> Reply:
    repo = call.repo(write=True)
    data = call.json_object()
    title = data.get("title")
    if not isinstance(title, str | int) or not str(title).strip():
        raise validation_failed("Issue", "missing_field", "title")
    labels = [str(x) for x in data.get("labels") or []]
    item = call.hub.open_issue(repo, str(title), data.get("body"), call.actor(), labels)
    with call.store.lock:
        return Reply(201, render.issue(call.urls, repo, item, call.store.app))


@route("GET", "/repos/{owner}/{repo}/issues")
def list_issues(call: Call) -> Reply:
    """Open issues by default, newest first; like GitHub, pull requests are listed too."""
    repo = call.repo()
    state = call.query.get("state", "open")
    wanted = {x.lower() for x in call.query.get("labels", "").split(",") if x}
    with call.store.lock:
        items = [
            render.issue(call.urls, repo, item, call.store.app)
            for item in sorted(repo.issues.values(), key=lambda i: -i.number)
            if state in ("all", item.state) and wanted <= {lab.name.lower() for lab in item.labels}
        ]
    return call.page(items)


@route("GET", "/repos/{owner}/{repo}/issues/{issue_number}")
def get_issue(call: Call) -> Reply:
    repo = call.repo()
    with call.store.lock:
        return Reply(200, render.issue(call.urls, repo, _issue(call, repo), call.store.app))


@route("PATCH", "/repos/{owner}/{repo}/issues/{issue_number}")
def update_issue(call: Call) -> Reply:
    repo = call.repo(write=True)
    item = _issue(call, repo)
    actor = call.actor()
    data = call.json_object()
    title, body = data.get("title"), data.get("body")
    call.hub.edit_issue(
        repo,
        item,
        title=title if isinstance(title, str) else None,
        body=body if isinstance(body, str) else None,
    )
    if isinstance(data.get("labels"), list):
        wanted = _label_names(data["labels"]) if data["labels"] else []
        for lab in list(item.labels):
            if lab.name.lower() not in {w.lower() for w in wanted}:
                call.hub.remove_label(repo, item, lab.name, actor)
        call.hub.add_labels(repo, item, wanted, actor)
    if data.get("state") == "closed":
        call.hub.close(repo, item, actor)
    elif data.get("state") == "open":
        call.hub.reopen(item)
    with call.store.lock:
        return Reply(200, render.issue(call.urls, repo, item, call.store.app))


def _label_names(body: Any) -> list[str]:
    # GitHub takes a bare array or {"labels": [...]}, of names or {"name": ...} objects.
    items = body.get("labels") if isinstance(body, dict) else body
    if not isinstance(items, list) or not items:
        raise validation_failed("Label", "missing_field", "labels")
    names = []
    for entry in items:
        name = entry.get("name") if isinstance(entry, dict) else entry
        if not isinstance(name, str) or not name:
            raise validation_failed("Label", "invalid", "labels")
        names.append(name)
    return names


def _labels(call: Call, repo: Repo, item: Issue) -> list[dict[str, Any]]:
    return [render.label(call.urls, repo, lab) for lab in item.labels]


@route("GET", "/repos/{owner}/{repo}/issues/{issue_number}/labels")
def list_labels(call: Call) -> Reply:
    repo = call.repo()
    with call.store.lock:
        return call.page(_labels(call, repo, _issue(call, repo)))


@route("POST", "/repos/{owner}/{repo}/issues/{issue_number}/labels")
def add_labels(call: Call) -> Reply:
    repo = call.repo(write=True)
    item = _issue(call, repo)
    call.hub.add_labels(repo, item, _label_names(call.body), call.actor())
    with call.store.lock:
        return Reply(200, _labels(call, repo, item))


@route("PUT", "/repos/{owner}/{repo}/issues/{issue_number}/labels")
def set_labels(call: Call) -> Reply:
    repo = call.repo(write=True)
    item = _issue(call, repo)
    wanted = _label_names(call.body) if call.body not in (None, [], {"labels": []}) else []
    actor = call.actor()
    for lab in list(item.labels):
        if lab.name.lower() not in {w.lower() for w in wanted}:
            call.hub.remove_label(repo, item, lab.name, actor)
    call.hub.add_labels(repo, item, wanted, actor)
    with call.store.lock:
        return Reply(200, _labels(call, repo, item))


@route("DELETE", "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name:path}")
def remove_label(call: Call) -> Reply:
    repo = call.repo(write=True)
    item = _issue(call, repo)
    name = str(call.params["name"])
    if not any(lab.name.lower() == name.lower() for lab in item.labels):
        raise ApiError(404, "Label does not exist")
    call.hub.remove_label(repo, item, name, call.actor())
    with call.store.lock:
        # GitHub answers with the labels that remain.
        return Reply(200, _labels(call, repo, item))


@route("GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments")
def list_comments(call: Call) -> Reply:
    repo = call.repo()
    with call.store.lock:
        item = _issue(call, repo)
        app = call.store.app
        return call.page(
            [render.issue_comment(call.urls, repo, item, c, app) for c in item.comments]
        )


@route("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments")
def create_comment(call: Call) -> Reply:
    repo = call.repo(write=True)
    item = _issue(call, repo)
    body = call.json_object().get("body")
    if not isinstance(body, str) or not body:
        raise validation_failed("IssueComment", "missing_field", "body")
    if len(body) > 65536:
        raise validation_failed(
            "IssueComment", "custom", "body", "Body is too long (maximum is 65536 characters)"
        )
    comment = call.hub.add_comment(repo, item, body, call.actor())
    with call.store.lock:
        return Reply(201, render.issue_comment(call.urls, repo, item, comment, call.store.app))


def _comment_id(call: Call) -> int:
    return call.int_param("comment_id")


@route("GET", "/repos/{owner}/{repo}/issues/comments/{comment_id}")
def get_comment(call: Call) -> Reply:
    repo = call.repo()
    item, comment = call.hub.find_comment(repo, _comment_id(call))
    with call.store.lock:
        return Reply(200, render.issue_comment(call.urls, repo, item, comment, call.store.app))


@route("PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}")
def edit_comment(call: Call) -> Reply:
    repo = call.repo(write=True)
    call.actor()  # an App with issues:write may edit any comment in the repository
    body = call.json_object().get("body")
    if not isinstance(body, str) or not body:
        raise validation_failed("IssueComment", "missing_field", "body")
    item, comment = call.hub.edit_comment(repo, _comment_id(call), body)
    with call.store.lock:
        return Reply(200, render.issue_comment(call.urls, repo, item, comment, call.store.app))
