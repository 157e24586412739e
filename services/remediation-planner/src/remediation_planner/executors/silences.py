"""Alertmanager silences (contracts.md §2.2): created for a plan, expired when the incident ends.

The comment carries a marker with the execution id, so a silence created just before a crash
is found again (GET /api/v2/silences) instead of being created twice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import orjson

from cc.kafka import RetryableError
from remediation_planner.executors.http import ActionError, JsonApi
from remediation_planner.executors.records import FAILED, SUCCEEDED, Plan, Progress


def marker(execution_id: str) -> str:
    """The tag in a silence's comment that names the execution that created it."""
    return f"[cc-execution {execution_id}]"


def parse_matchers(text: str) -> list[dict[str, Any]]:
    """Alertmanager v2 matchers from the plan's JSON; ActionError naming what is wrong."""
    try:
        matchers = orjson.loads(text or "null")
    except orjson.JSONDecodeError as exc:
        raise ActionError(f"parameters.matchers is not JSON: {exc}") from None
    if not isinstance(matchers, list) or not matchers:
        raise ActionError("parameters.matchers must be a non-empty JSON list")
    result = []
    for i, m in enumerate(matchers):
        if not isinstance(m, dict) or not all(isinstance(m.get(k), str) for k in ("name", "value")):
            raise ActionError(f"parameters.matchers[{i}] needs string name and value")
        result.append(
            {
                "name": m["name"],
                "value": m["value"],
                "isRegex": bool(m.get("isRegex", False)),
                "isEqual": bool(m.get("isEqual", True)),
            }
        )
    return result


class SilenceExecutor:
    """Creates and expires silences through Alertmanager's API v2."""

    def __init__(self, api: JsonApi, clock: Callable[[], datetime]) -> None:
        self.api = api
        self.clock = clock

    def create(self, plan: Plan, p: Progress) -> str:
        """POST /api/v2/silences once per execution; returns the final status."""
        matchers = parse_matchers(plan.parameters.get("matchers", ""))
        execution_id = p.execution.execution_id
        tag = marker(execution_id)
        if p.data.get("silence_requested"):
            found = self._find(tag)
            if found is not None:
                p.data["silence_id"] = found
                p.step("create_silence", None, {"silenceID": found}, "found on resume")
                return p.finish(SUCCEEDED, f"silence {found} (created before a restart)")
        minutes = float(plan.parameters.get("duration_minutes", "60"))
        now = self.clock()
        comment = plan.parameters.get("comment") or f"incident {plan.incident_id}"
        body = {
            "matchers": matchers,
            "startsAt": _rfc3339(now),
            "endsAt": _rfc3339(now + timedelta(minutes=minutes)),
            "createdBy": plan.parameters.get("created_by") or "remediation-planner",
            "comment": f"{comment} {tag}",
        }
        p.data["silence_requested"] = True
        p.save()
        status, answer = self.api.call("POST", "/api/v2/silences", body)
        p.step("create_silence", status, answer)
        if status != 200 or not isinstance(answer, dict) or "silenceID" not in answer:
            return p.finish(FAILED, f"Alertmanager refused the silence: {status} {answer}")
        p.data["silence_id"] = answer["silenceID"]
        p.data["silence"] = {k: body[k] for k in ("matchers", "startsAt", "endsAt", "createdBy")}
        return p.finish(SUCCEEDED, f"silence {answer['silenceID']} until {body['endsAt']}")

    def _find(self, tag: str) -> str | None:
        status, silences = self.api.call("GET", "/api/v2/silences")
        if status != 200 or not isinstance(silences, list):
            raise ActionError(f"listing silences: {status}")
        for silence in silences:
            expired = silence.get("status", {}).get("state") == "expired"
            if tag in str(silence.get("comment", "")) and not expired:
                return str(silence["id"])
        return None

    def expire(self, silence_id: str) -> tuple[int, Any]:
        """DELETE /api/v2/silence/{id}; unknown (404, or 500 "silence not found" before
        Alertmanager 0.26) counts as done; other 5xx are retried."""
        path = f"/api/v2/silence/{silence_id}"
        status, answer = self.api.call("DELETE", path, allow_5xx=True)
        gone = status == 404 or (status == 500 and "not found" in str(answer))
        if status >= 500 and not gone:
            raise RetryableError(f"DELETE {path}: {status} {answer}")
        if status != 200 and not gone:
            raise ActionError(f"expiring silence {silence_id}: {status} {answer}")
        return status, answer


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
