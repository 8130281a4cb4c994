"""git over smart HTTP through the real ``git http-backend`` (CGI), with GitHub's token check.

``http://HOST/<owner>/<repo>.git/...`` takes Basic auth whose password is an installation
token (GitHub ignores the user name; ``x-access-token`` is the convention). Pushes always
need it, fetches only for private repositories. After a receive-pack the refs are compared
with what they were, and ``on_push`` learns what moved (webhooks, PR heads, CI).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse

from . import gitrepo
from .auth import AuthError, caller_from_basic
from .state import Repo, Store

# (repository, ref -> (before, after), whether a workflow's GITHUB_TOKEN pushed)
PushCallback = Callable[[Repo, dict[str, tuple[str, str]], bool], None]


@dataclass
class GitHttp:
    store: Store
    on_push: PushCallback

    def _challenge(self, message: str) -> Response:
        # git retries with credentials only after a 401 carrying this header.
        return PlainTextResponse(
            message + "\n", status_code=401, headers={"WWW-Authenticate": 'Basic realm="GitHub"'}
        )

    async def handle(self, request: Request) -> Response:
        owner = str(request.path_params["owner"])
        name = str(request.path_params["repo"])
        rest = str(request.path_params["rest"])
        repo = self.store.repo(owner, name)
        if repo is None:
            return PlainTextResponse("Repository not found.\n", status_code=404)
        service = request.query_params.get("service", "")
        pushing = rest == "git-receive-pack" or service == "git-receive-pack"
        user = "anonymous"
        workflow = False
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            try:
                caller = caller_from_basic(self.store, header.split(" ", 1)[1].strip())
            except AuthError:
                return self._challenge(
                    "Invalid username or token. Password authentication is not supported "
                    "for Git operations."
                )
            inst = self.store.installation_for(repo)
            if inst is None or inst.id != caller.installation_id:
                return PlainTextResponse("Repository not found.\n", status_code=404)
            user = "x-access-token"
            workflow = caller.workflow
        elif pushing or repo.private:
            return self._challenge("Authentication required")
        return await self._cgi(request, repo, rest, user, pushing, workflow)

    async def _cgi(
        self,
        request: Request,
        repo: Repo,
        rest: str,
        user: str,
        pushing: bool,
        workflow: bool = False,
    ) -> Response:
        root = repo.path.parent.parent
        env = gitrepo.git_env(
            {
                "GIT_PROJECT_ROOT": str(root),
                "GIT_HTTP_EXPORT_ALL": "1",
                "PATH_INFO": f"/{repo.path.parent.name}/{repo.path.name}/{rest}",
                "REQUEST_METHOD": request.method,
                "QUERY_STRING": request.url.query,
                "CONTENT_TYPE": request.headers.get("content-type", ""),
                "REMOTE_USER": user,
                "REMOTE_ADDR": request.client.host if request.client else "127.0.0.1",
                "SERVER_PROTOCOL": "HTTP/1.1",
                "GATEWAY_INTERFACE": "CGI/1.1",
            }
        )
        for header, var in (
            ("content-length", "CONTENT_LENGTH"),
            ("content-encoding", "HTTP_CONTENT_ENCODING"),
            ("git-protocol", "GIT_PROTOCOL"),
        ):
            if header in request.headers:
                env[var] = request.headers[header]
        env.setdefault("PATH", os.defpath)
        is_receive = pushing and request.method == "POST"
        before = await run_in_threadpool(gitrepo.refs, repo.path) if is_receive else {}
        # The whole body first: once the response starts, Starlette listens on the same
        # channel for a disconnect and would swallow the rest of a streamed request body.
        payload = await request.body()
        proc = await asyncio.create_subprocess_exec(
            "git",
            "http-backend",
            env=env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert proc.stdin and proc.stdout and proc.stderr

        async def feed() -> None:
            assert proc.stdin
            try:
                if payload:
                    proc.stdin.write(payload)
                    await proc.stdin.drain()
            except (BrokenPipeError, ConnectionResetError):
                # The backend may finish (an error, or a GET) without reading its input;
                # its answer is still on stdout and must go out whole.
                pass
            finally:
                proc.stdin.close()

        feeder = asyncio.create_task(feed())
        errors = asyncio.create_task(proc.stderr.read())
        status, headers = 200, {}
        while True:
            line = (await proc.stdout.readline()).decode("latin-1").rstrip("\r\n")
            if not line:
                break
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = int(value.strip().split()[0])
            else:
                headers[key.strip()] = value.strip()

        async def body() -> AsyncIterator[bytes]:
            assert proc.stdout
            while chunk := await proc.stdout.read(65536):
                yield chunk
            await feeder
            await errors
            await proc.wait()
            if is_receive:
                after = await run_in_threadpool(gitrepo.refs, repo.path)
                changes = {
                    ref: (before.get(ref, gitrepo.ZERO_SHA), after.get(ref, gitrepo.ZERO_SHA))
                    for ref in set(before) | set(after)
                    if before.get(ref) != after.get(ref)
                }
                if changes:
                    # Before the last byte goes out: when `git push` returns, the emulator
                    # has already seen the push (PR heads moved, CI queued).
                    await run_in_threadpool(self.on_push, repo, changes, workflow)

        media = headers.pop("Content-Type", None)
        return StreamingResponse(body(), status_code=status, headers=headers, media_type=media)
