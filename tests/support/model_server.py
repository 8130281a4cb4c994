"""A scripted OpenAI-compatible chat-completions server on loopback, for tests and by hand.

Each model name has a script: a list of steps, one consumed per request to that model, the
last one repeating once the script runs out. Steps say what the "model" does: reply (with a
real ``usage`` block counted by :func:`count_tokens`), reply without usage, fail with an
OpenAI-style HTTP error, answer slowly, answer garbage, or stop at the length limit. Every
request is recorded so tests can assert on the prompts and headers the bot sent, and so is
the order in which requests arrive and are answered (``timeline``). A ``hold`` keeps a model's
answers back until a number of its requests have arrived, which proves calls were in flight
at once without timing anything; ``choose`` answers by what the prompt says, for requests whose
order is not fixed.

By hand::

    python -m tests.support.model_server --port 8765 --script script.json

where ``script.json`` maps model names to lists of JSON steps, for example
``{"coder": [{"http_error": 429, "message": "slow down", "headers": {"retry-after": "1"}},
{"reply": "hello"}]}``. See :func:`step_from_json` for the step forms.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = [
    "FALLBACK",
    "Hold",
    "Moment",
    "RecordedRequest",
    "ScriptedModelServer",
    "Step",
    "choose",
    "count_tokens",
    "garbage",
    "http_error",
    "prompt_tokens",
    "raw",
    "reply",
    "reply_without_usage",
    "slow",
    "step_from_json",
    "truncated",
]

# A script under this name answers models that have no script of their own.
FALLBACK = "*"

_TOKEN = re.compile(r"\w+|[^\w\s]")


def count_tokens(text: str) -> int:
    """A deterministic stand-in for a tokenizer: words and single punctuation marks."""
    return len(_TOKEN.findall(text))


def _content_text(content: Any) -> str:
    # OpenAI allows content as a string or a list of typed parts; only text parts count.
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, Mapping))
    return ""


def prompt_tokens(
    messages: Iterable[Mapping[str, Any]], count: Callable[[str], int] = count_tokens
) -> int:
    """What the server reports as ``prompt_tokens`` for these request messages."""
    return sum(count(_content_text(m.get("content"))) for m in messages)


@dataclass(frozen=True)
class Step:
    """One scripted behaviour; build these with the constructors below."""

    kind: str  # "reply" | "error" | "slow" | "raw"
    text: str = ""
    usage: bool = True
    finish_reason: str = "stop"
    status: int = 200
    message: str = ""
    code: str | None = None
    error_type: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    then: Step | None = None
    options: Mapping[str, Step] = field(default_factory=dict)


def reply(text: str) -> Step:
    """A normal completion with a ``usage`` block."""
    return Step("reply", text=text)


def reply_without_usage(text: str) -> Step:
    """A completion whose response has no ``usage`` key at all."""
    return Step("reply", text=text, usage=False)


def truncated(text: str) -> Step:
    """A completion cut off at the token limit (``finish_reason: "length"``)."""
    return Step("reply", text=text, finish_reason="length")


_DEFAULT_ERRORS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", None),
    502: ("server_error", None),
    503: ("server_error", None),
}


def http_error(
    status: int,
    message: str,
    headers: Mapping[str, str] | None = None,
    *,
    code: str | None = None,
    error_type: str | None = None,
) -> Step:
    """An HTTP error with OpenAI's error body ``{"error": {"message", "type", "param", "code"}}``.

    ``code`` and ``error_type`` default to what OpenAI sends for the status (401 ->
    ``invalid_api_key``, 429 -> ``rate_limit_exceeded``); pass
    ``code="context_length_exceeded"`` with 400 for an over-long prompt.
    """
    default_type, default_code = _DEFAULT_ERRORS.get(status, ("server_error", None))
    return Step(
        "error",
        status=status,
        message=message,
        code=code if code is not None else default_code,
        error_type=error_type or default_type,
        headers=dict(headers or {}),
    )


def slow(seconds: float, then: Step | None = None) -> Step:
    """Wait ``seconds`` before doing ``then`` (a plain reply by default)."""
    return Step("slow", seconds=seconds, then=then or reply("slow reply"))


def choose(options: Mapping[str, Step], otherwise: Step | None = None) -> Step:
    """The step of the first key the request's messages contain; ``otherwise`` (a 400 by
    default) when none does. For requests made at once, whose order is not fixed."""
    return Step("choose", options=dict(options), then=otherwise)


@dataclass(frozen=True)
class Moment:
    """A request arrived, or its answer was about to be sent (``number``: its index)."""

    kind: str  # "arrived" | "answered"
    number: int
    model: str | None
    at: float  # time.monotonic()


class Hold:
    """Holds each answer to ``model`` until ``until`` of its requests have arrived, or until
    ``timeout`` seconds pass; ``timed_out`` lists the requests whose wait ran out."""

    def __init__(self, model: str, until: int, timeout: float) -> None:
        self.model, self.until, self.timeout = model, until, timeout
        self.arrived = 0
        self.timed_out: list[int] = []
        self._ready = threading.Condition()

    def arrive(self, number: int) -> None:
        with self._ready:
            self.arrived += 1
            self._ready.notify_all()
            if not self._ready.wait_for(lambda: self.arrived >= self.until, self.timeout):
                self.timed_out.append(number)


def garbage(body: str = "<html>502 upstream confused</html>") -> Step:
    """A 200 response whose body is not JSON."""
    return Step("raw", text=body)


def raw(
    body: str | Mapping[str, Any], status: int = 200, headers: Mapping[str, str] | None = None
) -> Step:
    """Any body, verbatim (a mapping is sent as JSON): e.g. a completion with no choices."""
    text = body if isinstance(body, str) else json.dumps(body)
    return Step("raw", text=text, status=status, headers=dict(headers or {}))


def step_from_json(data: Mapping[str, Any]) -> Step:
    """Build a step from its JSON form (used by ``--script``).

    ``{"reply": TEXT}``, ``{"reply_without_usage": TEXT}``, ``{"truncated": TEXT}``,
    ``{"http_error": STATUS, "message": M, "headers": {...}, "code": C}``,
    ``{"slow": SECONDS, "then": STEP}``, ``{"garbage": BODY or true}``,
    ``{"raw": BODY (string or JSON object), "status": S, "headers": {...}}``.
    """
    if "reply" in data:
        return reply(str(data["reply"]))
    if "reply_without_usage" in data:
        return reply_without_usage(str(data["reply_without_usage"]))
    if "truncated" in data:
        return truncated(str(data["truncated"]))
    if "http_error" in data:
        return http_error(
            int(data["http_error"]),
            str(data.get("message", "scripted error")),
            {str(k): str(v) for k, v in data.get("headers", {}).items()},
            code=data.get("code"),
            error_type=data.get("type"),
        )
    if "slow" in data:
        then = data.get("then")
        return slow(float(data["slow"]), step_from_json(then) if then else None)
    if "garbage" in data:
        body = data["garbage"]
        return garbage(body) if isinstance(body, str) else garbage()
    if "raw" in data:
        return raw(
            data["raw"],
            int(data.get("status", 200)),
            {str(k): str(v) for k, v in data.get("headers", {}).items()},
        )
    raise ValueError(f"unknown step {dict(data)!r}; expected one of the keys in step_from_json")


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it."""

    path: str
    model: str | None
    headers: Mapping[str, str]  # lower-cased names
    body: Any  # the parsed JSON body, or None when it was not JSON

    @property
    def messages(self) -> list[dict[str, Any]]:
        if isinstance(self.body, Mapping):
            return list(self.body.get("messages") or [])
        return []


