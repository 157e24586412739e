"""deploy/argocd/: the notifications ConfigMap, rendered as Argo CD would, parsed by the ingestor.

The templates are rendered by `deploy/argocd/render` (Go: text/template + sprig's TxtFuncMap, the
library and functions Argo CD's notifications use) against an Application that follows Argo CD's
schema (`testdata/application.json`, checked against `testdata/application.schema.json`), for
every trigger; each body is then POSTed to the ingestor's real route and must become the expected
`DeploymentObserved`. Without `go` these tests skip locally and fail when `CI=true`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from cc.testing.fakes import RecordingProducer
from ingestor.api import create_app
from ingestor.config import Settings as IngestorSettings

ROOT = Path(__file__).resolve().parents[2]
ARGOCD = ROOT / "deploy" / "argocd"
CONFIGMAP = ARGOCD / "argocd-notifications-cm.yaml"
APPLICATION = ARGOCD / "testdata" / "application.json"
APP_SCHEMA = ARGOCD / "testdata" / "application.schema.json"
SHARED_SWAGGER = ROOT.parent / "shared" / "contracts" / "argocd-swagger.json"
SERVICE = "command-center"
TOKEN = "contract-token"
REVISION_KEY = "app.status.operationState?.syncResult?.revision"
# Argo CD's catalog (notifications_catalog/triggers at v3.5.1): trigger -> (oncePer, when)
CATALOG = {
    "on-created": ("app.metadata.name", "true"),
    "on-deleted": ("app.metadata.name", "app.metadata.deletionTimestamp != nil"),
    "on-deployed": (
        REVISION_KEY,
        "app.status.operationState != nil and app.status.operationState.phase in ['Succeeded']"
        " and app.status.health.status == 'Healthy' and"
        " (!time.Parse(app.status.health.lastTransitionTime).Add(1 * time.Minute)"
        ".Before(time.Parse(app.status.operationState.finishedAt))"
        " or time.Parse(app.status.health.lastTransitionTime)"
        ".Before(time.Parse(app.status.operationState.startedAt)))",
    ),
    "on-health-degraded": (REVISION_KEY, "app.status.health.status == 'Degraded'"),
    "on-sync-failed": (
        REVISION_KEY,
        "app.status.operationState != nil and"
        " app.status.operationState.phase in ['Error', 'Failed']",
    ),
    "on-sync-running": (
        REVISION_KEY,
        "app.status.operationState != nil and app.status.operationState.phase in ['Running']",
    ),
    "on-sync-status-unknown": (REVISION_KEY, "app.status.sync.status == 'Unknown'"),
    "on-sync-succeeded": (
        REVISION_KEY,
        "app.status.operationState != nil and app.status.operationState.phase in ['Succeeded']",
    ),
}
ACTION = re.compile(r"{{-?(.*?)-?}}", re.DOTALL)
CURRENT = "84a516841ba77a5b4648de2cd0dfcb30ea46dbb4"
PREVIOUS = "e9d71f5ee7c92d6dc9e92ffdad17b8bd49418f98"
NEXT = "3c363836cf4e16666669a25da280a1865c2d2874"


def configmap_data() -> dict[str, str]:
    doc: dict[str, Any] = yaml.safe_load(CONFIGMAP.read_text())
    assert (doc["kind"], doc["metadata"]["name"]) == ("ConfigMap", "argocd-notifications-cm")
    return dict(doc["data"])


def triggers() -> dict[str, list[dict[str, Any]]]:
    data = configmap_data()
    return {
        k.removeprefix("trigger."): yaml.safe_load(v)
        for k, v in data.items()
        if k.startswith("trigger.")
    }


def webhook_of(template: str) -> dict[str, str]:
    spec: dict[str, Any] = yaml.safe_load(configmap_data()[f"template.{template}"])
    return dict(spec["webhook"][SERVICE])


def squash(text: str) -> str:
    return " ".join(text.split())


# --- the ConfigMap as written ----------------------------------------------------------------


def test_all_eight_catalog_triggers_keep_the_catalog_conditions() -> None:
    defined = triggers()
    assert set(defined) == set(CATALOG)
    for name, (once_per, when) in CATALOG.items():
        [condition] = defined[name]
        assert condition["oncePer"] == once_per, name
        assert squash(str(condition["when"])) == squash(when), name


def test_each_trigger_posts_its_own_template_to_the_command_center_service() -> None:
    for name, [condition] in triggers().items():
        [template] = condition["send"]
        assert template == f"command-center-{name.removeprefix('on-')}"
        assert webhook_of(template)["method"] == "POST"  # Argo CD's default is GET
        assert not webhook_of(template).get("path")  # the service url is the full endpoint


def test_every_interpolated_value_goes_through_to_json() -> None:
    for name, [condition] in triggers().items():
        body = webhook_of(condition["send"][0])["body"]
        actions = [squash(a) for a in ACTION.findall(body)]
        assert actions, name
        assert all(a.startswith("toJson ") for a in actions), (name, actions)
        skeleton = json.loads(ACTION.sub("null", body))  # the rest is literal JSON
        assert set(skeleton) == {"version", "trigger", "sentAt", "context", "app"}


def test_the_eight_bodies_differ_only_in_the_trigger_they_name() -> None:
    bodies = {
        name: webhook_of(condition["send"][0])["body"] for name, [condition] in triggers().items()
    }
    for name, body in bodies.items():
        assert f'{{{{ toJson "{name}" }}}}' in body
    normalised = {body.replace(f'"{name}"', '"TRIGGER"') for name, body in bodies.items()}
    assert len(normalised) == 1


def test_the_service_posts_json_to_the_ingestor_with_the_secret_token() -> None:
    service: dict[str, Any] = yaml.safe_load(configmap_data()[f"service.webhook.{SERVICE}"])
    url = urlsplit(service["url"])
    assert url.path == "/webhooks/argocd"
    assert url.hostname is not None and url.hostname.startswith("command-center-ingestor.")
    assert url.port == IngestorSettings().http_port
    headers = {h["name"]: h["value"] for h in service["headers"]}
    assert headers["Content-Type"] == "application/json"  # Argo CD sets none by default
    assert headers["Authorization"] == "Bearer $command-center-token"


# --- the Application fixture follows Argo CD's schema ----------------------------------------


def schema_errors(value: Any, node: dict[str, Any], defs: dict[str, Any], at: str) -> list[str]:
    """Where `value` leaves the swagger schema: unknown fields, wrong types, bad times."""
    if "$ref" in node:
        node = defs[node["$ref"].rsplit("/", 1)[-1]]
    kind = node.get("type", "object")
    if kind == "object":
        if not isinstance(value, dict):
            return [f"{at}: expected an object"]
        props: dict[str, Any] | None = node.get("properties")
        extra = node.get("additionalProperties")
        errors = []
        for key, item in value.items():
            if props is not None and key in props:
                errors += schema_errors(item, props[key], defs, f"{at}.{key}")
            elif props is not None and extra is None:
                errors.append(f"{at}.{key}: not in the schema")
            elif isinstance(extra, dict):
                errors += schema_errors(item, extra, defs, f"{at}.{key}")
        return errors
    if kind == "array":
        if not isinstance(value, list):
            return [f"{at}: expected an array"]
        items = node.get("items", {"type": "string"})
        return [e for i, v in enumerate(value) for e in schema_errors(v, items, defs, f"{at}[{i}]")]
    types: dict[str, type | tuple[type, ...]] = {
        "string": str,
        "integer": int,
        "boolean": bool,
        "number": (int, float),
    }
    expected = types[kind]
    if not isinstance(value, expected) or (kind == "integer" and isinstance(value, bool)):
        return [f"{at}: expected {kind}"]
    if node.get("format") == "date-time":
        datetime.fromisoformat(str(value))  # raises on a malformed time
    return []


def test_the_application_fixture_follows_argo_cds_schema() -> None:
    schema = json.loads(APP_SCHEMA.read_text())
    app = json.loads(APPLICATION.read_text())
    # apiVersion/kind are Kubernetes TypeMeta: on every object, absent from the REST schema
    assert (app.pop("apiVersion"), app.pop("kind")) == ("argoproj.io/v1alpha1", "Application")
    root = {"$ref": f"#/definitions/{schema['root']}"}
    assert schema_errors(app, root, schema["definitions"], "app") == []
    assert len(app["status"]["history"]) >= 2
    assert app["spec"]["syncPolicy"]["automated"]
    assert app["status"]["operationState"]["syncResult"]["revision"] == CURRENT


@pytest.mark.skipif(not SHARED_SWAGGER.is_file(), reason="shared/contracts not beside the repo")
def test_the_schema_excerpt_matches_argo_cds_swagger() -> None:
    excerpt = json.loads(APP_SCHEMA.read_text())
    swagger = json.loads(SHARED_SWAGGER.read_text())["definitions"]

    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k not in ("description", "title")}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    for name, definition in excerpt["definitions"].items():
        assert strip(swagger[name]) == definition, name


# --- rendered with Go, parsed by the ingestor ------------------------------------------------


@pytest.fixture(scope="session")
def renderer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    go = shutil.which("go")
    if go is None:
        message = "go not found: it builds deploy/argocd/render (Argo CD's template semantics)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    binary = tmp_path_factory.mktemp("argocd-render") / "render"
    build = subprocess.run(
        [go, "build", "-o", str(binary), "."],
        cwd=ARGOCD / "render",
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert build.returncode == 0, build.stderr
    return binary


def variant(name: str) -> dict[str, Any]:
    """The fixture Application in one of the states the triggers fire on."""
    app: dict[str, Any] = json.loads(APPLICATION.read_text())
    if name == "new":  # just created: not yet reconciled, no status at all
        del app["status"]
    elif name == "deleting":
        app["metadata"]["deletionTimestamp"] = "2026-11-26T14:00:00Z"
    elif name == "sync-failed":
        op = app["status"]["operationState"]
        op.update(phase="Failed", finishedAt="2026-11-26T13:00:20Z")
        op["operation"]["initiatedBy"] = {"username": "bob"}
        op["operation"]["sync"]["revision"] = op["syncResult"]["revision"] = NEXT
    return app


# variant -> fields of the DeploymentObserved that body must give, whatever the trigger
EXPECTED: dict[str, dict[str, Any]] = {
    "deployed": {
        "revision": CURRENT,
        "history_id": 10,
        "previous_revision": PREVIOUS,
        "previous_history_id": 9,
        "operation_phase": "Succeeded",
        "health_status": "Healthy",
        "initiator": "automated",
    },
    "new": {"revision": "", "history_id": None, "previous_revision": None, "health_status": None},
    "deleting": {"revision": CURRENT, "history_id": 10},
    "sync-failed": {
        "revision": NEXT,
        "history_id": None,
        "previous_revision": CURRENT,
        "previous_history_id": 10,
        "operation_phase": "Failed",
        "initiator": "bob",
    },
}


@pytest.fixture(scope="session")
def rendered(
    renderer: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[str, list[dict[str, str]]]]:
    """variant -> trigger -> what Argo CD would send for it."""
    out = {}
    folder = tmp_path_factory.mktemp("argocd-apps")
    for name in EXPECTED:
        app_file = folder / f"{name}.json"
        app_file.write_text(json.dumps(variant(name)))
        run = subprocess.run(
            [str(renderer), "-configmap", str(CONFIGMAP), "-app", str(app_file)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert run.returncode == 0, run.stderr
        out[name] = json.loads(run.stdout)
    return out


@pytest.mark.parametrize("state", list(EXPECTED))
@pytest.mark.parametrize("trigger", list(CATALOG))
def test_rendered_body_becomes_the_expected_event(
    rendered: dict[str, dict[str, list[dict[str, str]]]], state: str, trigger: str
) -> None:
    [notification] = rendered[state][trigger]
    assert notification["method"] == "POST"
    body = notification["body"]
    sent = json.loads(body)  # valid JSON whatever the Application holds
    assert sent["app"] == variant(state)  # the whole Application, unchanged
    producer = RecordingProducer()
    settings = IngestorSettings(argocd_token=SecretStr(TOKEN))
    client = TestClient(create_app(settings, producer, CollectorRegistry()))  # type: ignore[arg-type]
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}
    response = client.post("/webhooks/argocd", content=body.encode(), headers=headers)
    assert response.status_code == 202, response.text
    assert response.json()["trigger_known"] is True
    [(topic, key, event)] = producer.sent
    assert (topic, key) == ("deployments.deployment-observed.v1", "checkout")
    assert (event.trigger, event.application, event.project) == (trigger, "checkout", "payments")
    assert (event.namespace, event.cluster) == ("checkout", "https://kubernetes.default.svc")
    for field, value in EXPECTED[state].items():
        assert getattr(event, field) == value, field
    assert json.loads(event.raw) == sent
    assert event.metadata.event_id == response.json()["event_ids"][0]


def test_a_redelivered_render_keeps_its_event_id(
    rendered: dict[str, dict[str, list[dict[str, str]]]], renderer: Path, tmp_path: Path
) -> None:
    # a second render differs in sentAt only; Argo CD re-firing must not make a new event
    app_file = tmp_path / "app.json"
    app_file.write_text(json.dumps(variant("deployed")))
    again = subprocess.run(
        [str(renderer), "-configmap", str(CONFIGMAP), "-app", str(app_file)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    first = rendered["deployed"]["on-deployed"][0]["body"]
    second = json.loads(again.stdout)["on-deployed"][0]["body"]
    assert json.loads(first)["sentAt"] != json.loads(second)["sentAt"]
    producer = RecordingProducer()
    app = create_app(IngestorSettings(argocd_token=SecretStr(TOKEN)), producer, CollectorRegistry())  # type: ignore[arg-type]
    client = TestClient(app)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}
    for body in (first, second):
        assert client.post("/webhooks/argocd", content=body, headers=headers).status_code == 202
    assert producer.sent[0][2].metadata.event_id == producer.sent[1][2].metadata.event_id
