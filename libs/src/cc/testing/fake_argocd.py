"""A stdlib Argo CD REST API stand-in enforcing contracts.md §4 and the swagger, for tests.

Applications live in memory. Operations (sync, rollback, auto-sync) advance one phase per read
of the application, so tests move time forward by polling, never by sleeping: Running with
health Progressing, then Succeeded with a new `status.history[]` entry and the health the test
gave that revision (Healthy by default). Errors are grpc-gateway bodies `{error, code, message,
details}` with the HTTP status grpc-gateway maps the gRPC code to.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cc.testing.local_server import LocalServer, Reply

DEFAULT_TOKEN = "argocd-test-token-0000000001"  # noqa: S105 - a test credential
T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
# gRPC code -> (number, HTTP status), as grpc-gateway maps them
GRPC = {
    "InvalidArgument": (3, 400),
    "NotFound": (5, 404),
    "PermissionDenied": (7, 403),
    "FailedPrecondition": (9, 400),
    "Unauthenticated": (16, 401),
    "Unimplemented": (12, 501),
}
_APP = re.compile(r"^/api/v1/applications/([^/]+)(/rollback|/sync)?$")


class ArgoError(Exception):
    """An error answer: gRPC code name and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def automated_on(app: dict[str, Any]) -> bool:
    """Auto-sync is on: `automated` present and `enabled` not false (IsAutomatedSyncEnabled)."""
    automated = app["spec"].get("syncPolicy", {}).get("automated")
    return isinstance(automated, dict) and automated.get("enabled") is not False


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def json_patch(target: Any, ops: Any) -> Any:
    """RFC 6902 add / remove / replace (what a client needs for the sync policy)."""
    if not isinstance(ops, list):
        raise ArgoError("InvalidArgument", "json patch must be an array of operations")
    doc = copy.deepcopy(target)
    for op in ops:
        if not isinstance(op, dict) or op.get("op") not in ("add", "remove", "replace"):
            raise ArgoError("InvalidArgument", f"unsupported json patch operation: {op}")
        pointer = str(op.get("path", ""))[1:].split("/")
        *parents, last = [p.replace("~1", "/").replace("~0", "~") for p in pointer]
        node = doc
        for part in parents:
            if not isinstance(node, dict) or part not in node:
                raise ArgoError("InvalidArgument", f"path {op['path']} does not exist")
            node = node[part]
        if op["op"] == "remove":
            if last not in node:
                raise ArgoError("InvalidArgument", f"path {op['path']} does not exist")
            del node[last]
        else:
            node[last] = copy.deepcopy(op.get("value"))
    return doc


@dataclass
class Operation:
    """A running sync: what it goes to and how many more reads it takes."""

    revision: str
    initiated_by: dict[str, Any]
    reads_left: int
    source: dict[str, Any] = field(default_factory=dict)


