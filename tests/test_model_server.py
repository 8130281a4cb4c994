"""The scripted model server itself, over real loopback HTTP with the stdlib client."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.support.model_server import (
    FALLBACK,
    ScriptedModelServer,
    choose,
    count_tokens,
    garbage,
    http_error,
    prompt_tokens,
    raw,
    reply,
    reply_without_usage,
    slow,
    step_from_json,
    truncated,
)

ROOT = Path(__file__).resolve().parent.parent
MESSAGES = [
    {"role": "system", "content": "You write Python."},
    {"role": "user", "content": "Add mul(a, b) to calc.py, please!"},
]


def post(
    url: str, body: Any, *, path: str = "/chat/completions", timeout: float = 5
) -> tuple[int, dict[str, str], bytes]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(
        url + path,
        data=data,
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": "Bearer test-key"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def chat(url: str, model: str, messages: list[dict[str, Any]] = MESSAGES) -> tuple[int, Any]:
    status, _, body = post(url, {"model": model, "messages": messages})
    return status, json.loads(body)


def test_count_tokens_is_words_and_punctuation():
    assert count_tokens("Add mul(a, b) to calc.py, please!") == 14
    assert count_tokens("") == 0
    assert prompt_tokens(MESSAGES) == count_tokens("You write Python.") + 14


def test_reply_has_openai_shape_and_real_usage(model_server):
    model_server.script("coder", [reply("def mul(a, b):\n    return a * b")])

    status, body = chat(model_server.url, "coder")

    assert status == 200
    assert body["object"] == "chat.completion"
    assert body["model"] == "coder"
    choice = body["choices"][0]
    assert choice["message"] == {"role": "assistant", "content": "def mul(a, b):\n    return a * b"}
    assert choice["finish_reason"] == "stop"
    expected_prompt = prompt_tokens(MESSAGES)
    expected_completion = count_tokens("def mul(a, b):\n    return a * b")
    assert body["usage"] == {
        "prompt_tokens": expected_prompt,
        "completion_tokens": expected_completion,
        "total_tokens": expected_prompt + expected_completion,
    }


def test_steps_are_consumed_in_order_and_the_last_repeats(model_server):
    model_server.script("m", [reply("one"), reply("two")])
    model_server.script("other", [reply("other")])

    texts = [chat(model_server.url, "m")[1]["choices"][0]["message"]["content"] for _ in range(4)]

    assert texts == ["one", "two", "two", "two"]
    assert chat(model_server.url, "other")[1]["choices"][0]["message"]["content"] == "other"


def test_requests_are_recorded_with_model_headers_and_body(model_server):
    model_server.script("m", [reply("ok")])

    chat(model_server.url, "m")
    post(model_server.url, {"model": "m", "messages": []}, path="/chat/completions")

    first = model_server.requests[0]
    assert first.model == "m"
    assert first.path == "/v1/chat/completions"
    assert first.messages == MESSAGES
    assert first.headers["authorization"] == "Bearer test-key"
    assert first.body["model"] == "m"
    assert model_server.requests[1].path == "/v1/chat/completions"
    assert len(model_server.requests_for("m")) == 2


def test_bare_chat_completions_path_is_served(model_server):
    model_server.script("m", [reply("ok")])
    base = model_server.url.removesuffix("/v1")

    status, _, body = post(base, {"model": "m", "messages": MESSAGES})

    assert status == 200
    assert json.loads(body)["choices"][0]["message"]["content"] == "ok"
    assert model_server.requests[0].path == "/chat/completions"


def test_reply_without_usage_has_no_usage_key(model_server):
    model_server.script("m", [reply_without_usage("hi")])

    status, body = chat(model_server.url, "m")

    assert status == 200
    assert "usage" not in body
    assert body["choices"][0]["message"]["content"] == "hi"


def test_truncated_reply_stops_for_length(model_server):
    model_server.script("m", [truncated("def mul(a, b")])

    _, body = chat(model_server.url, "m")

    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == count_tokens("def mul(a, b")


@pytest.mark.parametrize(
    ("step", "status", "code", "headers"),
    [
        (
            http_error(429, "Rate limit reached", {"retry-after": "7"}),
            429,
            "rate_limit_exceeded",
            {"retry-after": "7"},
        ),
        (http_error(401, "Incorrect API key provided"), 401, "invalid_api_key", {}),
        (
            http_error(400, "too long", code="context_length_exceeded"),
            400,
            "context_length_exceeded",
            {},
        ),
        (http_error(503, "overloaded"), 503, None, {}),
    ],
)
def test_http_errors_have_openai_error_bodies(model_server, step, status, code, headers):
    model_server.script("m", [step])

    got_status, got_headers, body = post(model_server.url, {"model": "m", "messages": MESSAGES})

    assert got_status == status
    error = json.loads(body)["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["message"] == step.message
    assert error["code"] == code
    lowered = {k.lower(): v for k, v in got_headers.items()}
    for name, value in headers.items():
        assert lowered[name] == value


def test_garbage_is_a_200_that_is_not_json(model_server):
    model_server.script("m", [garbage()])

    status, _, body = post(model_server.url, {"model": "m", "messages": MESSAGES})

    assert status == 200
    with pytest.raises(ValueError):
        json.loads(body)


def test_raw_sends_any_body(model_server):
    model_server.script("m", [raw({"id": "x", "choices": []}, status=200)])

    status, body = chat(model_server.url, "m")

    assert (status, body) == (200, {"id": "x", "choices": []})


def test_slow_waits_then_does_the_next_step(model_server):
    model_server.script("m", [slow(0.3, then=reply("late"))])

    started = time.monotonic()
    status, body = chat(model_server.url, "m")

    assert status == 200
    assert time.monotonic() - started >= 0.3
    assert body["choices"][0]["message"]["content"] == "late"


def test_slow_beyond_the_client_timeout_times_out_and_is_recorded(model_server):
    model_server.script("m", [slow(5)])

    with pytest.raises(TimeoutError):
        post(model_server.url, {"model": "m", "messages": MESSAGES}, timeout=0.2)

    assert len(model_server.requests) == 1


def test_a_hold_keeps_the_first_answer_until_the_second_request_arrives(model_server):
    model_server.script("m", [reply("one")])
    hold = model_server.hold("m", until=2, timeout=30)
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(chat, model_server.url, "m")
        wait_for(lambda: hold.arrived == 1)
        second = pool.submit(chat, model_server.url, "m")
        assert first.result()[0] == second.result()[0] == 200

    assert hold.timed_out == []
    kinds = [(m.kind, m.number) for m in model_server.timeline]
    assert kinds[:2] == [("arrived", 0), ("arrived", 1)]
    assert sorted(kinds[2:]) == [("answered", 0), ("answered", 1)]
    assert model_server.in_flight("m") == 2


def test_a_hold_that_runs_out_answers_anyway_and_says_so(model_server):
    model_server.script("m", [reply("one")])
    hold = model_server.hold("m", until=2, timeout=0.2)

    assert chat(model_server.url, "m")[0] == 200
    assert chat(model_server.url, "m")[0] == 200

    assert hold.timed_out == [0]
    assert [(m.kind, m.number) for m in model_server.timeline] == [
        ("arrived", 0),
        ("answered", 0),
        ("arrived", 1),
        ("answered", 1),
    ]
    assert model_server.in_flight("m") == 1


def test_choose_answers_by_what_the_prompt_says(model_server):
    model_server.script("m", [choose({"calc.py": reply("calc"), "shop": reply("shop")})])
    about_shop = [{"role": "user", "content": "the shop module"}]

    assert chat(model_server.url, "m", about_shop)[1]["choices"][0]["message"]["content"] == "shop"
    assert chat(model_server.url, "m")[1]["choices"][0]["message"]["content"] == "calc"
    status, body = chat(model_server.url, "m", [{"role": "user", "content": "other"}])
    assert status == 400 and "no option matches" in body["error"]["message"]


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.01)


def test_unscripted_model_is_404_unless_a_fallback_is_scripted(model_server):
    status, body = chat(model_server.url, "nobody")
    assert status == 404
    assert body["error"]["code"] == "model_not_found"

    model_server.script(FALLBACK, [reply("anyone")])
    status, body = chat(model_server.url, "nobody")
    assert status == 200
    assert body["choices"][0]["message"]["content"] == "anyone"


def test_bad_request_bodies_get_a_clear_400(model_server):
    status, _, body = post(model_server.url, b"{not json")
    assert status == 400
    assert "messages" in json.loads(body)["error"]["message"]

    status, _, body = post(model_server.url, {"model": "m", "messages": [], "stream": True})
    assert status == 400
    assert "stream" in json.loads(body)["error"]["message"]


def test_stop_closes_the_port_and_kept_alive_connections():
    import http.client

    server = ScriptedModelServer().start()
    server.script("m", [reply("ok")])
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.request(
        "POST",
        "/v1/chat/completions",
        json.dumps({"model": "m", "messages": []}),
        {"Content-Type": "application/json"},
    )
    assert conn.getresponse().read()
    url = server.url

    server.stop()

    # The same kept-alive connection must not be answered any more...
    with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
        conn.request("POST", "/v1/chat/completions", "{}", {"Content-Type": "application/json"})
        conn.getresponse().read()
    conn.close()
    # ...and new connections are refused.
    with pytest.raises(urllib.error.URLError):
        post(url, {"model": "m", "messages": []}, timeout=2)
    assert len(server.requests) == 1


def test_step_from_json_builds_every_step():
    assert step_from_json({"reply": "hi"}) == reply("hi")
    assert step_from_json({"reply_without_usage": "hi"}) == reply_without_usage("hi")
    assert step_from_json({"truncated": "h"}) == truncated("h")
    assert step_from_json(
        {"http_error": 429, "message": "slow down", "headers": {"retry-after": 2}}
    ) == http_error(429, "slow down", {"retry-after": "2"})
    assert step_from_json({"slow": 1.5, "then": {"reply": "x"}}) == slow(1.5, reply("x"))
    assert step_from_json({"garbage": True}) == garbage()
    assert step_from_json({"raw": {"a": 1}, "status": 502}) == raw({"a": 1}, status=502)
    with pytest.raises(ValueError, match="unknown step"):
        step_from_json({"sing": "la"})


def test_runs_by_hand_with_a_script_file(tmp_path):
    script = tmp_path / "script.json"
    script.write_text(
        json.dumps({"coder": [{"http_error": 503, "message": "warming up"}, {"reply": "ready"}]})
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.support.model_server",
            "--port",
            "0",
            "--script",
            str(script),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        url = banner.split(" at ", 1)[1].split()[0]
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")

        assert chat(url, "coder")[0] == 503
        status, body = chat(url, "coder")
        assert status == 200
        assert body["choices"][0]["message"]["content"] == "ready"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()
        proc.stderr.close()
