"""The REST plumbing: route table, request context, GitHub's error bodies, pagination, headers.

Route modules (``api_*.py``) register plain functions ``(Call) -> Reply`` with :func:`route`;
they run in a worker thread, so they may call git. Errors are raised as :class:`ApiError` and
rendered in GitHub's shape ``{"message", "documentation_url", "status"}``.
"""

from __future__ import annotations

import json
import math
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, QueryParams
from starlette.requests import Request
from starlette.responses import Response

from .auth import AuthError, Caller, caller_from_header
from .ci import CiRunner
from .hub import Actor, Hub, NotFound
from .render import Urls
from .state import WORKFLOW_BOT, Repo, Store

API_PREFIX = "/api/v3"
DOCS = "https://docs.github.com/rest"
RATE_LIMIT = 5000


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        errors: list[Any] | None = None,
        docs: str = DOCS,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors
        self.docs = docs
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message}
        if self.errors is not None:
            body["errors"] = self.errors
        body["documentation_url"] = self.docs
        body["status"] = str(self.status)
        return body


def not_found() -> ApiError:
    return ApiError(404, "Not Found")


def validation_failed(
    resource: str, code: str, field: str | None = None, message: str | None = None
) -> ApiError:
    error: dict[str, Any] = {"resource": resource, "code": code}
    if field is not None:
        error["field"] = field
    if message is not None:
        error["message"] = message
    return ApiError(422, "Validation Failed", errors=[error])


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    media_type: str = "application/json; charset=utf-8"


@dataclass
class Services:
    """What route handlers reach: the state, the event hub, CI, where the emulator lives."""

    store: Store
    hub: Hub
    ci: CiRunner
    urls: Urls
    token_lifetime: float
    log_secret: bytes
    # A test hook: each response body passes through this before it is sent, so a contract
    # test can break a response on purpose and see validation fail.
    tamper: Callable[[str, str, Any], Any] | None = None
    rate_used: dict[str, int] = field(default_factory=dict)
    rate_lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class Call:
    services: Services
    method: str
    path: str
    params: dict[str, Any]
    query: QueryParams
    headers: Headers
    body: Any
    caller: Caller

    @property
    def store(self) -> Store:
        return self.services.store

    @property
    def hub(self) -> Hub:
        return self.services.hub

    @property
    def urls(self) -> Urls:
        return self.services.urls

    def int_param(self, name: str) -> int:
        try:
            return int(self.params[name])
        except (KeyError, ValueError) as exc:
            raise not_found() from exc

    def repo(self, *, write: bool = False) -> Repo:
        """The repository in the path, if the caller may see it (else 404, as GitHub hides it)."""
        repo = self.store.repo(str(self.params["owner"]), str(self.params["repo"]))
        if repo is None:
            raise not_found()
        if self.caller.kind == "app":
            raise ApiError(403, "Resource not accessible by integration")
        if self.caller.kind == "anonymous":
            if repo.private:
                raise not_found()
            if write:
                raise ApiError(401, "Requires authentication")
            return repo
        inst = self.store.installation_for(repo)
        if inst is None or inst.id != self.caller.installation_id:
            raise not_found()
        return repo

    def actor(self) -> Actor:
        app = self.store.app
        if self.caller.kind != "installation" or app is None:
            raise ApiError(401, "Requires authentication")
        if self.caller.workflow:
            return Actor(self.store.user(WORKFLOW_BOT, type="Bot"), workflow=True)
        return Actor(app.bot, via_app=True)

    def json_object(self) -> dict[str, Any]:
        if self.body is None:
            return {}
        if not isinstance(self.body, dict):
            raise ApiError(400, "Problems parsing JSON")
        return self.body

    def page(self, items: list[Any]) -> Reply:
        """One page of ``items`` (``page``, ``per_page``) with GitHub's ``Link`` header."""
        try:
            per_page = max(1, min(100, int(self.query.get("per_page", 30))))
            page = max(1, int(self.query.get("page", 1)))
        except ValueError as exc:
            raise ApiError(400, "Invalid page parameter") from exc
        last = max(1, math.ceil(len(items) / per_page))
        chunk = items[(page - 1) * per_page : page * per_page]
        links = []
        base = f"{self.urls.web}{API_PREFIX}{self.path}"

        def at(number: int) -> str:
            query = dict(self.query)
            query.update({"per_page": str(per_page), "page": str(number)})
            return f"<{base}?{'&'.join(f'{k}={v}' for k, v in query.items())}>"

        if page < last:
            links += [f'{at(page + 1)}; rel="next"', f'{at(last)}; rel="last"']
        if page > 1:
            links += [f'{at(page - 1)}; rel="prev"', f'{at(1)}; rel="first"']
        headers = {"Link": ", ".join(links)} if links else {}
        return Reply(200, chunk, headers)


