"""Webhook payloads: the bodies GitHub sends for each event, shaped like octokit's schemas.

Webhook objects are close to, but not the same as, the REST ones: users carry no
``user_view_type``, repositories carry ``custom_properties``, a push's repository has epoch
timestamps, a workflow run embeds ``repository-lite`` objects. The contract tests validate
every payload built here against octokit/webhooks' schemas, which forbid extra keys.
"""

from __future__ import annotations

from typing import Any

from . import gitrepo, render
from .render import Json, Urls
from .state import (
    App,
    CheckRun,
    CheckSuite,
    Comment,
    Installation,
    Issue,
    Job,
    Label,
    Repo,
    Review,
    User,
    WorkflowRun,
    iso,
    node_id,
)

_REST_ONLY_KEYS = ("user_view_type",)


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items() if k not in _REST_ONLY_KEYS}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def _webhook_form(body: Json) -> Json:
    """Drop the keys only REST responses carry, at any depth."""
    scrubbed: Json = _scrub(body)
    return scrubbed


def user(u: Urls, who: User) -> Json:
    return _webhook_form(render.user(u, who))


def repository(u: Urls, repo: Repo, *, epoch_times: bool = False) -> Json:
    body = _webhook_form(render.repository(u, repo))
    body["custom_properties"] = {}
    if epoch_times:
        # Push payloads carry these two as Unix times, unlike every other event.
        body["created_at"] = int(repo.created_at.timestamp())
        body["pushed_at"] = int(repo.pushed_at.timestamp())
        body["stargazers"] = 0
        body["master_branch"] = repo.default_branch
    if repo.owner.type == "Organization":
        body["organization"] = repo.owner.login
    return body


def repository_lite(u: Urls, repo: Repo) -> Json:
    return {
        "id": repo.id,
        "node_id": node_id("Repository", repo.id),
        "name": repo.name,
        "full_name": repo.full_name,
        "private": repo.private,
        "owner": user(u, repo.owner),
        "description": repo.description,
        "fork": False,
        **render.repo_urls(u, repo),
    }


def installation_lite(inst: Installation | None) -> Json | None:
    if inst is None:
        return None
    return {"id": inst.id, "node_id": node_id("Installation", inst.id)}


def organization(u: Urls, org: User) -> Json:
    api = f"{u.api}/orgs/{org.login}"
    return {
        "login": org.login,
        "id": org.id,
        "node_id": node_id("Organization", org.id),
        "url": api,
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events",
        "hooks_url": f"{api}/hooks",
        "issues_url": f"{api}/issues",
        "members_url": f"{api}/members{{/member}}",
        "public_members_url": f"{api}/public_members{{/member}}",
        "avatar_url": f"{u.web}/avatars/u/{org.id}?v=4",
        "description": None,
    }


def envelope(
    u: Urls,
    repo: Repo,
    sender: User,
    inst: Installation | None,
    action: str | None,
    *,
    epoch_times: bool = False,
    **fields: Any,
) -> Json:
    """``action``, the event's fields, then ``repository``, ``sender`` and ``installation``."""
    body: Json = {} if action is None else {"action": action}
    body.update(fields)
    body["repository"] = repository(u, repo, epoch_times=epoch_times)
    if repo.owner.type == "Organization":
        body["organization"] = organization(u, repo.owner)
    body["sender"] = user(u, sender)
    lite = installation_lite(inst)
    if lite is not None:
        body["installation"] = lite
    return body


def issue(u: Urls, repo: Repo, item: Issue, app: App | None) -> Json:
    body = _webhook_form(render.issue(u, repo, item, app))
    body.pop("closed_by", None)
    if body.get("performed_via_github_app") is not None:
        body["performed_via_github_app"] = _app(body["performed_via_github_app"])
    return body


def _app(integration: Json) -> Json:
    allowed = (
        "id",
        "slug",
        "node_id",
        "owner",
        "name",
        "description",
        "external_url",
        "html_url",
        "created_at",
        "updated_at",
        "permissions",
        "events",
    )
    return {k: integration[k] for k in allowed if k in integration}


def label(u: Urls, repo: Repo, lab: Label) -> Json:
    return render.label(u, repo, lab)


def issue_comment(u: Urls, repo: Repo, item: Issue, comment: Comment, app: App | None) -> Json:
    body = _webhook_form(render.issue_comment(u, repo, item, comment, app))
    if body.get("performed_via_github_app") is not None:
        body["performed_via_github_app"] = _app(body["performed_via_github_app"])
    return body


def _fix_branch_ends(u: Urls, repo: Repo, body: Json) -> Json:
    for end in ("head", "base"):
        body[end]["repo"] = repository(u, repo)
    return body


def pull_request(u: Urls, repo: Repo, item: Issue) -> Json:
    return _fix_branch_ends(u, repo, _webhook_form(render.pull_request(u, repo, item)))


def simple_pull_request(u: Urls, repo: Repo, item: Issue) -> Json:
    body = _webhook_form(render.pull_request(u, repo, item, full=False))
    return _fix_branch_ends(u, repo, body)


def review(u: Urls, repo: Repo, item: Issue, rev: Review) -> Json:
    body = _webhook_form(render.review(u, repo, item, rev))
    body["state"] = rev.state.lower()  # webhooks spell review states in lower case
    return body


