"""Composition root of the notifier."""

from __future__ import annotations

from cc.platform.runtime import serve_consumer, start_platform
from notifier.adapters.slack import SlackWebhookSender
from notifier.config import Settings
from notifier.handlers import SERVICE, Notifier


def cli() -> None:
    """Run the service until SIGTERM."""
    settings = Settings()  # type: ignore[call-arg]  # required fields come from the environment
    start_platform(SERVICE, settings)
    slack = SlackWebhookSender(
        settings.slack_webhook_url.get_secret_value(),
        max_attempts=settings.slack_max_attempts,
        timeout=settings.slack_timeout_s,
    )
    notifier = Notifier(slack, destination=settings.slack_channel_name)
    serve_consumer(
        SERVICE,
        settings,
        topics=["incidents.incident-opened.v1"],
        port=settings.http_port,
        handler=notifier.on_incident_opened,
    )
