"""The GitHub App manifest flow: the "Create GitHub App" web page and the code's conversion.

The page (``POST /settings/apps/new`` or ``/organizations/{org}/settings/apps/new``, a form
with a ``manifest`` field and ``?state=``) stands for the signed-in user pressing "Create
GitHub App": it checks the manifest as GitHub does and redirects the browser to the manifest's
``redirect_url`` with a one-time ``code`` and the ``state`` it was given.

``POST /app-manifests/{code}/conversions`` (no credential, as on GitHub) creates the App. The
emulator holds one App at a time, so the new App replaces the old one: its JWTs are the ones
accepted, its webhook URL, secret and events are what deliveries use, and it starts with no
installations. A code works once, for an hour; a name already taken answers 422.
"""

from __future__ import annotations

import html
import json
import re
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from . import auth, render
from .rest import ApiError, Call, Reply, Services, not_found, route
from .state import App, ManifestCode, User, utcnow

CODE_LIFETIME = timedelta(hours=1)
WEB_USER = "octocat"  # who is signed in to the emulator's web pages
MAX_NAME = 34  # GitHub's limit on an App's name

# Which permission lets an App subscribe to each event (any one of them will do).
EVENT_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "check_run": ("checks",),
    "check_suite": ("checks",),
    "issue_comment": ("issues", "pull_requests"),
    "issues": ("issues",),
    "label": ("metadata",),
    "pull_request": ("pull_requests",),
    "pull_request_review": ("pull_requests",),
    "pull_request_review_comment": ("pull_requests",),
    "push": ("contents",),
    "workflow_job": ("actions",),
    "workflow_run": ("actions",),
}
ACCESS = ("read", "write", "admin")


class ManifestError(ValueError):
    """What GitHub's page would show for a manifest it cannot use."""


def _is_http_url(value: Any) -> bool:
    parts = urlsplit(value) if isinstance(value, str) else None
    return parts is not None and parts.scheme in ("http", "https") and bool(parts.netloc)


def check_manifest(manifest: Any) -> dict[str, Any]:
    if not isinstance(manifest, dict):
        raise ManifestError("The manifest must be a JSON object")
    name = manifest.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        raise ManifestError(f"Name must be 1 to {MAX_NAME} characters")
    if not _is_http_url(manifest.get("url")):
        raise ManifestError("Url must be an http(s) URL")
    hook = manifest.get("hook_attributes") or {}
    active = isinstance(hook, dict) and hook.get("active", True)
    if not isinstance(hook, dict) or (active and not _is_http_url(hook.get("url"))):
        raise ManifestError("Hook attributes url must be an http(s) URL when the hook is active")
    if not _is_http_url(manifest.get("redirect_url")):
        raise ManifestError("Redirect url must be an http(s) URL")
    permissions = manifest.get("default_permissions") or {}
    if not isinstance(permissions, dict) or any(v not in ACCESS for v in permissions.values()):
        raise ManifestError(f"Default permissions must each be one of {', '.join(ACCESS)}")
    events = manifest.get("default_events") or []
    if not isinstance(events, list):
        raise ManifestError("Default events must be a list")
    for event in events:
        needs = EVENT_PERMISSIONS.get(event) if isinstance(event, str) else None
        if needs is None:
            raise ManifestError(f"Default events unsupported: {event}")
        if not any(p in permissions for p in needs):
            raise ManifestError(
                f"Default events unsupported: {event} needs the {' or '.join(needs)} permission"
            )
    return manifest


def _error_page(status: int, message: str) -> Response:
    body = f"<!doctype html><title>GitHub</title><h1>{html.escape(message)}</h1>\n"
    return HTMLResponse(body, status_code=status)


def new_app_page(services: Services) -> Any:
    async def create_app(request: Request) -> Response:
        store = services.store
        org = request.path_params.get("org")
        owner: User | None = store.user(WEB_USER)
        if org is not None:
            owner = store.find_user(org)
            if owner is None or owner.type != "Organization":
                return _error_page(404, "Not Found")
        # parse_qs rather than request.form(): Starlette's form parser needs python-multipart.
        fields = parse_qs((await request.body()).decode("utf-8", "replace"))
        try:
            manifest = check_manifest(json.loads((fields.get("manifest") or [""])[0]))
        except ValueError as exc:  # ManifestError, and JSONDecodeError for a broken manifest
            return _error_page(422, f"Invalid GitHub App manifest: {exc}")
        code = secrets.token_hex(10)
        with store.lock:
            store.manifest_codes[code] = ManifestCode(code, manifest, owner, utcnow())
        query = {"code": code}
        if "state" in request.query_params:
            query["state"] = request.query_params["state"]
        target = str(manifest["redirect_url"])
        return RedirectResponse(f"{target}{'&' if '?' in target else '?'}{urlencode(query)}", 302)

    return create_app


def slug_of(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


@route("POST", "/app-manifests/{code}/conversions")
def create_from_manifest(call: Call) -> Reply:
    store = call.store
    code = str(call.params["code"])
    with store.lock:
        pending = store.manifest_codes.get(code)
        if pending is None or utcnow() - pending.issued_at > CODE_LIFETIME:
            raise not_found()
        manifest = pending.manifest
        if store.app is not None and slug_of(manifest["name"]) == store.app.slug:
            raise ApiError(422, "Validation Failed", errors=["Name has already been taken"])
        del store.manifest_codes[code]
    private, public = auth.generate_key_pair()
    slug = slug_of(manifest["name"])
    app = App(
        id=store.new_id("app"),
        slug=slug,
        name=manifest["name"],
        owner=pending.owner,
        bot=store.user(f"{slug}[bot]", type="Bot"),
        private_key_pem=private,
        public_key_pem=public,
        client_id=f"Iv1.{secrets.token_hex(8)}",
        created_at=utcnow(),
        permissions=dict(manifest.get("default_permissions") or {}),
        events=list(manifest.get("default_events") or []),
    )
    secret = secrets.token_hex(20)
    _activate(call.services, app, manifest, secret)
    body = render.integration(call.urls, app)
    body.update(
        external_url=manifest["url"],
        description=manifest.get("description") or "",
        client_secret=secrets.token_hex(20),
        webhook_secret=secret,
        pem=private.decode(),
    )
    return Reply(201, body)


def _activate(services: Services, app: App, manifest: dict[str, Any], secret: str) -> None:
    """The new App becomes the emulator's App, as if the old one had never been."""
    hook = manifest.get("hook_attributes") or {}
    with services.store.lock:
        services.store.app = app
        services.store.installations.clear()
        services.store.tokens.clear()
    services.hub.subscribed = {*app.events, "installation"}
    sender = services.hub.sender
    sender.url = hook.get("url") if hook.get("active", True) else None
    sender.secret = secret.encode()
    sender.app_id = app.id
