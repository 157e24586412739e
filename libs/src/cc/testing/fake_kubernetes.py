"""A stdlib Kubernetes API stand-in for apps/v1 workloads: get, patch, and the scale subresource.

Enforces what `kubectl rollout restart` and `kubectl scale` rely on: bearer auth, strategic-merge
and merge patches (other media types are 415), the autoscaling/v1 Scale object with optimistic
concurrency (a stale `metadata.resourceVersion` is 409 Conflict), validation as 422 Invalid, and
every error as a `Status` object.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from typing import Any

from cc.testing.fake_argocd import json_object, merge_patch
from cc.testing.local_server import LocalServer, Reply

DEFAULT_TOKEN = "kube-test-token-000000000001"  # noqa: S105 - a test credential
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
PATCH_TYPES = (
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/apply-patch+yaml",
    "application/strategic-merge-patch+json",
)
_PATH = re.compile(
    r"^/apis/apps/v1/namespaces/([^/]+)/(deployments|statefulsets)/([^/]+)(/scale)?$"
)
KINDS = {"deployments": "Deployment", "statefulsets": "StatefulSet"}


class KubeError(Exception):
    """An error answer, rendered as a v1 Status."""

    def __init__(
        self, code: int, reason: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details

    def status(self) -> dict[str, Any]:
        """The Status object the API server answers."""
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            body["details"] = self.details
        return body


class FakeKubernetes(LocalServer):
    """Deployments and StatefulSets in memory, recording every write."""

    log_name = "fake_kubernetes"

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, tokens: tuple[str, ...] = (DEFAULT_TOKEN,)
    ) -> None:
        super().__init__(host, port)
        self.tokens = tokens
        self._lock = threading.Lock()
        self._objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self._conflicts = 0
        self.writes: list[dict[str, Any]] = []  # accepted PATCH/PUT: method, path, body

    def add(
        self, namespace: str, name: str, *, replicas: int = 3, kind: str = "deployments"
    ) -> None:
        """A workload with a pod template and `replicas`."""
        with self._lock:
            self._objects[(namespace, kind, name)] = {
                "apiVersion": "apps/v1",
                "kind": KINDS[kind],
                "metadata": {
                    "name": name,
                    "namespace": namespace,
                    "uid": f"uid-{namespace}-{name}",
                    "resourceVersion": "100",
                    "generation": 1,
                },
                "spec": {
                    "replicas": replicas,
                    "selector": {"matchLabels": {"app": name}},
                    "template": {
                        "metadata": {"labels": {"app": name}, "annotations": {}},
                        "spec": {"containers": [{"name": name, "image": f"{name}:1"}]},
                    },
                },
                "status": {"observedGeneration": 1, "replicas": replicas},
            }

    def get(self, namespace: str, name: str, kind: str = "deployments") -> dict[str, Any]:
        """A copy of the stored object."""
        with self._lock:
            return copy.deepcopy(self._objects[(namespace, kind, name)])

    def conflict_next(self, count: int = 1) -> None:
        """Another writer changes the object before each of the next `count` scale PUTs."""
        with self._lock:
            self._conflicts += count

    def handle(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Reply:
        """Route one request; errors are Status objects."""
        headers = {k.lower(): v for k, v in headers.items()}
        try:
            body = self._route(method, path, headers, raw)
            status = 200
        except KubeError as exc:
            body, status = exc.status(), exc.code
        log = {"path": path, "error": "" if status == 200 else body.get("message", "")}
        return Reply(status, json.dumps(body).encode(), log=log)

    def _route(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> dict[str, Any]:
        self._authenticate(headers.get("authorization", ""))
        match = _PATH.match(path)
        if match is None:
            raise KubeError(404, "NotFound", "the server could not find the requested resource")
        namespace, kind, name, scale = match.groups()
        with self._lock:
            obj = self._objects.get((namespace, kind, name))
            if obj is None:
                raise KubeError(
                    404,
                    "NotFound",
                    f'{kind}.apps "{name}" not found',
                    {"name": name, "group": "apps", "kind": kind},
                )
            if method == "GET":
                return _scale_of(obj) if scale else copy.deepcopy(obj)
            if method == "PATCH" and not scale:
                result = self._patch(obj, headers.get("content-type", ""), raw)
            elif method == "PUT" and scale:
                result = self._put_scale(obj, kind, raw)
            else:
                raise KubeError(405, "MethodNotAllowed", f"{method} is not supported here")
            self.writes.append({"method": method, "path": path, "body": json.loads(raw)})
            return result

    def _authenticate(self, header: str) -> None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or token.strip() not in self.tokens:
            raise KubeError(401, "Unauthorized", "Unauthorized")

    def _patch(self, obj: dict[str, Any], content_type: str, raw: bytes) -> dict[str, Any]:
        media = content_type.split(";")[0].strip().lower()
        if media not in ("application/strategic-merge-patch+json", "application/merge-patch+json"):
            accepted = ", ".join(PATCH_TYPES)
            raise KubeError(
                415,
                "UnsupportedMediaType",
                "the body of the request was in an unknown format - accepted media types "
                f"include: {accepted}",
            )
        patch = _object(raw)
        patched = merge_patch(obj, patch)  # maps merge alike; lists are not touched here
        spec = patched.get("spec")
        template = spec.get("template") if isinstance(spec, dict) else None
        if not isinstance(template, dict) or not isinstance(template.get("metadata", {}), dict):
            raise _invalid(obj, "spec.template", "must be an object")
        if not isinstance(template.get("metadata", {}).get("annotations", {}), dict):
            raise _invalid(obj, "spec.template.metadata.annotations", "must be a map")
        if patched["spec"].get("template") != obj["spec"].get("template"):
            patched["metadata"]["generation"] = obj["metadata"]["generation"] + 1
        obj.update(patched)
        _bump(obj)
        obj["status"]["observedGeneration"] = obj["metadata"]["generation"]
        return copy.deepcopy(obj)

    def _put_scale(self, obj: dict[str, Any], kind: str, raw: bytes) -> dict[str, Any]:
        if self._conflicts:
            self._conflicts -= 1
            _bump(obj)  # a concurrent writer got there first
        body = _object(raw)
        meta = body.get("metadata")
        given = meta.get("resourceVersion") if isinstance(meta, dict) else None
        if given and given != obj["metadata"]["resourceVersion"]:
            name = obj["metadata"]["name"]
            raise KubeError(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {kind}.apps "{name}": the object has been '
                "modified; please apply your changes to the latest version and try again",
                {"name": name, "group": "apps", "kind": kind},
            )
        spec = body.get("spec")
        replicas = spec.get("replicas") if isinstance(spec, dict) else None
        if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
            raise _invalid(
                obj,
                "spec.replicas",
                f"Invalid value: {json.dumps(replicas)}: must be greater than or equal to 0",
                "Scale.autoscaling",
            )
        obj["spec"]["replicas"] = replicas
        obj["status"]["replicas"] = replicas
        _bump(obj)
        return _scale_of(obj)


def _scale_of(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj["metadata"]
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion")},
        "spec": {"replicas": obj["spec"]["replicas"]},
        "status": {"replicas": obj["status"]["replicas"], "selector": f"app={meta['name']}"},
    }


def _invalid(obj: dict[str, Any], field: str, problem: str, what: str = "") -> KubeError:
    name = obj["metadata"]["name"]
    what = what or f"{obj['kind']}.apps"
    cause = {"reason": "FieldValueInvalid", "message": problem, "field": field}
    return KubeError(
        422,
        "Invalid",
        f'{what} "{name}" is invalid: {field}: {problem}',
        {"name": name, "group": "apps", "kind": obj["kind"].lower() + "s", "causes": [cause]},
    )


def _bump(obj: dict[str, Any]) -> None:
    meta = obj["metadata"]
    meta["resourceVersion"] = str(int(meta["resourceVersion"]) + 1)


def _object(raw: bytes) -> dict[str, Any]:
    body = json_object(raw)
    if body is None:
        raise KubeError(400, "BadRequest", "the request body must be a JSON object")
    return body
