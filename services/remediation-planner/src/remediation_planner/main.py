"""Composition root of the remediation-planner."""

from __future__ import annotations

from cc.platform.runtime import serve_consumer, start_platform
from remediation_planner.config import Settings
from remediation_planner.domain.incidents import IncidentBook
from remediation_planner.handlers import SERVICE, Planner


def cli() -> None:
    """Run the service until SIGTERM."""
    settings = Settings()
    start_platform(SERVICE, settings)
    planner = Planner(IncidentBook())
    serve_consumer(
        SERVICE,
        settings,
        topics=["anomalies.anomaly-detected.v1"],
        port=settings.http_port,
        handler=planner.on_anomaly_detected,
    )
