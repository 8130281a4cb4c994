"""Repository routes: the repository, branches, git refs, collaborator permission, contents."""

from __future__ import annotations

import base64
import re

from . import gitrepo, render
from .rest import ApiError, Call, Reply, not_found, route, validation_failed

_SHA = re.compile(r"^[0-9a-f]{40}$")


@route("GET", "/repos/{owner}/{repo}")
def get_repo(call: Call) -> Reply:
    repo = call.repo()
    with call.store.lock:
        return Reply(200, render.repository(call.urls, repo, full=True))


@route("GET", "/repos/{owner}/{repo}/commits/{ref}")
def get_commit(call: Call) -> Reply:
    repo = call.repo()
    sha = gitrepo.resolve(repo.path, str(call.params["ref"]))
    if sha is None:
        raise ApiError(422, f"No commit found for SHA: {call.params['ref']}")
    with call.store.lock:
        return Reply(200, render.commit(call.urls, repo, sha, call.store.users))


@route("GET", "/repos/{owner}/{repo}/branches/{branch:path}")
def get_branch(call: Call) -> Reply:
    repo = call.repo()
    name = str(call.params["branch"])
    sha = gitrepo.resolve(repo.path, f"refs/heads/{name}")
    if sha is None:
        raise ApiError(404, "Branch not found")
    with call.store.lock:
        return Reply(200, render.branch(call.urls, repo, name, sha, call.store.users))


def _get_ref(call: Call) -> Reply:
    repo = call.repo()
    ref = "refs/" + str(call.params["ref"]).strip("/")
    sha = gitrepo.refs(repo.path).get(ref)
    if sha is None:
        raise not_found()
    return Reply(200, render.git_ref(call.urls, repo, ref, sha))


route("GET", "/repos/{owner}/{repo}/git/ref/{ref:path}")(_get_ref)
# The older plural form still answers a single exact ref.
route("GET", "/repos/{owner}/{repo}/git/refs/{ref:path}")(_get_ref)


@route("POST", "/repos/{owner}/{repo}/git/refs")
def create_ref(call: Call) -> Reply:
    repo = call.repo(write=True)
    data = call.json_object()
    ref, sha = data.get("ref"), data.get("sha")
    if not isinstance(ref, str) or not isinstance(sha, str):
        raise validation_failed("Reference", "missing_field", "ref" if ref is None else "sha")
    if not ref.startswith("refs/") or ref.count("/") < 2:
        raise ApiError(422, "Reference name must start with 'refs/' and have at least two slashes.")
    if not _SHA.match(sha) or gitrepo.resolve(repo.path, sha) != sha:
        raise ApiError(422, "Object does not exist")
    if ref in gitrepo.refs(repo.path):
        raise ApiError(422, "Reference already exists")
    gitrepo.update_ref(repo.path, ref, sha, gitrepo.ZERO_SHA)
    return Reply(201, render.git_ref(call.urls, repo, ref, sha))


@route("GET", "/repos/{owner}/{repo}/collaborators/{username}/permission")
def get_permission(call: Call) -> Reply:
    repo = call.repo()
    login = str(call.params["username"])
    who = call.store.find_user(login)
    if who is None:
        raise ApiError(404, f"{login} is not a user")
    with call.store.lock:
        role = repo.collaborators.get(who.login)
        if who.login.lower() == repo.owner.login.lower():
            role = "admin"
        return Reply(200, render.collaborator_permission(call.urls, repo, who, role))


@route("GET", "/repos/{owner}/{repo}/contents/{path:path}")
def get_contents(call: Call) -> Reply:
    repo = call.repo()
    ref = call.query.get("ref") or repo.default_branch
    sha = gitrepo.resolve(repo.path, ref)
    path = str(call.params["path"]).strip("/")
    data = gitrepo.read_file(repo.path, sha, path) if sha else None
    if data is None:
        raise not_found()
    if "raw" in call.headers.get("accept", ""):
        return Reply(200, raw=data, media_type="application/vnd.github.raw")
    blob = gitrepo.blob_sha(repo.path, sha or "", path) or ""
    api = f"{call.urls.repo_api(repo)}/contents/{path}?ref={ref}"
    web = f"{call.urls.repo_web(repo)}/blob/{ref}/{path}"
    return Reply(
        200,
        {
            "type": "file",
            "encoding": "base64",
            "size": len(data),
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "content": base64.encodebytes(data).decode(),
            "sha": blob,
            "url": api,
            "git_url": f"{call.urls.repo_api(repo)}/git/blobs/{blob}",
            "html_url": web,
            "download_url": f"{call.urls.repo_web(repo)}/raw/{ref}/{path}",
            "_links": {
                "self": api,
                "git": f"{call.urls.repo_api(repo)}/git/blobs/{blob}",
                "html": web,
            },
        },
    )