class FakeArgoCD(LocalServer):
    """Argo CD's application endpoints on loopback, recording every mutating call."""

    log_name = "fake_argocd"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        tokens: tuple[str, ...] = (DEFAULT_TOKEN,),
        operation_reads: int = 2,
    ) -> None:
        super().__init__(host, port)
        self.tokens, self.operation_reads = tokens, operation_reads
        self._lock = threading.Lock()
        self._apps: dict[str, dict[str, Any]] = {}
        self._ops: dict[str, Operation] = {}
        self._heads: dict[str, str] = {}  # app -> the revision Git's target resolves to
        self._health: dict[tuple[str, str], str] = {}  # (app, revision) -> health after deploy
        self.calls: list[dict[str, Any]] = []  # mutating requests: method, path, body, status

    # ---- test set-up and inspection -------------------------------------------------------

    def add_app(
        self,
        name: str,
        history: list[tuple[str, str]],
        *,
        automated: dict[str, Any] | None = None,
        namespace: str = "argocd",
    ) -> None:
        """An app deployed through `history` [(revision, health)], the last one live now."""
        with self._lock:
            entries = []
            for i, (revision, health) in enumerate(history, start=1):
                self._health[(name, revision)] = health
                at = T0 + timedelta(minutes=10 * i)
                entries.append(_history_entry(i, revision, at, "automated"))
            live, live_health = history[-1]
            policy: dict[str, Any] = {"syncOptions": ["CreateNamespace=true"]}
            if automated is not None:
                policy["automated"] = automated
            self._apps[name] = {
                "metadata": {"name": name, "namespace": namespace, "resourceVersion": "1"},
                "spec": {
                    "project": "default",
                    "source": {"repoURL": "https://git.example/deploy.git", "path": name},
                    "destination": {"server": "https://kubernetes.default.svc", "namespace": name},
                    "syncPolicy": policy,
                },
                "status": {
                    "sync": {"status": "Synced", "revision": live},
                    "health": {"status": live_health},
                    "history": entries,
                    "operationState": {"phase": "Succeeded", "syncResult": {"revision": live}},
                },
            }
            self._heads[name] = live

    def set_health(self, name: str, revision: str, health: str) -> None:
        """The health the app reaches after deploying `revision`."""
        with self._lock:
            self._health[(name, revision)] = health

    def app(self, name: str) -> dict[str, Any]:
        """A copy of the stored application (no operation advance)."""
        with self._lock:
            return copy.deepcopy(self._apps[name])

    def rollbacks(self, name: str) -> list[dict[str, Any]]:
        """Accepted rollback requests for an app."""
        return [c for c in self.calls if c["path"].endswith(f"/{name}/rollback") and c["ok"]]

    # ---- HTTP -----------------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Reply:
        """Route one request; every error is a grpc-gateway error body."""
        headers = {k.lower(): v for k, v in headers.items()}
        try:
            status, body = self._route(method, path, headers, raw)
        except ArgoError as exc:
            number, status = GRPC[exc.code]
            body = {"error": exc.message, "code": number, "message": exc.message, "details": []}
        if method != "GET":
            with self._lock:
                self.calls.append(
                    {"method": method, "path": path, "body": _json_or_text(raw)}
                    | {"status": status, "ok": status == 200}
                )
        log = {"path": path, "error": "" if status == 200 else body.get("message", "")}
        return Reply(status, json.dumps(body).encode(), log=log)

    def _route(
        self, method: str, path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, Any]]:
        if method == "POST" and path == "/api/v1/session":
            return 200, self._session(raw)
        self._authenticate(headers.get("authorization", ""))
        match = _APP.match(path)
        if match is None:
            raise ArgoError("NotFound", f"Not Found: {path}")  # grpc-gateway's unknown route
        name, action = match.groups()
        with self._lock:
            app = self._apps.get(name)
            if app is None:
                raise ArgoError("NotFound", f'applications.argoproj.io "{name}" not found')
            if method == "GET" and action is None:
                self._advance(name, app)
                return 200, copy.deepcopy(app)
            body = _parse_object(raw)
            if method == "POST" and action == "/rollback":
                return 200, self._rollback(name, app, body)
            if method == "POST" and action == "/sync":
                return 200, self._sync(name, app, body)
            if method == "PATCH" and action is None:
                return 200, self._patch(app, body)
            if method == "PUT" and action is None:
                return 200, self._update(name, app, body)
        raise ArgoError("NotFound", f"Method Not Allowed: {method} {path}")

    def _authenticate(self, header: str) -> None:
        scheme, _, token = header.partition(" ")
        if not header or scheme.lower() != "bearer":
            raise ArgoError("Unauthenticated", "no session information")
        if token.strip() not in self.tokens:
            raise ArgoError("Unauthenticated", "invalid session: token signature is invalid")

    def _session(self, raw: bytes) -> dict[str, Any]:
        body = _parse_object(raw)
        if body.get("username") != "admin" or body.get("password") != "password":
            raise ArgoError("Unauthenticated", "Invalid username or password")
        return {"token": self.tokens[0]}

    def _rollback(self, name: str, app: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        if automated_on(app):
            raise ArgoError(
                "FailedPrecondition", "rollback cannot be initiated when auto-sync is enabled"
            )
        if name in self._ops:
            raise ArgoError("FailedPrecondition", "another operation is already in progress")
        try:
            wanted = int(body.get("id", 0))
        except (TypeError, ValueError):
            raise ArgoError("InvalidArgument", f"invalid value for id: {body.get('id')}") from None
        entry = next((h for h in app["status"]["history"] if h["id"] == wanted), None)
        if entry is None:
            raise ArgoError(
                "InvalidArgument", f"application {name} does not have deployment with id {wanted}"
            )
        if body.get("dryRun"):
            return copy.deepcopy(app)
        self._start(name, app, entry["revision"], {"username": "admin", "automated": False})
        return copy.deepcopy(app)

    def _sync(self, name: str, app: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        revision = str(body.get("revision") or self._heads[name])
        target = app["spec"]["source"].get("targetRevision", "HEAD")
        if automated_on(app) and revision not in (target, self._heads[name]):
            raise ArgoError(
                "FailedPrecondition",
                f"Cannot sync to {revision}: auto-sync currently set to {target}",
            )
        if name in self._ops:
            raise ArgoError("FailedPrecondition", "another operation is already in progress")
        if not body.get("dryRun"):
            self._start(name, app, revision, {"username": "admin", "automated": False})
        return copy.deepcopy(app)

    def _patch(self, app: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        kind = body.get("patchType") or "json"
        if kind not in ("json", "merge"):
            raise ArgoError("InvalidArgument", f"Patch type '{kind}' is not supported")
        try:
            patch = json.loads(str(body.get("patch", "")))
        except ValueError as exc:
            raise ArgoError("InvalidArgument", f"error unmarshaling patch: {exc}") from None
        patched = merge_patch(app, patch) if kind == "merge" else json_patch(app, patch)
        if not isinstance(patched, dict) or not isinstance(patched.get("spec"), dict):
            raise ArgoError("InvalidArgument", "patch must leave a spec")
        app["spec"] = patched["spec"]  # only the spec is writable through Patch
        _bump(app)
        return copy.deepcopy(app)

    def _update(self, name: str, app: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        if body.get("metadata", {}).get("name") != name or not isinstance(body.get("spec"), dict):
            raise ArgoError("InvalidArgument", "application name and spec are required")
        app["spec"] = copy.deepcopy(body["spec"])
        _bump(app)
        return copy.deepcopy(app)

    def _start(self, name: str, app: dict[str, Any], revision: str, by: dict[str, Any]) -> None:
        self._ops[name] = Operation(revision, by, self.operation_reads)
        app["status"]["health"] = {"status": "Progressing"}
        app["status"]["operationState"] = {
            "phase": "Running",
            "operation": {"sync": {"revision": revision}, "initiatedBy": by},
        }

    def _advance(self, name: str, app: dict[str, Any]) -> None:
        """One read moves time on: the operation runs, ends, or auto-sync starts one."""
        op = self._ops.get(name)
        if op is None:
            head = self._heads[name]
            if automated_on(app) and app["status"]["sync"]["revision"] != head:
                self._start(name, app, head, {"automated": True})  # auto-sync rolls forward
            return
        op.reads_left -= 1
        if op.reads_left > 0:
            return
        del self._ops[name]
        history = app["status"]["history"]
        at = T0 + timedelta(hours=1, minutes=len(history))
        history.append(_history_entry(history[-1]["id"] + 1 if history else 1, op.revision, at))
        history[-1]["initiatedBy"] = op.initiated_by
        app["status"]["sync"] = {"status": "Synced", "revision": op.revision}
        app["status"]["health"] = {"status": self._health.get((name, op.revision), "Healthy")}
        app["status"]["operationState"] = {
            "phase": "Succeeded",
            "operation": {"sync": {"revision": op.revision}, "initiatedBy": op.initiated_by},
            "syncResult": {"revision": op.revision},
        }


def _history_entry(
    id_: int, revision: str, at: datetime, initiator: str = "admin"
) -> dict[str, Any]:
    stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "id": id_,
        "revision": revision,
        "deployStartedAt": stamp,
        "deployedAt": stamp,
        "source": {"repoURL": "https://git.example/deploy.git"},
        "initiatedBy": {"username": initiator, "automated": initiator == "automated"},
    }


def _bump(app: dict[str, Any]) -> None:
    meta = app["metadata"]
    meta["resourceVersion"] = str(int(meta["resourceVersion"]) + 1)


def json_object(raw: bytes) -> dict[str, Any] | None:
    """The body as a JSON object; None if it is not one (each stand-in words its own error)."""
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _parse_object(raw: bytes) -> dict[str, Any]:
    body = json_object(raw)
    if body is None:
        raise ArgoError("InvalidArgument", "request body must be a JSON object")
    return body


def _json_or_text(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode(errors="replace")
