"""App routes: the App itself, its installations, and installation access tokens."""

from __future__ import annotations

from . import auth, render
from .rest import ApiError, Call, Reply, not_found, route
from .state import App, Installation, iso


def _app_only(call: Call) -> App:
    if call.caller.kind != "app" or call.store.app is None:
        # GitHub's answer when an App route gets anything but the App's JWT.
        raise ApiError(401, "A JSON web token could not be decoded")
    return call.store.app


def _installation(call: Call) -> Installation:
    inst = call.store.installations.get(call.int_param("installation_id"))
    if inst is None:
        raise not_found()
    return inst


@route("GET", "/app")
def get_app(call: Call) -> Reply:
    app = _app_only(call)
    body = render.integration(call.urls, app)
    body["installations_count"] = len(call.store.installations)
    return Reply(200, body)


@route("GET", "/app/installations")
def list_installations(call: Call) -> Reply:
    app = _app_only(call)
    items = [render.installation(call.urls, app, i) for i in call.store.installations.values()]
    return call.page(items)


@route("GET", "/app/installations/{installation_id}")
def get_installation(call: Call) -> Reply:
    app = _app_only(call)
    return Reply(200, render.installation(call.urls, app, _installation(call)))


@route("POST", "/app/installations/{installation_id}/access_tokens")
def create_access_token(call: Call) -> Reply:
    app = _app_only(call)
    inst = _installation(call)
    if inst.suspended:
        raise ApiError(403, "This installation has been suspended")
    token = auth.issue_token(call.store, inst, call.services.token_lifetime)
    return Reply(
        201,
        {
            "token": token.value,
            "expires_at": iso(token.expires_at),
            "permissions": dict(app.permissions),
            "repository_selection": "all",
        },
    )


@route("GET", "/repos/{owner}/{repo}/installation")
def get_repo_installation(call: Call) -> Reply:
    app = _app_only(call)
    repo = call.store.repo(str(call.params["owner"]), str(call.params["repo"]))
    inst = call.store.installation_for(repo) if repo else None
    if inst is None:
        raise not_found()
    return Reply(200, render.installation(call.urls, app, inst))


@route("DELETE", "/installation/token")
def revoke_own_token(call: Call) -> Reply:
    header = call.headers.get("authorization", "")
    value = header.partition(" ")[2].strip()
    if call.caller.kind != "installation":
        raise ApiError(401, "Bad credentials")
    with call.store.lock:
        call.store.tokens[value].revoked = True
    return Reply(204)
