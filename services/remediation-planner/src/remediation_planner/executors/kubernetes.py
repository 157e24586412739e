"""Kubernetes actions: rollout restart (pod template annotation) and scale (scale subresource)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from remediation_planner.executors.http import ActionError, JsonApi
from remediation_planner.executors.records import FAILED, SKIPPED, SUCCEEDED, Plan, Progress

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
RESOURCES = {"Deployment": "deployments", "StatefulSet": "statefulsets"}
SMP = "application/strategic-merge-patch+json"
CONFLICT_RETRIES = 5


class KubernetesExecutor:
    """Runs `k8s_restart` and `k8s_scale` plans against one Kubernetes API server."""

    def __init__(self, api: JsonApi, clock: Callable[[], datetime]) -> None:
        self.api = api
        self.clock = clock

    def _path(self, plan: Plan, suffix: str = "") -> str:
        kind = plan.target.get("kind", "Deployment")
        if kind not in RESOURCES:
            raise ActionError(f"target.kind {kind!r} is not one of {sorted(RESOURCES)}")
        namespace, name = plan.target["namespace"], plan.target["name"]
        return f"/apis/apps/v1/namespaces/{namespace}/{RESOURCES[kind]}/{name}{suffix}"

    def _read(self, plan: Plan, p: Progress, path: str, step: str) -> dict[str, Any]:
        status, obj = self.api.call("GET", path)
        if status != 200 or not isinstance(obj, dict):
            p.step(step, status, obj)
            raise ActionError(f"{step}: {status} {_message(obj)}")
        return obj

    def restart(self, plan: Plan, p: Progress) -> str:
        """`kubectl rollout restart`: set the restartedAt annotation once per execution."""
        path = self._path(plan)
        if "restarted_at" not in p.data:
            # the value is chosen and recorded before patching: a retry finds it on the object
            p.data["restarted_at"] = self.clock().strftime("%Y-%m-%dT%H:%M:%SZ")
            p.save()
        stamp = p.data["restarted_at"]
        obj = self._read(plan, p, path, "read")
        annotations = obj["spec"]["template"].get("metadata", {}).get("annotations") or {}
        if annotations.get(RESTARTED_AT) == stamp:
            p.step("restart", None, None, f"pod template already has restartedAt={stamp}")
            return p.finish(SUCCEEDED, "restarted (found done on resume)")
        patch = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}}
        status, answer = self.api.call("PATCH", path, patch, content_type=SMP)
        summary = _summary(answer) if status == 200 else answer
        p.step("restart", status, summary)
        if status != 200:
            return p.finish(FAILED, f"patch refused: {status} {_message(answer)}")
        return p.finish(SUCCEEDED, f"rollout restart requested at {stamp}")

    def scale(self, plan: Plan, p: Progress) -> str:
        """Set spec.replicas through the scale subresource, retrying write conflicts."""
        try:
            replicas = int(plan.parameters.get("replicas", ""))
        except ValueError:
            return p.finish(FAILED, "k8s_scale needs an integer parameters.replicas")
        path = self._path(plan, "/scale")
        for attempt in range(1, CONFLICT_RETRIES + 1):
            scale = self._read(plan, p, path, "read_scale")
            current = scale.get("spec", {}).get("replicas")
            if current == replicas:
                p.step("read_scale", 200, {"replicas": current})
                if p.data.get("scaled_from") is not None:
                    return p.finish(SUCCEEDED, f"scaled to {replicas} (found done on resume)")
                return p.finish(SKIPPED, f"already at {replicas} replicas")
            p.data.setdefault("scaled_from", current)
            p.save()
            scale["spec"] = {"replicas": replicas}
            status, answer = self.api.call("PUT", path, scale)
            p.step("scale", status, _summary(answer) if status == 200 else answer)
            if status == 200:
                return p.finish(SUCCEEDED, f"scaled from {current} to {replicas}")
            if status != 409:
                return p.finish(FAILED, f"scale refused: {status} {_message(answer)}")
            p.step("conflict", 409, None, f"attempt {attempt}: re-reading the latest version")
        return p.finish(FAILED, f"scale kept conflicting after {CONFLICT_RETRIES} attempts")


def _summary(obj: Any) -> Any:
    if not isinstance(obj, dict):
        return obj
    meta = obj.get("metadata", {})
    return {
        "kind": obj.get("kind"),
        "resourceVersion": meta.get("resourceVersion"),
        "generation": meta.get("generation"),
        "replicas": obj.get("spec", {}).get("replicas"),
    }


def _message(obj: Any) -> str:
    return str(obj.get("message", obj)) if isinstance(obj, dict) else str(obj)
