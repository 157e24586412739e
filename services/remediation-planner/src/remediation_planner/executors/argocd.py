"""Argo CD actions: the GitOps-safe rollback (contracts.md §4.3) and sync to a revision.

Rollback, one checkpoint per step so a crash resumes where it stopped:
read (record the sync policy, choose the history id) -> disable auto-sync -> roll back (unless
the app already runs or is moving to that revision) -> wait for healthy (deadline) -> restore
the recorded policy or leave it off, as the plan says. Auto-sync stays off whenever the
rollback did not end healthy: turning it back on would re-apply the suspect commit.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from remediation_planner.executors.http import ActionError, JsonApi
from remediation_planner.executors.records import FAILED, SKIPPED, SUCCEEDED, Plan, Progress

UNHEALTHY = {"Degraded", "Missing"}
MAX_WAIT_S = 600.0
"""Longest wait for healthy; the execution loop's max.poll.interval.ms is set above it."""
FAILED_PHASES = {"Failed", "Error"}
HealthLookup = Callable[[str], Mapping[str, str]]
"""application -> {revision: last observed health or phase}."""


def automated_on(automated: Any) -> bool:
    """Auto-sync on: `automated` present and `enabled` not false (IsAutomatedSyncEnabled)."""
    return isinstance(automated, dict) and automated.get("enabled") is not False


def choose_history_id(
    history: list[dict[str, Any]], suspect: str, observed: Mapping[str, str]
) -> dict[str, Any] | None:
    """The newest entry deployed before the suspect's first deploy, not the suspect revision,
    and not seen unhealthy; None if there is none."""
    suspect_ids = [int(h["id"]) for h in history if h.get("revision") == suspect]
    if not suspect_ids:
        return None
    first = min(suspect_ids)
    candidates = [
        h
        for h in history
        if int(h["id"]) < first
        and h.get("revision") != suspect
        and observed.get(str(h.get("revision")), "Healthy") not in UNHEALTHY | FAILED_PHASES
    ]
    return max(candidates, key=lambda h: int(h["id"]), default=None)


def wait_seconds(plan: Plan) -> float:
    """`wait_healthy_seconds`, at most MAX_WAIT_S (the loop must poll Kafka again in time)."""
    text = plan.parameters.get("wait_healthy_seconds", "300")
    try:
        seconds = float(text)
    except ValueError:
        raise ActionError(f"parameters.wait_healthy_seconds is not a number: {text!r}") from None
    return max(0.0, min(seconds, MAX_WAIT_S))


def at_or_moving_to(app: dict[str, Any], revision: str) -> bool:
    """The app runs `revision`, or an operation to it is running."""
    status = app.get("status", {})
    operation = status.get("operationState", {})
    going = operation.get("operation", {}).get("sync", {}).get("revision")
    if operation.get("phase") == "Running":
        return bool(going == revision)
    return bool(status.get("sync", {}).get("revision") == revision)


