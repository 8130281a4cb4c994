"""REST representations: the JSON GitHub's API answers with, built from the emulator's state.

Field sets follow GitHub's OpenAPI description (``tests/fixtures/github/openapi-subset.json``);
the contract tests hold these builders to it. URLs point back at the emulator, so clients that
follow ``url`` fields (PyGithub does) keep talking to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import anchors, gitrepo
from .state import (
    App,
    CheckRun,
    CheckSuite,
    Comment,
    Installation,
    Issue,
    Job,
    Label,
    Pull,
    Repo,
    Review,
    ReviewComment,
    User,
    WorkflowRun,
    iso,
    node_id,
)

Json = dict[str, Any]

# GitHub Actions is the App behind workflow check suites on github.com.
ACTIONS_APP_ID = 15368


@dataclass(frozen=True)
class Urls:
    """Where the emulator lives: ``web`` (html, git) and ``api`` (``<web>/api/v3``)."""

    web: str

    @property
    def api(self) -> str:
        return f"{self.web}/api/v3"

    def repo_api(self, repo: Repo) -> str:
        return f"{self.api}/repos/{repo.full_name}"

    def repo_web(self, repo: Repo) -> str:
        return f"{self.web}/{repo.full_name}"


def user(u: Urls, who: User) -> Json:
    api = f"{u.api}/users/{who.login}"
    return {
        "login": who.login,
        "id": who.id,
        "node_id": node_id("User" if who.type != "Bot" else "Bot", who.id),
        "avatar_url": f"{u.web}/avatars/u/{who.id}?v=4",
        "gravatar_id": "",
        "url": api,
        "html_url": f"{u.web}/{who.login}" if who.type != "Bot" else f"{u.web}/apps/{who.login}",
        "followers_url": f"{api}/followers",
        "following_url": f"{api}/following{{/other_user}}",
        "gists_url": f"{api}/gists{{/gist_id}}",
        "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api}/subscriptions",
        "organizations_url": f"{api}/orgs",
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events{{/privacy}}",
        "received_events_url": f"{api}/received_events",
        "type": who.type,
        "user_view_type": "public",
        "site_admin": who.site_admin,
    }


def repo_urls(u: Urls, repo: Repo) -> Json:
    """The URL fields every repository representation shares."""
    api = u.repo_api(repo)
    return {
        "html_url": u.repo_web(repo),
        "url": api,
        "forks_url": f"{api}/forks",
        "keys_url": f"{api}/keys{{/key_id}}",
        "collaborators_url": f"{api}/collaborators{{/collaborator}}",
        "teams_url": f"{api}/teams",
        "hooks_url": f"{api}/hooks",
        "issue_events_url": f"{api}/issues/events{{/number}}",
        "events_url": f"{api}/events",
        "assignees_url": f"{api}/assignees{{/user}}",
        "branches_url": f"{api}/branches{{/branch}}",
        "tags_url": f"{api}/tags",
        "blobs_url": f"{api}/git/blobs{{/sha}}",
        "git_tags_url": f"{api}/git/tags{{/sha}}",
        "git_refs_url": f"{api}/git/refs{{/sha}}",
        "trees_url": f"{api}/git/trees{{/sha}}",
        "statuses_url": f"{api}/statuses/{{sha}}",
        "languages_url": f"{api}/languages",
        "stargazers_url": f"{api}/stargazers",
        "contributors_url": f"{api}/contributors",
        "subscribers_url": f"{api}/subscribers",
        "subscription_url": f"{api}/subscription",
        "commits_url": f"{api}/commits{{/sha}}",
        "git_commits_url": f"{api}/git/commits{{/sha}}",
        "comments_url": f"{api}/comments{{/number}}",
        "issue_comment_url": f"{api}/issues/comments{{/number}}",
        "contents_url": f"{api}/contents/{{+path}}",
        "compare_url": f"{api}/compare/{{base}}...{{head}}",
        "merges_url": f"{api}/merges",
        "archive_url": f"{api}/{{archive_format}}{{/ref}}",
        "downloads_url": f"{api}/downloads",
        "issues_url": f"{api}/issues{{/number}}",
        "pulls_url": f"{api}/pulls{{/number}}",
        "milestones_url": f"{api}/milestones{{/number}}",
        "notifications_url": f"{api}/notifications{{?since,all,participating}}",
        "labels_url": f"{api}/labels{{/name}}",
        "releases_url": f"{api}/releases{{/id}}",
        "deployments_url": f"{api}/deployments",
    }


def _open_issues(repo: Repo) -> int:
    return sum(1 for issue in repo.issues.values() if issue.state == "open")


def repository(u: Urls, repo: Repo, *, full: bool = False) -> Json:
    """``repository`` (inside pulls) or, with ``full``, ``full-repository`` (GET /repos/o/r)."""
    host = u.web.split("://", 1)[1]
    body: Json = {
        "id": repo.id,
        "node_id": node_id("Repository", repo.id),
        "name": repo.name,
        "full_name": repo.full_name,
        "private": repo.private,
        "owner": user(u, repo.owner),
        "description": repo.description,
        "fork": False,
        **repo_urls(u, repo),
        "created_at": iso(repo.created_at),
        "updated_at": iso(repo.pushed_at),
        "pushed_at": iso(repo.pushed_at),
        "git_url": f"git://{host}/{repo.full_name}.git",
        "ssh_url": f"git@{host.split(':')[0]}:{repo.full_name}.git",
        "clone_url": f"{u.repo_web(repo)}.git",
        "svn_url": u.repo_web(repo),
        "homepage": None,
        "size": 0,
        "stargazers_count": 0,
        "watchers_count": 0,
        "language": "Python",
        "has_issues": True,
        "has_projects": True,
        "has_downloads": True,
        "has_wiki": True,
        "has_pages": False,
        "has_discussions": False,
        "forks_count": 0,
        "mirror_url": None,
        "archived": False,
        "disabled": False,
        "open_issues_count": _open_issues(repo),
        "license": None,
        "allow_forking": True,
        "is_template": False,
        "web_commit_signoff_required": False,
        "topics": [],
        "visibility": "private" if repo.private else "public",
        "forks": 0,
        "open_issues": _open_issues(repo),
        "watchers": 0,
        "default_branch": repo.default_branch,
    }
    if full:
        body.update(
            {
                "permissions": {
                    "admin": False,
                    "maintain": False,
                    "push": True,
                    "triage": True,
                    "pull": True,
                },
                "allow_squash_merge": True,
                "allow_merge_commit": True,
                "allow_rebase_merge": True,
                "allow_auto_merge": False,
                "delete_branch_on_merge": False,
                "network_count": 0,
                "subscribers_count": 0,
            }
        )
        if repo.owner.type == "Organization":
            body["organization"] = user(u, repo.owner)
    return body


def label(u: Urls, repo: Repo, lab: Label) -> Json:
    return {
        "id": lab.id,
        "node_id": node_id("Label", lab.id),
        "url": f"{u.repo_api(repo)}/labels/{lab.name}",
        "name": lab.name,
        "color": lab.color,
        "default": lab.default,
        "description": lab.description,
    }


def reactions(url: str) -> Json:
    return {
        "url": f"{url}/reactions",
        "total_count": 0,
        "+1": 0,
        "-1": 0,
        "laugh": 0,
        "hooray": 0,
        "confused": 0,
        "heart": 0,
        "rocket": 0,
        "eyes": 0,
    }


def author_association(repo: Repo, who: User) -> str:
    if who.login.lower() == repo.owner.login.lower():
        return "OWNER"
    if who.login in repo.collaborators:
        return "COLLABORATOR"
    return "NONE"


def integration(u: Urls, app: App) -> Json:
    """The ``integration`` object (GET /app, ``performed_via_github_app``, check ``app``)."""
    return {
        "id": app.id,
        "slug": app.slug,
        "node_id": node_id("App", app.id),
        "client_id": app.client_id,
        "owner": user(u, app.owner),
        "name": app.name,
        "description": "",
        "external_url": u.web,
        "html_url": f"{u.web}/apps/{app.slug}",
        "created_at": iso(app.created_at),
        "updated_at": iso(app.created_at),
        "permissions": dict(app.permissions),
        "events": list(app.events),
    }


def issue(u: Urls, repo: Repo, item: Issue, app: App | None = None) -> Json:
    api = f"{u.repo_api(repo)}/issues/{item.number}"
    kind = "pull" if item.pull else "issues"
    body: Json = {
        "url": api,
        "repository_url": u.repo_api(repo),
        "labels_url": f"{api}/labels{{/name}}",
        "comments_url": f"{api}/comments",
        "events_url": f"{api}/events",
        "html_url": f"{u.repo_web(repo)}/{kind}/{item.number}",
        "id": item.id,
        "node_id": node_id("Issue", item.id),
        "number": item.number,
        "title": item.title,
        "user": user(u, item.user),
        "labels": [label(u, repo, lab) for lab in item.labels],
        "state": item.state,
        "locked": False,
        "assignee": None,
        "assignees": [],
        "milestone": None,
        "comments": len(item.comments),
        "created_at": iso(item.created_at),
        "updated_at": iso(item.updated_at),
        "closed_at": iso(item.closed_at),
        "author_association": author_association(repo, item.user),
        "active_lock_reason": None,
        "body": item.body,
        "closed_by": None,
        "reactions": reactions(api),
        "timeline_url": f"{api}/timeline",
        "performed_via_github_app": integration(u, app) if (item.via_app and app) else None,
    }
    if item.pull is not None:
        pull_api = f"{u.repo_api(repo)}/pulls/{item.number}"
        body["draft"] = item.pull.draft
        body["pull_request"] = {
            "url": pull_api,
            "html_url": f"{u.repo_web(repo)}/pull/{item.number}",
            "diff_url": f"{u.repo_web(repo)}/pull/{item.number}.diff",
            "patch_url": f"{u.repo_web(repo)}/pull/{item.number}.patch",
            "merged_at": iso(item.pull.merged_at),
        }
    return body


def issue_comment(u: Urls, repo: Repo, item: Issue, comment: Comment, app: App | None) -> Json:
    api = f"{u.repo_api(repo)}/issues/comments/{comment.id}"
    kind = "pull" if item.pull else "issues"
    return {
        "url": api,
        "html_url": f"{u.repo_web(repo)}/{kind}/{item.number}#issuecomment-{comment.id}",
        "issue_url": f"{u.repo_api(repo)}/issues/{item.number}",
        "id": comment.id,
        "node_id": node_id("IssueComment", comment.id),
        "user": user(u, comment.user),
        "created_at": iso(comment.created_at),
        "updated_at": iso(comment.updated_at),
        "author_association": author_association(repo, comment.user),
        "body": comment.body,
        "reactions": reactions(api),
        "performed_via_github_app": integration(u, app) if (comment.via_app and app) else None,
    }


def _branch_end(u: Urls, repo: Repo, ref: str, sha: str) -> Json:
    return {
        "label": f"{repo.owner.login}:{ref}",
        "ref": ref,
        "sha": sha,
        "user": user(u, repo.owner),
        "repo": repository(u, repo),
    }


def _pull_links(u: Urls, repo: Repo, number: int, head_sha: str) -> Json:
    api = f"{u.repo_api(repo)}/pulls/{number}"
    issue_api = f"{u.repo_api(repo)}/issues/{number}"
    return {
        "self": {"href": api},
        "html": {"href": f"{u.repo_web(repo)}/pull/{number}"},
        "issue": {"href": issue_api},
        "comments": {"href": f"{issue_api}/comments"},
        "review_comments": {"href": f"{api}/comments"},
        "review_comment": {"href": f"{u.repo_api(repo)}/pulls/comments{{/number}}"},
        "commits": {"href": f"{api}/commits"},
        "statuses": {"href": f"{u.repo_api(repo)}/statuses/{head_sha}"},
    }


@dataclass(frozen=True)
class DiffStats:
    commits: int
    additions: int
    deletions: int
    changed_files: int


def base_tip(repo: Repo, pull: Pull) -> str:
    """The base branch as it is now: GitHub diffs a PR against it, not against the old base."""
    return gitrepo.resolve(repo.path, f"refs/heads/{pull.base_ref}") or pull.base_sha


def diff_stats(repo: Repo, pull: Pull) -> DiffStats:
    base = base_tip(repo, pull)
    patches = gitrepo.patch_set(gitrepo.diff(repo.path, base, pull.head_sha))
    return DiffStats(
        commits=gitrepo.count_commits(repo.path, base, pull.head_sha),
        additions=sum(p.added for p in patches),
        deletions=sum(p.removed for p in patches),
        changed_files=len(patches),
    )


def pull_request(u: Urls, repo: Repo, item: Issue, *, full: bool = True) -> Json:
    """``pull-request`` (get, create) or, without ``full``, ``pull-request-simple`` (list)."""
    pull = item.pull
    assert pull is not None
    api = f"{u.repo_api(repo)}/pulls/{item.number}"
    web = f"{u.repo_web(repo)}/pull/{item.number}"
    body: Json = {
        "url": api,
        "id": pull.id,
        "node_id": node_id("PullRequest", pull.id),
        "html_url": web,
        "diff_url": f"{web}.diff",
        "patch_url": f"{web}.patch",
        "issue_url": f"{u.repo_api(repo)}/issues/{item.number}",
        "number": item.number,
        "state": item.state,
        "locked": False,
        "title": item.title,
        "user": user(u, item.user),
        "body": item.body,
        "created_at": iso(item.created_at),
        "updated_at": iso(item.updated_at),
        "closed_at": iso(item.closed_at),
        "merged_at": iso(pull.merged_at),
        "merge_commit_sha": pull.merge_commit_sha,
        "assignee": None,
        "assignees": [],
        "requested_reviewers": [],
        "requested_teams": [],
        "labels": [label(u, repo, lab) for lab in item.labels],
        "milestone": None,
        "draft": pull.draft,
        "commits_url": f"{api}/commits",
        "review_comments_url": f"{api}/comments",
        "review_comment_url": f"{u.repo_api(repo)}/pulls/comments{{/number}}",
        "comments_url": f"{u.repo_api(repo)}/issues/{item.number}/comments",
        "statuses_url": f"{u.repo_api(repo)}/statuses/{pull.head_sha}",
        "head": _branch_end(u, repo, pull.head_ref, pull.head_sha),
        "base": _branch_end(u, repo, pull.base_ref, base_tip(repo, pull)),
        "_links": _pull_links(u, repo, item.number, pull.head_sha),
        "author_association": author_association(repo, item.user),
        "auto_merge": None,
        "active_lock_reason": None,
    }
    if full:
        stats = diff_stats(repo, pull)
        body.update(
            {
                "merged": pull.merged,
                "mergeable": True,
                "rebaseable": True,
                "mergeable_state": "clean",
                "merged_by": user(u, pull.merged_by) if pull.merged_by else None,
                "comments": len(item.comments),
                "review_comments": len(pull.review_comments),
                "maintainer_can_modify": pull.maintainer_can_modify,
                "commits": stats.commits,
                "additions": stats.additions,
                "deletions": stats.deletions,
                "changed_files": stats.changed_files,
            }
        )
    return body


def review(u: Urls, repo: Repo, item: Issue, rev: Review) -> Json:
    web = f"{u.repo_web(repo)}/pull/{item.number}"
    pull_api = f"{u.repo_api(repo)}/pulls/{item.number}"
    body: Json = {
        "id": rev.id,
        "node_id": node_id("PullRequestReview", rev.id),
        "user": user(u, rev.user),
        "body": rev.body,
        "state": rev.state,
        "html_url": f"{web}#pullrequestreview-{rev.id}",
        "pull_request_url": pull_api,
        "author_association": author_association(repo, rev.user),
        "_links": {
            "html": {"href": f"{web}#pullrequestreview-{rev.id}"},
            "pull_request": {"href": pull_api},
        },
        "commit_id": rev.commit_id,
    }
    if rev.submitted_at is not None:
        body["submitted_at"] = iso(rev.submitted_at)
    return body


def review_comment(u: Urls, repo: Repo, item: Issue, c: ReviewComment) -> Json:
    api = f"{u.repo_api(repo)}/pulls/comments/{c.id}"
    web = f"{u.repo_web(repo)}/pull/{item.number}#discussion_r{c.id}"
    pull_api = f"{u.repo_api(repo)}/pulls/{item.number}"
    body: Json = {
        "url": api,
        "pull_request_review_id": c.review_id,
        "id": c.id,
        "node_id": node_id("PullRequestReviewComment", c.id),
        "diff_hunk": c.diff_hunk,
        "path": c.path,
        "position": c.position,
        "original_position": c.position,
        "commit_id": c.commit_id,
        "original_commit_id": c.commit_id,
        "user": user(u, c.user),
        "body": c.body,
        "created_at": iso(c.created_at),
        "updated_at": iso(c.created_at),
        "html_url": web,
        "pull_request_url": pull_api,
        "author_association": author_association(repo, c.user),
        "_links": {
            "self": {"href": api},
            "html": {"href": web},
            "pull_request": {"href": pull_api},
        },
        "reactions": reactions(api),
        "start_line": c.start_line,
        "original_start_line": c.start_line,
        "line": c.line,
        "original_line": c.line,
        "side": c.side,
        "subject_type": "line",
    }
    if c.start_side is not None:
        # The schema's enum has no null, so a single-line comment leaves the key out.
        body["start_side"] = c.start_side
    return body


def diff_entries(u: Urls, repo: Repo, pull: Pull) -> list[Json]:
    """``pulls/{n}/files``: one entry per changed file, with its ``patch`` (the hunks)."""
    base = base_tip(repo, pull)
    patches = gitrepo.patch_set(gitrepo.diff(repo.path, base, pull.head_sha))
    entries = []
    for pf in patches:
        if pf.is_added_file:
            status = "added"
        elif pf.is_removed_file:
            status = "removed"
        elif pf.is_rename:
            status = "renamed"
        else:
            status = "modified"
        name = pf.path
        side_sha = base if pf.is_removed_file else pull.head_sha
        blob = (
            gitrepo.blob_sha(
                repo.path,
                side_sha,
                name if not pf.is_removed_file else pf.source_file.removeprefix("a/"),
            )
            or gitrepo.ZERO_SHA
        )
        entry: Json = {
            "sha": blob,
            "filename": name,
            "status": status,
            "additions": pf.added,
            "deletions": pf.removed,
            "changes": pf.added + pf.removed,
            "blob_url": f"{u.repo_web(repo)}/blob/{side_sha}/{name}",
            "raw_url": f"{u.repo_web(repo)}/raw/{side_sha}/{name}",
            "contents_url": f"{u.repo_api(repo)}/contents/{name}?ref={side_sha}",
        }
        hunks = "\n".join(anchors.hunk_text(h) for h in pf)
        if hunks:
            entry["patch"] = hunks
        if pf.is_rename:
            entry["previous_filename"] = pf.source_file.removeprefix("a/")
        entries.append(entry)
    return entries


def git_ref(u: Urls, repo: Repo, ref: str, sha: str) -> Json:
    return {
        "ref": ref,
        "node_id": node_id("Ref", abs(hash((repo.id, ref))) % 10**9),
        "url": f"{u.repo_api(repo)}/git/{ref}",
        "object": {"sha": sha, "type": "commit", "url": f"{u.repo_api(repo)}/git/commits/{sha}"},
    }


def commit(u: Urls, repo: Repo, sha: str, users: dict[str, User] | None = None) -> Json:
    """A commit; ``users`` (login -> User) links authors whose email is ``<login>@...``."""
    info = gitrepo.commit_info(repo.path, sha)

    def account(email: str) -> Json | None:
        # GitHub links a commit to the account owning its email, else sends null.
        found = (users or {}).get(email.split("@", 1)[0].lower())
        return user(u, found) if found else None

    api = f"{u.repo_api(repo)}/commits/{sha}"
    return {
        "url": api,
        "sha": sha,
        "node_id": node_id("Commit", int(sha[:8], 16)),
        "html_url": f"{u.repo_web(repo)}/commit/{sha}",
        "comments_url": f"{api}/comments",
        "commit": {
            "url": f"{u.repo_api(repo)}/git/commits/{sha}",
            "author": {
                "name": info.author_name,
                "email": info.author_email,
                "date": info.author_date,
            },
            "committer": {
                "name": info.committer_name,
                "email": info.committer_email,
                "date": info.committer_date,
            },
            "message": info.message,
            "comment_count": 0,
            "tree": {"sha": info.tree, "url": f"{u.repo_api(repo)}/git/trees/{info.tree}"},
            "verification": {
                "verified": False,
                "reason": "unsigned",
                "payload": None,
                "signature": None,
                "verified_at": None,
            },
        },
        "author": account(info.author_email),
        "committer": account(info.committer_email),
        "parents": [
            {
                "sha": p,
                "url": f"{u.repo_api(repo)}/commits/{p}",
                "html_url": f"{u.repo_web(repo)}/commit/{p}",
            }
            for p in info.parents
        ],
    }


def branch(u: Urls, repo: Repo, name: str, sha: str, users: dict[str, User]) -> Json:
    api = f"{u.repo_api(repo)}/branches/{name}"
    return {
        "name": name,
        "commit": commit(u, repo, sha, users),
        "_links": {"self": api, "html": f"{u.repo_web(repo)}/tree/{name}"},
        "protected": False,
        "protection": {
            "enabled": False,
            "required_status_checks": {"enforcement_level": "off", "contexts": [], "checks": []},
        },
        "protection_url": f"{api}/protection",
    }


def simple_commit(repo: Repo, sha: str) -> Json:
    info = gitrepo.commit_info(repo.path, sha)
    return {
        "id": sha,
        "tree_id": info.tree,
        "message": info.message,
        "timestamp": info.committer_date,
        "author": {"name": info.author_name, "email": info.author_email},
        "committer": {"name": info.committer_name, "email": info.committer_email},
    }


def actions_app(u: Urls) -> Json:
    owner = User(login="github", id=9919, type="Organization")
    return {
        "id": ACTIONS_APP_ID,
        "slug": "github-actions",
        "node_id": node_id("App", ACTIONS_APP_ID),
        "owner": user(u, owner),
        "name": "GitHub Actions",
        "description": "Automate your workflow from idea to production",
        "external_url": "https://help.github.com/en/actions",
        "html_url": f"{u.web}/apps/github-actions",
        "created_at": "2018-07-30T09:30:17Z",
        "updated_at": "2019-12-10T19:04:12Z",
        "permissions": {
            "actions": "write",
            "checks": "write",
            "contents": "write",
            "metadata": "read",
            "pull_requests": "write",
            "statuses": "write",
        },
        "events": ["check_run", "check_suite", "pull_request", "push", "workflow_dispatch"],
    }


def pull_minimal(u: Urls, repo: Repo, item: Issue) -> Json:
    pull = item.pull
    assert pull is not None
    ref = {"id": repo.id, "url": u.repo_api(repo), "name": repo.name}
    return {
        "url": f"{u.repo_api(repo)}/pulls/{item.number}",
        "id": pull.id,
        "number": item.number,
        "head": {"ref": pull.head_ref, "sha": pull.head_sha, "repo": ref},
        "base": {"ref": pull.base_ref, "sha": pull.base_sha, "repo": ref},
    }


def _pulls(u: Urls, repo: Repo, numbers: list[int]) -> list[Json]:
    return [pull_minimal(u, repo, repo.issues[n]) for n in numbers if n in repo.issues]


def check_suite(u: Urls, repo: Repo, suite: CheckSuite) -> Json:
    api = f"{u.repo_api(repo)}/check-suites/{suite.id}"
    return {
        "id": suite.id,
        "node_id": node_id("CheckSuite", suite.id),
        "head_branch": suite.head_branch,
        "head_sha": suite.head_sha,
        "status": suite.status,
        "conclusion": suite.conclusion,
        "url": api,
        "before": suite.before,
        "after": suite.after,
        "pull_requests": _pulls(u, repo, suite.pull_numbers),
        "app": actions_app(u),
        "repository": _minimal_repository(u, repo),
        "created_at": iso(suite.created_at),
        "updated_at": iso(suite.updated_at),
        "head_commit": simple_commit(repo, suite.head_sha),
        "latest_check_runs_count": sum(
            1 for r in repo.check_runs.values() if r.suite_id == suite.id
        ),
        "check_runs_url": f"{api}/check-runs",
        "rerequestable": True,
        "runs_rerequestable": True,
    }


def _minimal_repository(u: Urls, repo: Repo) -> Json:
    return {
        "id": repo.id,
        "node_id": node_id("Repository", repo.id),
        "name": repo.name,
        "full_name": repo.full_name,
        "private": repo.private,
        "owner": user(u, repo.owner),
        "description": repo.description,
        "fork": False,
        **repo_urls(u, repo),
    }


def check_run(u: Urls, repo: Repo, run: CheckRun, suite: CheckSuite) -> Json:
    api = f"{u.repo_api(repo)}/check-runs/{run.id}"
    job = next((j for j in repo.jobs.values() if j.check_run_id == run.id), None)
    html = (
        f"{u.repo_web(repo)}/actions/runs/{job.run_id}/job/{job.id}"
        if job
        else f"{u.repo_web(repo)}/runs/{run.id}"
    )
    return {
        "id": run.id,
        "head_sha": run.head_sha,
        "node_id": node_id("CheckRun", run.id),
        "external_id": run.external_id,
        "url": api,
        "html_url": html,
        "details_url": html,
        "status": run.status,
        "conclusion": run.conclusion,
        "started_at": iso(run.started_at),
        "completed_at": iso(run.completed_at),
        "output": {
            "title": run.title,
            "summary": run.summary,
            "text": run.text,
            "annotations_count": 0,
            "annotations_url": f"{api}/annotations",
        },
        "name": run.name,
        "check_suite": {"id": suite.id},
        "app": actions_app(u),
        "pull_requests": _pulls(u, repo, suite.pull_numbers),
    }


def workflow_run(u: Urls, repo: Repo, run: WorkflowRun) -> Json:
    api = f"{u.repo_api(repo)}/actions/runs/{run.id}"
    return {
        "id": run.id,
        "name": run.name,
        "node_id": node_id("WorkflowRun", run.id),
        "check_suite_id": run.check_suite_id,
        "check_suite_node_id": node_id("CheckSuite", run.check_suite_id),
        "head_branch": run.head_branch,
        "head_sha": run.head_sha,
        "path": run.path,
        "display_title": run.display_title,
        "run_number": run.run_number,
        "event": run.event,
        "status": run.status,
        "conclusion": run.conclusion,
        "workflow_id": run.workflow_id,
        "url": api,
        "html_url": f"{u.repo_web(repo)}/actions/runs/{run.id}",
        "pull_requests": _pulls(u, repo, run.pull_numbers),
        "created_at": iso(run.created_at),
        "updated_at": iso(run.updated_at),
        "actor": user(u, run.actor),
        "triggering_actor": user(u, run.actor),
        "run_attempt": 1,
        "referenced_workflows": [],
        "run_started_at": iso(run.run_started_at),
        "jobs_url": f"{api}/jobs",
        "logs_url": f"{api}/logs",
        "check_suite_url": f"{u.repo_api(repo)}/check-suites/{run.check_suite_id}",
        "artifacts_url": f"{api}/artifacts",
        "cancel_url": f"{api}/cancel",
        "rerun_url": f"{api}/rerun",
        "previous_attempt_url": None,
        "workflow_url": f"{u.repo_api(repo)}/actions/workflows/{run.workflow_id}",
        "head_commit": simple_commit(repo, run.head_sha),
        "repository": _minimal_repository(u, repo),
        "head_repository": _minimal_repository(u, repo),
        "head_repository_id": repo.id,
    }


def job(u: Urls, repo: Repo, item: Job, run: WorkflowRun) -> Json:
    return {
        "id": item.id,
        "run_id": item.run_id,
        "run_url": f"{u.repo_api(repo)}/actions/runs/{item.run_id}",
        "run_attempt": 1,
        "node_id": node_id("CheckRun", item.id),
        "head_sha": item.head_sha,
        "url": f"{u.repo_api(repo)}/actions/jobs/{item.id}",
        "html_url": f"{u.repo_web(repo)}/actions/runs/{item.run_id}/job/{item.id}",
        "status": item.status,
        "conclusion": item.conclusion,
        "created_at": iso(item.created_at),
        "started_at": iso(item.started_at),
        "completed_at": iso(item.completed_at),
        "name": item.name,
        "steps": [
            {
                "name": s.name,
                "status": s.status,
                "conclusion": s.conclusion,
                "number": s.number,
                "started_at": iso(s.started_at),
                "completed_at": iso(s.completed_at),
            }
            for s in item.steps
        ],
        "check_run_url": f"{u.repo_api(repo)}/check-runs/{item.check_run_id}",
        "labels": ["ubuntu-latest"],
        "runner_id": 1,
        "runner_name": "GitHub Actions 1",
        "runner_group_id": 1,
        "runner_group_name": "GitHub Actions",
        "workflow_name": run.name,
        "head_branch": item.head_branch,
    }


def installation(u: Urls, app: App, inst: Installation) -> Json:
    return {
        "id": inst.id,
        "client_id": app.client_id,
        "account": user(u, inst.account),
        "repository_selection": "all",
        "access_tokens_url": f"{u.api}/app/installations/{inst.id}/access_tokens",
        "repositories_url": f"{u.api}/installation/repositories",
        "html_url": f"{u.web}/settings/installations/{inst.id}",
        "app_id": app.id,
        "app_slug": app.slug,
        "target_id": inst.account.id,
        "target_type": inst.account.type,
        "permissions": dict(app.permissions),
        "events": list(app.events),
        "created_at": iso(inst.created_at),
        "updated_at": iso(inst.created_at),
        "single_file_name": None,
        "has_multiple_single_files": False,
        "single_file_paths": [],
        "suspended_by": None,
        "suspended_at": None,
    }


def collaborator_permission(u: Urls, repo: Repo, who: User, role: str | None) -> Json:
    """``repository-collaborator-permission``: ``permission`` is the legacy 4-level name."""
    legacy = {
        "admin": "admin",
        "maintain": "write",
        "write": "write",
        "triage": "read",
        "read": "read",
    }
    permission = legacy.get(role or "", "none")
    if role is None and not repo.private:
        permission = "read"
    levels = ["read", "triage", "write", "maintain", "admin"]
    rank = levels.index(role) if role in levels else (-1 if repo.private else 0)
    collaborator = user(u, who)
    collaborator["permissions"] = {
        "pull": rank >= 0,
        "triage": rank >= 1,
        "push": rank >= 2,
        "maintain": rank >= 3,
        "admin": rank >= 4,
    }
    collaborator["role_name"] = role or permission
    return {"permission": permission, "role_name": role or permission, "user": collaborator}
