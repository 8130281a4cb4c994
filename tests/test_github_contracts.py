"""Contract tests: the GitHub emulator answers as GitHub's OpenAPI description says, and sends
webhooks that octokit's payload schemas accept.

One scenario (module scope) drives every REST route tierbot relies on through real HTTP and
records each exchange; the tests then hold each recorded response to the schema of its
operation and status, and each delivered webhook to the schema of its event and action.
The data is in ``tests/fixtures/github`` (copied from upstream; see its README).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from jsonschema import Draft7Validator
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7
from unidiff import PatchSet

from tests.support.github_emulator import DEFAULT_SECRET, GitHubEmulator
from tests.support.github_emulator.receiver import WebhookReceiver, serve_receiver

FIXTURES = Path(__file__).parent / "fixtures" / "github"
WEBHOOKS = FIXTURES / "webhooks"
REPO = "octo/contract"

# The events tierbot handles; octokit's examples of each are replayed through the sender.
TIERBOT_EVENTS = (
    "issues",
    "issue_comment",
    "pull_request",
    "check_suite",
    "check_run",
    "workflow_run",
    "workflow_job",
    "installation",
    "ping",
)


# -- the published contracts ---------------------------------------------------------------


@functools.cache
def openapi() -> dict[str, Any]:
    return json.loads((FIXTURES / "openapi-subset.json").read_text())


def operations() -> list[tuple[str, str]]:
    """(METHOD, path template) of every operation in the OpenAPI subset."""
    return sorted(
        (method.upper(), path)
        for path, item in openapi()["paths"].items()
        for method in item
        if method != "parameters"
    )


def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    # A ref may hold slashes (heads/feature/x); every other parameter is one segment.
    pattern = "".join(
        ("(.+)" if part == "{ref}" else "[^/]+") if part.startswith("{") else re.escape(part)
        for part in parts
    )
    return re.compile(f"^{pattern}$")


def template_for(method: str, path: str) -> str | None:
    for op_method, template in operations():
        if op_method == method and _template_regex(template).match(path):
            return template
    return None


def _component(ref: str) -> dict[str, Any]:
    section, name = ref.split("/")[-2:]
    return dict(openapi()["components"][section][name])


def response_spec(method: str, template: str, status: int) -> dict[str, Any]:
    responses = openapi()["paths"][template][method.lower()]["responses"]
    spec = responses.get(str(status)) or responses.get("default")
    if spec is None:
        raise AssertionError(f"{method} {template} does not document status {status}")
    return _component(spec["$ref"]) if "$ref" in spec else dict(spec)


def schema_validator(schema: dict[str, Any]) -> OAS30Validator:
    # OAS 3.0 keywords (nullable) need this validator; the components ride along for $ref.
    schema = dict(schema)
    schema["components"] = openapi()["components"]
    return OAS30Validator(schema, format_checker=OAS30Validator.FORMAT_CHECKER)


def validate_response(method: str, template: str, status: int, body: Any) -> None:
    spec = response_spec(method, template, status)
    content = spec.get("content", {}).get("application/json")
    if content is None:
        assert body is None, f"{method} {template} {status} documents no body"
        return
    schema_validator(content["schema"]).validate(body)


def validate_component(name: str, body: Any) -> None:
    schema_validator({"$ref": f"#/components/schemas/{name}"}).validate(body)


@functools.cache
def webhook_registry() -> Registry:
    schemas = [json.loads(p.read_text()) for p in (WEBHOOKS / "payload-schemas").rglob("*.json")]
    return Registry().with_resources(
        (s["$id"], Resource.from_contents(s, default_specification=DRAFT7)) for s in schemas
    )


def webhook_schema_path(event: str, action: str | None) -> Path:
    folder = WEBHOOKS / "payload-schemas" / event
    return folder / (f"{action}.schema.json" if action else "event.schema.json")


def validate_webhook(event: str, payload: dict[str, Any]) -> None:
    action = payload.get("action") if event not in ("ping", "push") else None
    path = webhook_schema_path(event, action)
    assert path.exists(), f"no octokit schema for {event}.{action}"
    schema = json.loads(path.read_text())
    Draft7Validator(schema, registry=webhook_registry()).validate(payload)


# -- the scenario ---------------------------------------------------------------------------


@dataclass
class Exchange:
    method: str
    path: str
    template: str | None
    status: int
    headers: httpx.Headers
    body: Any
    text: str


class Recorder:
    def __init__(self, emulator: GitHubEmulator) -> None:
        self.emulator = emulator
        self.exchanges: list[Exchange] = []
        self.client = httpx.Client(base_url=emulator.api_url, timeout=30)

    def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        jwt: str | None = None,
        accept: str = "application/vnd.github+json",
        **kwargs: Any,
    ) -> Exchange:
        headers = {"Accept": accept}
        if token:
            headers["Authorization"] = f"token {token}"
        if jwt:
            headers["Authorization"] = f"Bearer {jwt}"
        response = self.client.request(method, path, headers=headers, **kwargs)
        is_json = response.headers.get("content-type", "").startswith("application/json")
        exchange = Exchange(
            method=method,
            path=path,
            template=template_for(method, path),
            status=response.status_code,
            headers=response.headers,
            body=response.json() if is_json and response.content else None,
            text=response.text,
        )
        self.exchanges.append(exchange)
        return exchange


@dataclass
class Scenario:
    emulator: GitHubEmulator
    recorder: Recorder
    receiver: WebhookReceiver
    token: str
    guids: frozenset[str]  # the scenario's own deliveries, not later replays or tampering

    def responses(self, method: str, template: str) -> list[Exchange]:
        return [e for e in self.recorder.exchanges if e.method == method and e.template == template]


FAILING_CONFIG = "check:\n  command: \"python -c 'import sys; sys.exit(3)'\"\n"
PASSING_CONFIG = "check:\n  command: \"python -c 'print(42)'\"\n"


def _run_scenario(emulator: GitHubEmulator, rec: Recorder) -> str:
    emulator.create_repo(
        REPO,
        {"app.py": "def add(a, b):\n    return a + b\n", ".github/tierbot.yml": PASSING_CONFIG},
    )
    emulator.add_collaborator(REPO, "alice", "write")
    emulator.user("mallory")
    inst = emulator.installation_for(REPO)
    emulator.install(REPO.split("/")[0], notify=True)  # already installed: no delivery
    emulator.install("other-org", notify=True)
    jwt = emulator.app_jwt()

    rec.call("GET", "/app", jwt=jwt)
    rec.call("GET", f"/app/installations/{inst.id}", jwt=jwt)
    rec.call("GET", "/app/installations/999999", jwt=jwt)
    rec.call("GET", f"/repos/{REPO}/installation", jwt=jwt)
    token = rec.call("POST", f"/app/installations/{inst.id}/access_tokens", jwt=jwt).body["token"]
    rec.call("POST", f"/app/installations/{inst.id}/access_tokens", jwt="not.a.jwt")

    rec.call("GET", f"/repos/{REPO}", token=token)
    rec.call("GET", "/repos/octo/missing", token=token)
    main = rec.call("GET", f"/repos/{REPO}/branches/main", token=token).body["commit"]["sha"]
    rec.call("GET", f"/repos/{REPO}/git/ref/heads/main", token=token)
    rec.call("GET", f"/repos/{REPO}/git/ref/heads/nope", token=token)
    rec.call(
        "POST",
        f"/repos/{REPO}/git/refs",
        token=token,
        json={"ref": "refs/heads/tierbot/issue-1", "sha": main},
    )
    rec.call(
        "POST",
        f"/repos/{REPO}/git/refs",
        token=token,
        json={"ref": "refs/heads/tierbot/issue-1", "sha": main},
    )

    # A human opens and labels an issue; the bot comments, labels, edits its comment.
    number = emulator.open_issue(REPO, "Add a subtract function", "please", user="alice").number
    emulator.label_issue(REPO, number, "tierbot:stub", sender="alice")
    rec.call("GET", f"/repos/{REPO}/issues/{number}", token=token)
    rec.call("GET", f"/repos/{REPO}/issues/404", token=token)
    rec.call("POST", f"/repos/{REPO}/issues/{number}/labels", token=token, json=["tierbot:working"])
    rec.call(
        "POST",
        f"/repos/{REPO}/issues/{number}/labels",
        token=token,
        json={"labels": ["tierbot:queued"]},
    )
    rec.call("GET", f"/repos/{REPO}/issues/{number}/labels", token=token)
    rec.call("DELETE", f"/repos/{REPO}/issues/{number}/labels/tierbot%3Aqueued", token=token)
    rec.call("DELETE", f"/repos/{REPO}/issues/{number}/labels/absent", token=token)
    comment = rec.call(
        "POST",
        f"/repos/{REPO}/issues/{number}/comments",
        token=token,
        json={"body": "working on it <!-- tierbot:state {} -->"},
    ).body
    rec.call("POST", f"/repos/{REPO}/issues/{number}/comments", token=token, json={})
    rec.call(
        "PATCH",
        f"/repos/{REPO}/issues/comments/{comment['id']}",
        token=token,
        json={"body": "done <!-- tierbot:state {} -->"},
    )
    emulator.comment(REPO, number, "thanks", user="alice")
    rec.call("GET", f"/repos/{REPO}/issues/{number}/comments", token=token)
    rec.call("POST", f"/repos/{REPO}/issues", token=token, json={"title": "from the bot"})
    rec.call("GET", f"/repos/{REPO}/collaborators/alice/permission", token=token)
    rec.call("GET", f"/repos/{REPO}/collaborators/mallory/permission", token=token)
    emulator.unlabel_issue(REPO, number, "tierbot:stub", sender="alice")

    # The bot's branch gets a passing commit, then a PR; CI runs on it.
    emulator.push_files(
        REPO,
        "tierbot/issue-1",
        {"app.py": "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n"},
        "Add sub",
    )
    pull = rec.call(
        "POST",
        f"/repos/{REPO}/pulls",
        token=token,
        json={
            "title": "Add sub",
            "head": "tierbot/issue-1",
            "base": "main",
            "body": f"Closes #{number}",
        },
    ).body
    rec.call(
        "POST",
        f"/repos/{REPO}/pulls",
        token=token,
        json={"title": "again", "head": "tierbot/issue-1", "base": "main"},
    )
    emulator.wait_for_ci()
    pr = pull["number"]
    # A red commit to the same PR: synchronize, and a failing run.
    emulator.push_files(
        REPO,
        "tierbot/issue-1",
        {".github/tierbot.yml": FAILING_CONFIG, "notes.txt": "one\ntwo\n"},
        "Break CI",
    )
    emulator.wait_for_ci()
    emulator.label_issue(REPO, pr, "tierbot:review", sender="alice")

    rec.call("GET", f"/repos/{REPO}/pulls/{pr}", token=token)
    rec.call("GET", f"/repos/{REPO}/pulls/{pr}", token=token, accept="application/vnd.github.diff")
    rec.call("GET", f"/repos/{REPO}/pulls", token=token)
    rec.call(
        "GET",
        f"/repos/{REPO}/pulls",
        token=token,
        params={"head": "octo:tierbot/issue-1", "state": "open"},
    )
    rec.call("GET", f"/repos/{REPO}/pulls/{pr}/files", token=token)
    head = emulator.repo(REPO).issues[pr].pull.head_sha  # type: ignore[union-attr]
    rec.call(
        "POST",
        f"/repos/{REPO}/pulls/{pr}/reviews",
        token=token,
        json={
            "commit_id": head,
            "body": "Summary",
            "event": "COMMENT",
            "comments": [
                {"path": "app.py", "line": 5, "side": "RIGHT", "body": "ok"},
                {"path": "notes.txt", "start_line": 1, "line": 2, "body": "two lines"},
            ],
        },
    )
    rec.call(
        "POST",
        f"/repos/{REPO}/pulls/{pr}/reviews",
        token=token,
        json={
            "body": "x",
            "event": "COMMENT",
            "comments": [{"path": "app.py", "line": 40, "body": "not in a hunk"}],
        },
    )
    rec.call(
        "POST",
        f"/repos/{REPO}/pulls/{pr}/comments",
        token=token,
        json={"commit_id": head, "path": "app.py", "line": 6, "side": "RIGHT", "body": "single"},
    )
    rec.call("GET", f"/repos/{REPO}/pulls/{pr}/comments", token=token)

    runs = rec.call("GET", f"/repos/{REPO}/commits/{head}/check-runs", token=token).body
    rec.call("GET", f"/repos/{REPO}/commits/tierbot/issue-1/check-suites", token=token)
    rec.call("GET", f"/repos/{REPO}/check-runs/{runs['check_runs'][0]['id']}", token=token)
    listed = rec.call(
        "GET", f"/repos/{REPO}/actions/runs", token=token, params={"head_sha": head}
    ).body
    run_id = listed["workflow_runs"][0]["id"]
    rec.call("GET", f"/repos/{REPO}/actions/runs/{run_id}", token=token)
    jobs = rec.call("GET", f"/repos/{REPO}/actions/runs/{run_id}/jobs", token=token).body
    job_id = jobs["jobs"][0]["id"]
    rec.call("GET", f"/repos/{REPO}/actions/jobs/{job_id}", token=token)
    rec.call("GET", f"/repos/{REPO}/actions/jobs/{job_id}/logs", token=token)
    rec.call("GET", f"/repos/{REPO}/actions/runs/{run_id}/logs", token=token)

    # The bot edits its PR and issue; a maintainer merges, which closes the issue.
    rec.call(
        "PATCH",
        f"/repos/{REPO}/pulls/{pr}",
        token=token,
        json={"body": f"Closes #{number}\n\nCost so far: $0.0012"},
    )
    rec.call(
        "PATCH",
        f"/repos/{REPO}/issues/{number}",
        token=token,
        json={"title": "Add a subtract function (tierbot)"},
    )
    emulator.merge_pull(REPO, pr, user="alice")

    emulator.ping()
    emulator.wait_for_webhooks()
    return token


def _run_manifest_scenario(rec: Recorder) -> None:
    """Creating an App from a manifest replaces the emulator's App, so it runs on its own
    emulator; its exchanges join the main recording."""
    with GitHubEmulator() as emulator:
        side = Recorder(emulator)

        def code_for(name: str) -> str:
            manifest = {
                "name": name,
                "url": "https://example.com",
                "hook_attributes": {"url": "https://example.com/webhook"},
                "redirect_url": "http://127.0.0.1:9/callback",
                "default_permissions": {"issues": "write", "metadata": "read"},
                "default_events": ["issues"],
            }
            page = httpx.post(
                f"{emulator.url}/settings/apps/new?state=s",
                data={"manifest": json.dumps(manifest)},
            )
            assert page.status_code == 302, page.text
            return httpx.URL(page.headers["location"]).params["code"]

        taken = code_for("tierbot")  # the emulator's own App is called tierbot
        side.call("POST", f"/app-manifests/{taken}/conversions")
        code = code_for("tierbot contract")
        side.call("POST", f"/app-manifests/{code}/conversions")
        side.call("POST", f"/app-manifests/{code}/conversions")  # a code works once
        side.client.close()
        rec.exchanges.extend(side.exchanges)


@pytest.fixture(scope="module")
def scenario() -> Iterator[Scenario]:
    receiver = WebhookReceiver()
    server = serve_receiver(receiver)
    with GitHubEmulator(webhook_url=receiver.url) as emulator:
        recorder = Recorder(emulator)
        try:
            token = _run_scenario(emulator, recorder)
            _run_manifest_scenario(recorder)
            guids = frozenset(d.guid for d in emulator.deliveries())
            yield Scenario(emulator, recorder, receiver, token, guids)
        finally:
            recorder.client.close()
            server.shutdown()
            server.server_close()


# -- REST responses against the OpenAPI description ------------------------------------------


@pytest.mark.parametrize(("method", "template"), operations(), ids=lambda v: str(v))
def test_every_subset_operation_answers_per_its_schema(
    scenario: Scenario, method: str, template: str
) -> None:
    exchanges = scenario.responses(method, template)
    assert exchanges, f"the scenario never called {method} {template}"
    for exchange in exchanges:
        if exchange.headers.get("content-type", "").startswith("application/vnd.github.diff"):
            continue  # no schema describes the diff media type; see the diff test
        validate_response(method, template, exchange.status, exchange.body)


def test_scenario_saw_success_and_error_statuses(scenario: Scenario) -> None:
    seen = {(e.method, e.template, e.status) for e in scenario.recorder.exchanges}
    expected = {
        ("POST", "/app/installations/{installation_id}/access_tokens", 201),
        ("POST", "/app/installations/{installation_id}/access_tokens", 401),
        ("GET", "/app/installations/{installation_id}", 404),
        ("GET", "/repos/{owner}/{repo}", 404),
        ("GET", "/repos/{owner}/{repo}/git/ref/{ref}", 404),
        ("POST", "/repos/{owner}/{repo}/git/refs", 201),
        ("POST", "/repos/{owner}/{repo}/git/refs", 422),
        ("GET", "/repos/{owner}/{repo}/issues/{issue_number}", 404),
        ("DELETE", "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}", 200),
        ("DELETE", "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}", 404),
        ("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments", 422),
        ("POST", "/repos/{owner}/{repo}/pulls", 201),
        ("POST", "/repos/{owner}/{repo}/pulls", 422),
        # GitHub answers a created review with 200, not 201.
        ("POST", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews", 200),
        ("POST", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews", 422),
        ("GET", "/repos/{owner}/{repo}/actions/jobs/{job_id}/logs", 302),
        ("GET", "/repos/{owner}/{repo}/actions/runs/{run_id}/logs", 302),
        ("POST", "/app-manifests/{code}/conversions", 201),
        ("POST", "/app-manifests/{code}/conversions", 404),
        ("POST", "/app-manifests/{code}/conversions", 422),
    }
    assert expected <= seen, sorted(expected - seen)


def test_log_redirects_carry_a_location_and_no_body(scenario: Scenario) -> None:
    for template in (
        "/repos/{owner}/{repo}/actions/jobs/{job_id}/logs",
        "/repos/{owner}/{repo}/actions/runs/{run_id}/logs",
    ):
        (exchange,) = scenario.responses("GET", template)
        assert exchange.status == 302
        assert exchange.headers["location"].startswith(scenario.emulator.url)
        assert exchange.text == ""


def test_diff_media_type_is_a_real_git_diff(scenario: Scenario) -> None:
    diffs = [
        e
        for e in scenario.responses("GET", "/repos/{owner}/{repo}/pulls/{pull_number}")
        if e.body is None
    ]
    (exchange,) = diffs
    assert exchange.headers["content-type"].startswith("application/vnd.github.diff")
    patches = PatchSet(exchange.text)
    assert {p.path for p in patches} == {"app.py", ".github/tierbot.yml", "notes.txt"}


def test_review_outside_the_diff_has_githubs_error_shape(scenario: Scenario) -> None:
    rejected = [
        e
        for e in scenario.responses("POST", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews")
        if e.status == 422
    ]
    (exchange,) = rejected
    assert exchange.body["message"] == "Unprocessable Entity"
    assert exchange.body["errors"] == ["Line could not be resolved"]


def test_remove_label_answers_with_the_labels_that_remain(scenario: Scenario) -> None:
    (removed,) = [
        e
        for e in scenario.responses(
            "DELETE", "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}"
        )
        if e.status == 200
    ]
    assert sorted(lab["name"] for lab in removed.body) == ["tierbot:stub", "tierbot:working"]


ROUTES_OUTSIDE_THE_SUBSET = {
    # (method, path pattern) -> the component schema GitHub documents for its response
    ("POST", r"/repos/[^/]+/[^/]+/issues"): "issue",
    ("PATCH", r"/repos/[^/]+/[^/]+/issues/comments/\d+"): "issue-comment",
    ("PATCH", r"/repos/[^/]+/[^/]+/issues/\d+"): "issue",
    ("PATCH", r"/repos/[^/]+/[^/]+/pulls/\d+"): "pull-request",
    ("GET", r"/repos/[^/]+/[^/]+/actions/runs"): None,
    ("GET", r"/repos/[^/]+/[^/]+/collaborators/[^/]+/permission"): None,
}


def test_routes_outside_the_subset_follow_the_shared_components(scenario: Scenario) -> None:
    """Routes tierbot uses that the copied subset lacks, checked against its components."""
    outside = [e for e in scenario.recorder.exchanges if e.template is None]
    for exchange in outside:
        kind = next(
            (
                v
                for (m, pattern), v in ROUTES_OUTSIDE_THE_SUBSET.items()
                if m == exchange.method and re.fullmatch(pattern, exchange.path)
            ),
            "?",
        )
        assert kind != "?", f"unexpected route outside the subset: {exchange.path}"
        if exchange.path.endswith("/actions/runs"):
            assert set(exchange.body) == {"total_count", "workflow_runs"}
            for run in exchange.body["workflow_runs"]:
                validate_component("workflow-run", run)
        elif exchange.path.endswith("/permission"):
            assert exchange.body["permission"] in ("admin", "write", "read", "none")
            validate_component(
                "simple-user",
                {
                    k: v
                    for k, v in exchange.body["user"].items()
                    if k not in ("permissions", "role_name")
                },
            )
        elif kind is not None:
            validate_component(kind, exchange.body)
    permissions = {
        e.path.split("/")[-2]: e.body["permission"]
        for e in outside
        if e.path.endswith("/permission")
    }
    assert permissions == {"alice": "write", "mallory": "none"}


def test_merge_closes_the_pr_and_the_issue_it_names(scenario: Scenario) -> None:
    repo = scenario.emulator.repo(REPO)
    pull = next(i for i in repo.issues.values() if i.pull is not None)
    assert pull.state == "closed" and pull.pull is not None and pull.pull.merged
    assert repo.issues[1].state == "closed"
    assert repo.issues[1].title == "Add a subtract function (tierbot)"
    (closed,) = [d.payload for d in scenario.emulator.deliveries("pull_request", "closed")]
    assert closed["pull_request"]["merged"] is True
    assert closed["pull_request"]["merge_commit_sha"] == pull.pull.merge_commit_sha


def test_a_deliberately_broken_response_fails_validation(scenario: Scenario) -> None:
    """The contract bites: a repository without ``node_id`` is rejected."""

    def drop_node_id(method: str, route: str, body: Any) -> Any:
        if route == "/repos/{owner}/{repo}" and isinstance(body, dict):
            body = {k: v for k, v in body.items() if k != "node_id"}
        return body

    scenario.emulator.tamper = drop_node_id
    try:
        exchange = scenario.recorder.call("GET", f"/repos/{REPO}", token=scenario.token)
    finally:
        scenario.emulator.tamper = None
        scenario.recorder.exchanges.pop()
    assert "node_id" not in exchange.body
    with pytest.raises(jsonschema.ValidationError, match="node_id"):
        validate_response("GET", "/repos/{owner}/{repo}", 200, exchange.body)


# -- webhooks against octokit's schemas ------------------------------------------------------

EXPECTED_DELIVERIES = {
    ("installation", "created"),
    ("issues", "opened"),
    ("issues", "labeled"),
    ("issues", "unlabeled"),
    ("issue_comment", "created"),
    ("push", None),
    ("pull_request", "opened"),
    ("pull_request", "synchronize"),
    ("pull_request", "labeled"),
    ("pull_request", "closed"),
    ("pull_request_review", "submitted"),
    ("check_run", "completed"),
    ("check_suite", "completed"),
    ("workflow_run", "completed"),
    ("workflow_job", "completed"),
    ("ping", None),
}


def _received(
    scenario: Scenario, *, everything: bool = False
) -> list[tuple[dict[str, str], bytes]]:
    with scenario.receiver.lock:
        return [
            (r.headers, r.body)
            for r in scenario.receiver.received
            if everything or r.headers["X-GitHub-Delivery"] in scenario.guids
        ]


def test_the_scenario_delivered_every_expected_event(scenario: Scenario) -> None:
    seen = {(d.event, d.action) for d in scenario.emulator.deliveries() if d.guid in scenario.guids}
    assert seen == EXPECTED_DELIVERIES
    conclusions = {
        d.payload["workflow_job"]["conclusion"]
        for d in scenario.emulator.deliveries("workflow_job")
        if d.guid in scenario.guids
    }
    assert conclusions == {"success", "failure"}


def test_every_delivered_webhook_validates_against_octokit(scenario: Scenario) -> None:
    received = _received(scenario)
    assert len(received) == len(scenario.guids)
    for headers, body in received:
        validate_webhook(headers["X-GitHub-Event"], json.loads(body))


def test_every_delivery_is_signed_and_identified(scenario: Scenario) -> None:
    ids = set()
    for headers, body in _received(scenario):
        expected = hmac.new(DEFAULT_SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["X-Hub-Signature-256"], f"sha256={expected}")
        assert headers["Content-Type"] == "application/json"
        ids.add(headers["X-GitHub-Delivery"])
        payload = json.loads(body)
        if headers["X-GitHub-Event"] not in ("ping", "installation"):
            assert payload["installation"]["id"] == scenario.emulator.installation_for(REPO).id
            assert payload["repository"]["full_name"] == REPO
    assert len(ids) == len(_received(scenario))


def test_the_bots_own_actions_arrive_with_the_bot_as_sender(scenario: Scenario) -> None:
    labeled = [d.payload for d in scenario.emulator.deliveries("issues", "labeled")]
    senders = {(p["label"]["name"], p["sender"]["login"], p["sender"]["type"]) for p in labeled}
    assert ("tierbot:stub", "alice", "User") in senders
    assert ("tierbot:working", "tierbot[bot]", "Bot") in senders


def test_a_deliberately_broken_webhook_fails_validation(scenario: Scenario) -> None:
    def drop_sender(event: str, payload: dict[str, Any]) -> dict[str, Any]:
        payload.pop("sender", None)
        return payload

    emulator = scenario.emulator
    emulator.sender.tamper = drop_sender
    try:
        emulator.comment(REPO, 1, "tampered", user="alice")
        emulator.wait_for_webhooks()
    finally:
        emulator.sender.tamper = None
    delivery = emulator.deliveries("issue_comment")[-1]
    with pytest.raises(jsonschema.ValidationError, match="sender"):
        validate_webhook("issue_comment", delivery.payload)


def _examples() -> list[Path]:
    folder = WEBHOOKS / "payload-examples"
    return sorted(p for event in TIERBOT_EVENTS for p in (folder / event).glob("*.json"))


@pytest.mark.parametrize("example", _examples(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_octokit_examples_replay_through_the_sender(scenario: Scenario, example: Path) -> None:
    event = example.parent.name
    body = example.read_bytes()
    delivery = scenario.emulator.deliver(event, body)
    scenario.emulator.wait_for_webhooks()
    assert delivery.status_code == 202
    (headers, sent) = next(
        (h, b)
        for h, b in _received(scenario, everything=True)
        if h["X-GitHub-Delivery"] == delivery.guid
    )
    assert sent == body  # the signature covers exactly the bytes of the file
    expected = hmac.new(DEFAULT_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Hub-Signature-256"] == f"sha256={expected}"
    assert headers["X-GitHub-Event"] == event
    validate_webhook(event, json.loads(sent))


def test_signature_known_answer_from_githubs_docs() -> None:
    from tests.support.github_emulator import signature_256

    assert signature_256(b"It's a Secret to Everybody", b"Hello, World!") == (
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    )


# -- PyGithub's recordings of real GitHub --------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    source: str
    method: str
    path: str
    status: int
    body: Any


def pygithub_recordings() -> list[Recorded]:
    """Every exchange in the copied PyGithub replay files (11 lines each)."""
    out = []
    for path in sorted((FIXTURES / "pygithub-replay").glob("*.txt")):
        lines = path.read_text().split("\n")
        for start in range(0, len(lines) - 10, 11):
            record = lines[start : start + 11]
            text = record[9].strip()
            out.append(
                Recorded(
                    path.name,
                    record[1],
                    record[4].split("?")[0],
                    int(record[7]),
                    json.loads(text) if text else None,
                )
            )
    return out


def _keys(body: Any) -> set[str]:
    if isinstance(body, list):
        return set().union(*(set(item) for item in body)) if body else set()
    return set(body) if isinstance(body, dict) else set()


@pytest.mark.parametrize(
    "recorded",
    [r for r in pygithub_recordings() if template_for(r.method, r.path)],
    ids=lambda r: f"{r.source}:{r.method}:{r.path}",
)
def test_emulator_matches_githubs_recorded_status_and_shape(
    scenario: Scenario, recorded: Recorded
) -> None:
    """Same status code, same JSON kind, and every key real GitHub sent (old ones included)."""
    template = template_for(recorded.method, recorded.path)
    assert template is not None
    ours = [e for e in scenario.responses(recorded.method, template) if e.status < 400]
    assert ours, f"the scenario never succeeded at {recorded.method} {template}"
    for exchange in ours:
        assert exchange.status == recorded.status
        assert type(exchange.body) is type(recorded.body)
        assert _keys(recorded.body) <= _keys(exchange.body), _keys(recorded.body) - _keys(
            exchange.body
        )


# -- back through the bot's event parser -----------------------------------------------------


def test_every_delivery_parses_into_a_bot_event(scenario: Scenario) -> None:
    from bot.events import HANDLED_EVENTS, parse_event

    inst = scenario.emulator.installation_for(REPO).id
    for headers, body in _received(scenario):
        name = headers["X-GitHub-Event"]
        event = parse_event(name, headers["X-GitHub-Delivery"], json.loads(body))
        assert event.delivery_id == headers["X-GitHub-Delivery"]
        if name in HANDLED_EVENTS - {"ping", "installation"}:
            assert event.installation_id == inst
            assert event.repo is not None and event.repo.full_name == REPO
    check_runs = [
        parse_event("check_run", d.guid, d.payload)
        for d in scenario.emulator.deliveries("check_run")
        if d.guid in scenario.guids
    ]
    assert {(e.head_branch, e.conclusion) for e in check_runs} == {
        ("tierbot/issue-1", "success"),
        ("tierbot/issue-1", "failure"),
    }
    assert all(e.task_issue == 1 and e.pull_numbers for e in check_runs)
    bot_label = next(
        parse_event("issues", d.guid, d.payload)
        for d in scenario.emulator.deliveries("issues", "labeled")
        if d.payload["label"]["name"] == "tierbot:working"
    )
    assert bot_label.sender is not None and bot_label.sender.is_bot


@pytest.mark.parametrize("example", _examples(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_octokit_examples_parse_into_bot_events(example: Path) -> None:
    from bot.events import parse_event

    event = parse_event(example.parent.name, "example", json.loads(example.read_bytes()))
    assert event.name == example.parent.name