class _HTTPServer(ThreadingHTTPServer):
    """Tracks open connections so that stop() can close kept-alive ones."""

    daemon_threads = True
    # stop() wakes slow steps and closes connections, so there is nothing worth joining.
    block_on_close = False

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._connections_lock:
                self._connections.discard(request)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):  # already closed by the client
                conn.shutdown(socket.SHUT_RDWR)


class ScriptedModelServer:
    """An OpenAI-compatible ``/v1/chat/completions`` on ``127.0.0.1`` with per-model scripts.

    ``count`` is the tokenizer behind the ``usage`` block: the regex stand-in by default, or a
    real one (e.g. tiktoken's ``encode``) so that usage is what a provider would bill.
    """

    def __init__(
        self, *, host: str = "127.0.0.1", port: int = 0, count: Callable[[str], int] = count_tokens
    ) -> None:
        self._host = host
        self._port = port
        self.count = count
        self._lock = threading.Lock()
        self._scripts: dict[str, list[Step]] = {}
        self._served: dict[str, int] = {}
        self._requests: list[RecordedRequest] = []
        self._timeline: list[Moment] = []
        self._holds: dict[str, Hold] = {}
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- scripting ------------------------------------------------------------------------

    def script(self, model: str, steps: Sequence[Step]) -> None:
        """Replace ``model``'s script; ``FALLBACK`` ("*") scripts models with none of their own."""
        if not steps:
            raise ValueError("a script needs at least one step")
        with self._lock:
            self._scripts[model] = list(steps)
            self._served[model] = 0

    def _next_step(self, model: str | None) -> Step | None:
        with self._lock:
            key = model if model in self._scripts else FALLBACK
            steps = self._scripts.get(key)
            if steps is None:
                return None
            index = self._served[key]
            self._served[key] = index + 1
            return steps[min(index, len(steps) - 1)]

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def requests_for(self, model: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.model == model]

    def _record(self, request: RecordedRequest) -> int:
        with self._lock:
            self._requests.append(request)
            number = len(self._requests) - 1
            self._timeline.append(Moment("arrived", number, request.model, time.monotonic()))
            hold = self._holds.get(request.model or "")
        if hold is not None:
            hold.arrive(number)
        return number

    def _answering(self, number: int, model: str | None) -> None:
        with self._lock:
            self._timeline.append(Moment("answered", number, model, time.monotonic()))

    def hold(self, model: str, *, until: int, timeout: float) -> Hold:
        """Hold ``model``'s answers until ``until`` of its requests arrived (or ``timeout``)."""
        with self._lock:
            self._holds[model] = Hold(model, until, timeout)
            return self._holds[model]

    @property
    def timeline(self) -> list[Moment]:
        """Arrivals and answers in the order they happened."""
        with self._lock:
            return list(self._timeline)

    def in_flight(self, model: str) -> int:
        """The most requests to ``model`` that had arrived and were not yet answered."""
        open_now = most = 0
        for moment in self.timeline:
            if moment.model == model:
                open_now += 1 if moment.kind == "arrived" else -1
                most = max(most, open_now)
        return most

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the server is not started")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """The base URL to pass as ``api_base``: ``http://127.0.0.1:<port>/v1``."""
        return f"http://{self._host}:{self.port}/v1"

    def start(self) -> ScriptedModelServer:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        httpd = _HTTPServer((self._host, self._port), _make_handler(self))
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"scripted-model-server:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.server_close()
        # Clients keep pooled keep-alive connections: close them too, or a "stopped" server
        # would go on answering requests on connections opened before stop().
        httpd.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> ScriptedModelServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _completion_body(
    step: Step, model: str | None, messages: list[Any], number: int, count: Callable[[str], int]
) -> bytes:
    body: dict[str, Any] = {
        "id": f"chatcmpl-scripted-{number}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model or "unknown",
        "system_fingerprint": "scripted",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": step.text},
                "logprobs": None,
                "finish_reason": step.finish_reason,
            }
        ],
    }
    if step.usage:
        prompt = prompt_tokens((m for m in messages if isinstance(m, Mapping)), count)
        completion = count(step.text)
        body["usage"] = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }
    return json.dumps(body).encode()


