"""Composition root of the notifier."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter

from cc.kafka import EventProducer
from cc.platform.runtime import make_serde, serve_consumer, start_platform
from notifier.adapters.routing_file import load_routing
from notifier.adapters.slack import SlackWebhookSender
from notifier.config import Settings
from notifier.delivery_log import KafkaDeliveryLog, KafkaSentKeys
from notifier.domain.routing import Criteria, Destination, Routing, Rule
from notifier.domain.token_bucket import TokenBucket
from notifier.handlers import SENDING, SENT, SERVICE, Notifier
from notifier.notices import TOPICS
from notifier.ports import ChatSender
from notifier.throttle import ThrottledSender

log = logging.getLogger(__name__)
SLACK_URL_SETTING = "NOTIFIER_SLACK_WEBHOOK_URL"


def cli() -> None:
    """Run the service until SIGTERM."""
    settings = Settings()  # type: ignore[call-arg]  # required fields come from the environment
    start_platform(SERVICE, settings)
    if settings.routing_file is None:
        routing, topics = default_routing(settings), [TOPICS["incident_opened"]]
    else:
        routing, topics = load_routing(settings.routing_file), list(TOPICS.values())
    senders = {name: sender_for(d, settings) for name, d in routing.destinations.items()}
    serde = make_serde(settings.schema_registry_url)
    known = KafkaSentKeys(
        settings.kafka_bootstrap, serde, SENT, timeout_s=settings.delivery_log_timeout_s
    ).read()  # before consuming: a key sent before a crash must be known before it comes again
    unsure = sum(1 for status in known.values() if status == SENDING)
    log.info("delivery log loaded", extra={"keys": len(known), "sending_without_outcome": unsure})
    registry = CollectorRegistry()
    skipped = Counter(
        "notifier_skipped_total",
        "Notifications not sent because the delivery log already holds their key, by status",
        ["status"],
        registry=registry,
    )
    producer = EventProducer(settings.kafka_bootstrap, serde, client_id=SERVICE, registry=registry)
    notifier = Notifier(
        senders,
        routing,
        delivery_log=KafkaDeliveryLog(producer, SENT),
        known=known,
        clock=lambda: datetime.now(UTC),
        on_skip=lambda status: skipped.labels(status).inc(),
    )
    serve_consumer(
        SERVICE,
        settings,
        topics=topics,
        port=settings.http_port,
        handler=notifier.on_event,
        registry=registry,
        producer=producer,
    )


def default_routing(settings: Settings) -> Routing:
    """Without a routing file: every IncidentOpened to the one Slack webhook."""
    slack = Destination(
        settings.slack_channel_name,
        "slack",
        SLACK_URL_SETTING,
        rate_per_s=settings.slack_rate_per_s,
        burst=settings.slack_burst,
    )
    rule = Rule("incidents", Criteria(kinds=frozenset({"incident_opened"})), (slack.name,))
    return Routing({slack.name: slack}, (rule,))


def sender_for(destination: Destination, settings: Settings) -> ChatSender:
    """The throttled sender of a destination; its secret is read from the named setting."""
    if destination.type != "slack":
        # PagerDuty and Teams adapters are not wired yet: refuse rather than drop silently
        raise SystemExit(f"destination {destination.name}: type {destination.type} not supported")
    if destination.settings == SLACK_URL_SETTING:
        url = settings.slack_webhook_url.get_secret_value()
    elif not (url := os.environ.get(destination.settings, "")):
        raise SystemExit(f"destination {destination.name}: {destination.settings} is not set")
    slack = SlackWebhookSender(
        url, max_attempts=settings.slack_max_attempts, timeout=settings.slack_timeout_s
    )
    return ThrottledSender(slack, TokenBucket(destination.rate_per_s, destination.burst))
