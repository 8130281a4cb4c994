"""The Starlette application: REST under ``/api/v3``, git under ``/<owner>/<repo>.git``, logs.

Faults are applied in one middleware in front of everything, so a rule can make any route,
git included, fail or stall.
"""

from __future__ import annotations

import asyncio
import hmac
import io
import json
import time
import zipfile
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from . import api_apps, api_checks, api_issues, api_pulls, api_repos  # noqa: F401  (registration)
from .api_checks import sign_log_path
from .api_manifests import new_app_page
from .faults import Faults, error_body
from .git_http import GitHttp
from .rest import API_PREFIX, ROUTES, Services, endpoint_for, standard_headers


class FaultMiddleware:
    def __init__(self, app: ASGIApp, faults: Faults, services: Services) -> None:
        self.app = app
        self.faults = faults
        self.services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope["path"])
        if path.startswith(API_PREFIX):
            path = path[len(API_PREFIX) :] or "/"
        fault = self.faults.take(str(scope["method"]), path)
        if fault is None:
            await self.app(scope, receive, send)
            return
        if fault.kind == "delay":
            await asyncio.sleep(fault.seconds)
            await self.app(scope, receive, send)
            return
        headers = standard_headers(self.services, "fault", spend=False)
        if fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
        if fault.kind == "rate_limit":
            headers["X-RateLimit-Remaining"] = "0"
            headers["X-RateLimit-Reset"] = str(int(time.time()) + (fault.retry_after or 1))
        response = JSONResponse(error_body(fault), status_code=fault.status, headers=headers)
        await response(scope, receive, send)


def _log_endpoint(services: Services) -> Any:
    async def serve_log(request: Request) -> Response:
        path = request.url.path
        try:
            expires = int(request.query_params.get("expires", "0"))
        except ValueError:
            expires = 0
        expected = sign_log_path(services.log_secret, path, expires)
        if expires < time.time() or not hmac.compare_digest(
            expected, request.query_params.get("sig", "")
        ):
            # The signed storage URL GitHub redirects to answers like this when stale.
            return PlainTextResponse(
                "AuthenticationFailed: signature expired or invalid", status_code=403
            )
        repo = services.store.repo(request.path_params["owner"], request.path_params["repo"])
        kind, number = request.path_params["kind"], int(request.path_params["number"])
        if repo is None:
            return PlainTextResponse("not found", status_code=404)
        with services.store.lock:
            if kind == "jobs" and number in repo.jobs:
                return PlainTextResponse(repo.jobs[number].log)
            if kind == "runs" and number in repo.workflow_runs:
                run = repo.workflow_runs[number]
                buffer = io.BytesIO()
                with zipfile.ZipFile(buffer, "w") as archive:
                    for job_id in run.job_ids:
                        job = repo.jobs[job_id]
                        archive.writestr(f"{job.name}.txt", job.log)
                return Response(buffer.getvalue(), media_type="application/zip")
        return PlainTextResponse("not found", status_code=404)

    return serve_log


def _deliveries_endpoint(services: Services) -> Any:
    async def deliveries(request: Request) -> Response:
        log = services.hub.sender.deliveries()
        return JSONResponse(
            [
                {
                    "id": d.id,
                    "guid": d.guid,
                    "event": d.event,
                    "action": d.action,
                    "status_code": d.status_code,
                    "redelivery": d.redelivery,
                    "error": d.error,
                }
                for d in log
            ]
        )

    return deliveries


def build_app(services: Services, faults: Faults, git: GitHttp) -> ASGIApp:
    routes = [
        Route(API_PREFIX + path, endpoint_for(services, path, handlers), methods=list(handlers))
        for path, handlers in ROUTES.items()
    ]
    create_app_page = new_app_page(services)
    routes += [
        Route("/settings/apps/new", create_app_page, methods=["POST"]),
        Route("/organizations/{org}/settings/apps/new", create_app_page, methods=["POST"]),
        Route("/_emulator/logs/{owner}/{repo}/{kind}/{number:int}", _log_endpoint(services)),
        Route("/_emulator/deliveries", _deliveries_endpoint(services)),
        Route("/{owner}/{repo}.git/{rest:path}", git.handle, methods=["GET", "POST"]),
    ]

    async def fallback(request: Request) -> Response:
        body = {
            "message": "Not Found",
            "documentation_url": "https://docs.github.com/rest",
            "status": "404",
        }
        return Response(json.dumps(body), status_code=404, media_type="application/json")

    app = Starlette(routes=routes)
    app.add_route("/{path:path}", fallback, methods=["GET", "POST", "PATCH", "PUT", "DELETE"])
    return FaultMiddleware(app, faults, services)