def _error_body(message: str, error_type: str | None, code: str | None) -> bytes:
    error = {"message": message, "type": error_type, "param": None, "code": code}
    return json.dumps({"error": error}).encode()


def _make_handler(server: ScriptedModelServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "ScriptedModelServer/1"

        def log_message(self, format: str, *args: Any) -> None:
            pass  # tests assert on server.requests; access logs would only be noise

        def _send(
            self,
            status: int,
            body: bytes,
            headers: Mapping[str, str] | None = None,
            content_type: str = "application/json",
        ) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                # The client gave up (its timeout fired during a slow step): nothing to do.
                self.close_connection = True

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0].rstrip("/")
            if path in ("/v1/models", "/models"):
                with server._lock:
                    names = sorted(n for n in server._scripts if n != FALLBACK)
                data = [{"id": n, "object": "model", "owned_by": "scripted"} for n in names]
                self._send(200, json.dumps({"object": "list", "data": data}).encode())
                return
            self._send(404, _error_body(f"no route GET {path}", "invalid_request_error", None))

        def do_POST(self) -> None:
            path = self.path.split("?", 1)[0].rstrip("/")
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body: Any = json.loads(raw) if raw else None
            except ValueError:
                body = None
            model = body.get("model") if isinstance(body, dict) else None
            headers = {k.lower(): v for k, v in self.headers.items()}
            if path not in ("/v1/chat/completions", "/chat/completions"):
                self._send(404, _error_body(f"no route POST {path}", "invalid_request_error", None))
                return
            number = server._record(
                RecordedRequest(path=path, model=model, headers=headers, body=body)
            )
            if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
                self._send(
                    400,
                    _error_body(
                        "request body must be JSON with a 'messages' list",
                        "invalid_request_error",
                        None,
                    ),
                )
                return
            if body.get("stream"):
                self._send(
                    400,
                    _error_body(
                        "the scripted server does not stream", "invalid_request_error", None
                    ),
                )
                return
            step = server._next_step(model)
            if step is None:
                self._send(
                    404,
                    _error_body(
                        f"The model `{model}` does not exist (no script for it)",
                        "invalid_request_error",
                        "model_not_found",
                    ),
                )
                return
            self._perform(step, model, body["messages"], number)

        def _perform(self, step: Step, model: str | None, messages: list[Any], number: int) -> None:
            if step.kind == "slow":
                if server._stopping.wait(step.seconds):
                    self.close_connection = True
                    return
                assert step.then is not None
                self._perform(step.then, model, messages, number)
                return
            if step.kind == "choose":
                text = json.dumps(messages)
                chosen = next((v for k, v in step.options.items() if k in text), step.then)
                self._perform(
                    chosen or http_error(400, "no option matches"), model, messages, number
                )
                return
            server._answering(number, model)
            if step.kind == "reply":
                body = _completion_body(step, model, messages, len(server.requests), server.count)
                self._send(200, body)
            elif step.kind == "error":
                self._send(
                    step.status, _error_body(step.message, step.error_type, step.code), step.headers
                )
            elif step.kind == "raw":
                self._send(step.status, step.text.encode(), step.headers)
            else:  # pragma: no cover - Step is built by the constructors above
                raise ValueError(f"unknown step kind {step.kind!r}")

    return Handler


def load_script_file(path: Path) -> dict[str, list[Step]]:
    data = json.loads(path.read_text("utf-8"))
    if not isinstance(data, Mapping):
        raise ValueError(f"{path}: expected a mapping of model name -> list of steps")
    scripts: dict[str, list[Step]] = {}
    for model, steps in data.items():
        if not isinstance(steps, list) or not steps:
            raise ValueError(f"{path}: {model}: expected a non-empty list of steps")
        scripts[str(model)] = [step_from_json(s) for s in steps]
    return scripts


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.model_server",
        description="Serve a scripted OpenAI-compatible /v1/chat/completions on loopback.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--script",
        type=Path,
        help="JSON file mapping model names to step lists (default: every model replies 'ok')",
    )
    args = parser.parse_args(argv)
    scripts = load_script_file(args.script) if args.script else {FALLBACK: [reply("ok")]}
    server = ScriptedModelServer(host=args.host, port=args.port)
    for model, steps in scripts.items():
        server.script(model, steps)
    with server:
        print(f"scripted model server at {server.url} (models: {', '.join(scripts)})", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