Handler = Callable[[Call], Reply]
ROUTES: dict[str, dict[str, Handler]] = {}


def route(method: str, path: str) -> Callable[[Handler], Handler]:
    """Register ``handler`` for ``METHOD /path`` (Starlette path syntax, after /api/v3)."""

    def register(handler: Handler) -> Handler:
        ROUTES.setdefault(path, {})[method.upper()] = handler
        return handler

    return register


def _json_response(
    services: Services, status: int, body: Any, headers: Mapping[str, str], caller_key: str
) -> Response:
    out = Response(
        content=json.dumps(body, indent=2).encode() if body is not None else b"",
        status_code=status,
        media_type="application/json; charset=utf-8" if body is not None else None,
    )
    for name, value in {**standard_headers(services, caller_key), **headers}.items():
        out.headers[name] = value
    return out


def standard_headers(services: Services, caller_key: str, *, spend: bool = True) -> dict[str, str]:
    """Headers GitHub puts on every API response, rate-limit counters included."""
    with services.rate_lock:
        used = services.rate_used.get(caller_key, 0) + (1 if spend else 0)
        services.rate_used[caller_key] = used
    reset = (int(time.time()) // 3600 + 1) * 3600
    return {
        "X-GitHub-Media-Type": "github.v3; format=json",
        "X-GitHub-Api-Version-Selected": "2022-11-28",
        "X-GitHub-Request-Id": uuid.uuid4().hex[:20].upper(),
        "X-RateLimit-Limit": str(RATE_LIMIT),
        "X-RateLimit-Remaining": str(max(0, RATE_LIMIT - used)),
        "X-RateLimit-Reset": str(reset),
        "X-RateLimit-Used": str(used),
        "X-RateLimit-Resource": "core",
    }


def endpoint_for(
    services: Services, path: str, handlers: dict[str, Handler]
) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        handler = handlers.get(request.method)
        if handler is None:
            return _json_response(services, 404, not_found().body(), {}, "anon")
        try:
            caller = caller_from_header(services.store, request.headers.get("authorization"))
        except AuthError as exc:
            error = ApiError(exc.status, exc.message)
            return _json_response(services, error.status, error.body(), {}, "anon")
        key = f"installation:{caller.installation_id}" if caller.installation_id else caller.kind
        raw = await request.body()
        try:
            body = json.loads(raw) if raw.strip() else None
        except ValueError:
            error = ApiError(400, "Problems parsing JSON")
            return _json_response(services, 400, error.body(), {}, key)
        call = Call(
            services=services,
            method=request.method,
            path=request.url.path.removeprefix(API_PREFIX),
            params=dict(request.path_params),
            query=request.query_params,
            headers=request.headers,
            body=body,
            caller=caller,
        )
        try:
            reply = await run_in_threadpool(_invoke, handler, call)
        except ApiError as exc:
            return _json_response(services, exc.status, exc.body(), exc.headers, key)
        if reply.raw is not None:
            out = Response(reply.raw, status_code=reply.status, media_type=reply.media_type)
            for name, value in {**standard_headers(services, key), **reply.headers}.items():
                out.headers[name] = value
            return out
        body_out = reply.body
        if services.tamper is not None and body_out is not None:
            body_out = services.tamper(request.method, path, body_out)
        return _json_response(services, reply.status, body_out, reply.headers, key)

    return endpoint


def _invoke(handler: Handler, call: Call) -> Reply:
    try:
        return handler(call)
    except NotFound as exc:
        raise not_found() from exc