class ArgoCdExecutor:
    """Runs `argocd_rollback` and `argocd_sync` plans against one Argo CD API server."""

    def __init__(
        self,
        api: JsonApi,
        health: HealthLookup,
        *,
        poll_interval: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api = api
        self.health = health
        self.poll_interval = poll_interval
        self._sleep, self._monotonic = sleep, monotonic

    def _app_path(self, plan: Plan, suffix: str = "") -> str:
        return f"/api/v1/applications/{plan.target['application']}{suffix}"

    def _get(self, plan: Plan, p: Progress, step: str) -> dict[str, Any]:
        params = {"appNamespace": plan.target.get("argocd_namespace", "argocd")}
        status, app = self.api.call("GET", self._app_path(plan), params=params)
        if status != 200 or not isinstance(app, dict):
            p.step(step, status, app)
            raise ActionError(f"reading application {plan.target['application']}: {status}")
        return app

    def _patch_automated(self, plan: Plan, p: Progress, step: str, automated: Any) -> None:
        patch = orjson.dumps({"spec": {"syncPolicy": {"automated": automated}}}).decode()
        body = {
            "name": plan.target["application"],
            "appNamespace": plan.target.get("argocd_namespace", "argocd"),
            "patchType": "merge",
            "patch": patch,
        }
        status, answer = self.api.call("PATCH", self._app_path(plan), body)
        policy = answer.get("spec", {}).get("syncPolicy") if isinstance(answer, dict) else answer
        p.step(step, status, {"syncPolicy": policy} if status == 200 else answer)
        if status != 200:
            raise ActionError(f"{step}: Argo CD answered {status}")

    def rollback(self, plan: Plan, p: Progress) -> str:
        """The GitOps-safe rollback; returns the final status."""
        wait_seconds(plan)  # a bad parameter fails now, not after the rollback
        d = p.data
        if "recorded_automated" not in d:
            app = self._get(plan, p, "read")
            live = app.get("status", {}).get("sync", {}).get("revision", "")
            suspect = plan.parameters.get("suspect_revision", "")
            automated = app.get("spec", {}).get("syncPolicy", {}).get("automated")
            history = app.get("status", {}).get("history") or []
            p.step("read", 200, {"automated": automated, "live_revision": live})
            if live != suspect:
                return p.finish(SKIPPED, f"live revision is {live}, not the suspect {suspect}")
            observed = self.health(plan.target["application"])
            chosen = choose_history_id(history, suspect, observed)
            if chosen is None:
                return p.finish(FAILED, f"no healthy history entry deployed before {suspect}")
            d["recorded_automated"] = automated
            d["history_id"], d["rollback_revision"] = int(chosen["id"]), chosen["revision"]
            p.save()
        if not d.get("auto_sync_disabled"):
            if automated_on(d["recorded_automated"]):
                self._patch_automated(plan, p, "disable_auto_sync", None)
            d["auto_sync_disabled"] = True
            p.save()
        if not d.get("rolled_back"):
            self._roll_back_once(plan, p)
            d["rolled_back"] = True
            p.save()
        if not d.get("healthy"):
            if not self._wait_healthy(plan, p, d["rollback_revision"]):
                seconds = wait_seconds(plan)
                return p.finish(
                    FAILED,
                    f"not healthy on {d['rollback_revision']} within {seconds}s; "
                    "auto-sync left off",
                )
            d["healthy"] = True
            p.save()
        restore = plan.parameters.get("restore_auto_sync", "false") == "true"
        if restore and automated_on(d["recorded_automated"]):
            if not d.get("restored"):
                self._patch_automated(plan, p, "restore_auto_sync", d["recorded_automated"])
                d["restored"] = True
            reason = "rolled back, healthy; the recorded sync policy is restored"
        else:
            p.step("restore_auto_sync", None, None, "left off as the plan says")
            reason = "rolled back, healthy; auto-sync left off until Git is reverted"
        return p.finish(SUCCEEDED, reason)

    def _roll_back_once(self, plan: Plan, p: Progress) -> None:
        """POST rollback unless the app already runs, or moves to, the chosen revision."""
        revision = p.data["rollback_revision"]
        app = self._get(plan, p, "check_before_rollback")
        if at_or_moving_to(app, revision):
            p.step("rollback", None, None, f"already at or moving to {revision}: not repeated")
            return
        if automated_on(app.get("spec", {}).get("syncPolicy", {}).get("automated")):
            # someone turned auto-sync back on meanwhile: Argo CD would refuse the rollback
            self._patch_automated(plan, p, "disable_auto_sync_again", None)
        body = {
            "name": plan.target["application"],
            "appNamespace": plan.target.get("argocd_namespace", "argocd"),
            "id": p.data["history_id"],
            "prune": False,
            "dryRun": False,
        }
        code, answer = self.api.call("POST", self._app_path(plan, "/rollback"), body)
        phase = answer.get("status", {}).get("operationState", {}) if code == 200 else answer
        p.step("rollback", code, {"id": body["id"], "revision": revision, "answer": phase})
        if code != 200:
            raise ActionError(f"rollback refused: {code} {answer}")

    def _wait_healthy(self, plan: Plan, p: Progress, revision: str) -> bool:
        seconds = wait_seconds(plan)
        deadline = self._monotonic() + seconds
        polls = 0
        while True:
            app = self._get(plan, p, "wait_healthy")
            polls += 1
            status = app.get("status", {})
            health = status.get("health", {}).get("status")
            live = status.get("sync", {}).get("revision")
            phase = status.get("operationState", {}).get("phase")
            if health == "Healthy" and live == revision and phase != "Running":
                p.step("wait_healthy", 200, {"health": health, "revision": live, "polls": polls})
                return True
            if self._monotonic() >= deadline:
                p.step("wait_healthy", 200, {"health": health, "revision": live, "polls": polls})
                return False
            self._sleep(self.poll_interval)  # Argo CD has no push for this: poll with a deadline

    def sync(self, plan: Plan, p: Progress) -> str:
        """Sync to `parameters.revision` unless the app already runs it."""
        revision = plan.parameters.get("revision", "")
        wait_seconds(plan)
        if not revision:
            return p.finish(FAILED, "argocd_sync needs parameters.revision")
        if not p.data.get("synced"):
            app = self._get(plan, p, "read")
            live = app.get("status", {}).get("sync", {}).get("revision")
            p.step("read", 200, {"live_revision": live})
            if live == revision and not p.data.get("intent"):
                return p.finish(SKIPPED, f"already at {revision}")
            if at_or_moving_to(app, revision):
                p.step("sync", None, None, f"already at or moving to {revision}: not repeated")
            else:
                p.data["intent"] = "sync"
                p.save()
                self._sync_once(plan, p, revision)
            p.data["synced"] = True
            p.save()
        if not self._wait_healthy(plan, p, revision):
            return p.finish(FAILED, f"not healthy on {revision} in time")
        return p.finish(SUCCEEDED, f"synced to {revision}, healthy")

    def _sync_once(self, plan: Plan, p: Progress, revision: str) -> None:
        body = {
            "name": plan.target["application"],
            "appNamespace": plan.target.get("argocd_namespace", "argocd"),
            "revision": revision,
            "prune": False,
            "dryRun": False,
        }
        code, answer = self.api.call("POST", self._app_path(plan, "/sync"), body)
        p.step("sync", code, answer if code != 200 else {"revision": revision})
        if code != 200:
            raise ActionError(f"sync refused: {code} {answer}")