def _check_suite_brief(u: Urls, repo: Repo, suite: CheckSuite) -> Json:
    full = render.check_suite(u, repo, suite)
    keep = (
        "id",
        "node_id",
        "head_branch",
        "head_sha",
        "status",
        "conclusion",
        "url",
        "before",
        "after",
        "pull_requests",
        "app",
        "created_at",
        "updated_at",
    )
    body = {k: full[k] for k in keep}
    body["app"] = _app(body["app"])
    return _webhook_form(body)


def check_run(u: Urls, repo: Repo, run: CheckRun, suite: CheckSuite) -> Json:
    body = _webhook_form(render.check_run(u, repo, run, suite))
    body["check_suite"] = _check_suite_brief(u, repo, suite)
    body["app"] = _app(body["app"])
    return body


def check_suite(u: Urls, repo: Repo, suite: CheckSuite) -> Json:
    full = _webhook_form(render.check_suite(u, repo, suite))
    body = _check_suite_brief(u, repo, suite)
    body.update(
        {
            "latest_check_runs_count": full["latest_check_runs_count"],
            "check_runs_url": full["check_runs_url"],
            "head_commit": full["head_commit"],
            "rerequestable": True,
            "runs_rerequestable": True,
        }
    )
    return body


def workflow(u: Urls, repo: Repo, run: WorkflowRun) -> Json:
    return {
        "badge_url": f"{u.repo_web(repo)}/workflows/{run.name}/badge.svg",
        "created_at": iso(repo.created_at),
        "html_url": f"{u.repo_web(repo)}/blob/{repo.default_branch}/{run.path}",
        "id": run.workflow_id,
        "name": run.name,
        "node_id": node_id("Workflow", run.workflow_id),
        "path": run.path,
        "state": "active",
        "updated_at": iso(repo.created_at),
        "url": f"{u.repo_api(repo)}/actions/workflows/{run.workflow_id}",
    }


def workflow_run(u: Urls, repo: Repo, run: WorkflowRun) -> Json:
    body = _webhook_form(render.workflow_run(u, repo, run))
    body.pop("head_repository_id", None)
    body["repository"] = repository_lite(u, repo)
    body["head_repository"] = repository_lite(u, repo)
    return body


def workflow_job(u: Urls, repo: Repo, item: Job, run: WorkflowRun) -> Json:
    return _webhook_form(render.job(u, repo, item, run))


def installation(u: Urls, app: App, inst: Installation) -> Json:
    body = _webhook_form(render.installation(u, app, inst))
    for key in ("client_id", "single_file_paths", "has_multiple_single_files"):
        body.pop(key, None)
    return body


def push(
    u: Urls,
    repo: Repo,
    ref: str,
    before: str,
    after: str,
    pusher: User,
    inst: Installation | None,
) -> Json:
    """The ``push`` payload for one ref update (``after`` all zeros for a deletion)."""
    deleted = after == gitrepo.ZERO_SHA
    created = before == gitrepo.ZERO_SHA
    commits: list[Json] = []
    if not deleted:
        span = after if created else f"{before}..{after}"
        shas = gitrepo.git(repo.path, "rev-list", "--reverse", "--max-count=20", span).split()
        commits = [_push_commit(u, repo, sha) for sha in shas]
    head = None if deleted else _push_commit(u, repo, after)
    forced = bool(
        not created and not deleted and gitrepo.merge_base(repo.path, before, after) != before
    )
    return envelope(
        u,
        repo,
        pusher,
        inst,
        None,
        epoch_times=True,
        ref=ref,
        before=before,
        after=after,
        created=created,
        deleted=deleted,
        forced=forced,
        base_ref=None,
        compare=f"{u.repo_web(repo)}/compare/{before[:12]}...{after[:12]}",
        commits=commits,
        head_commit=head,
        pusher={"name": pusher.login, "email": pusher.email},
    )


def _push_commit(u: Urls, repo: Repo, sha: str) -> Json:
    info = gitrepo.commit_info(repo.path, sha)
    parent = info.parents[0] if info.parents else None
    added: list[str] = []
    removed: list[str] = []
    modified: list[str] = []
    if parent:
        out = gitrepo.git(repo.path, "diff", "--name-status", "--no-renames", parent, sha)
    else:
        out = gitrepo.git(repo.path, "show", "--name-status", "--format=", sha)
    for line in out.splitlines():
        status, _, path = line.partition("\t")
        {"A": added, "D": removed}.get(status[:1], modified).append(path)
    return {
        "id": sha,
        "tree_id": info.tree,
        "distinct": True,
        "message": info.message,
        "timestamp": info.committer_date,
        "url": f"{u.repo_web(repo)}/commit/{sha}",
        "author": {"name": info.author_name, "email": info.author_email},
        "committer": {"name": info.committer_name, "email": info.committer_email},
        "added": added,
        "removed": removed,
        "modified": modified,
    }


def ping(u: Urls, app: App, hook_id: int, url: str, events: list[str]) -> Json:
    return {
        "zen": "Keep it logically awesome.",
        "hook_id": hook_id,
        "hook": {
            "type": "App",
            "id": hook_id,
            "name": "web",
            "active": True,
            "events": events,
            "config": {"content_type": "json", "insecure_ssl": "0", "url": url},
            "updated_at": iso(app.created_at),
            "created_at": iso(app.created_at),
            "app_id": app.id,
            "url": f"{u.api}/app/hook/config",
            "ping_url": f"{u.api}/app/hook/pings",
            "deliveries_url": f"{u.api}/app/hook/deliveries",
        },
        "sender": user(u, app.owner),
    }
