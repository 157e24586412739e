"""Composition root of the anomaly-detector."""

from __future__ import annotations

from anomaly_detector.config import Settings
from anomaly_detector.handlers import SERVICE, on_alert_received
from cc.platform.runtime import serve_consumer, start_platform


def cli() -> None:
    """Run the service until SIGTERM."""
    settings = Settings()
    start_platform(SERVICE, settings)
    serve_consumer(
        SERVICE,
        settings,
        topics=["alerts.alert-received.v1"],
        port=settings.http_port,
        handler=on_alert_received,
    )
