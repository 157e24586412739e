"""Argo CD notifications as the shipped template sends them (deploy/argocd), for tests and the
demo: the `on-deployed` body of an application, posted to the ingestor."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx


def on_deployed(
    app: str,
    namespace: str,
    revision: str,
    history: list[str],
    *,
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The notification body after `app` synced `revision` (the last entry of `history`)."""
    now = datetime.now(UTC).isoformat()
    return {
        "version": 1,
        "trigger": "on-deployed",
        "sentAt": now,
        "app": {
            "metadata": {"name": app, "namespace": "argocd", "labels": dict(labels or {})},
            "spec": {
                "project": "default",
                "destination": {"server": "https://kubernetes.default.svc", "namespace": namespace},
            },
            "status": {
                "sync": {"status": "Synced", "revision": revision},
                "health": {"status": "Healthy"},
                "operationState": {
                    "phase": "Succeeded",
                    "startedAt": now,
                    "finishedAt": now,
                    "syncResult": {"revision": revision},
                },
                "history": [
                    {"id": i, "revision": r, "deployedAt": now} for i, r in enumerate(history, 1)
                ],
            },
        },
    }


def post_notification(ingestor_url: str, token: str, body: dict[str, Any]) -> httpx.Response:
    """POST the body to the ingestor's Argo CD webhook; the response says whether Kafka has it."""
    return httpx.post(
        f"{ingestor_url}/webhooks/argocd",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
