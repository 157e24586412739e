"""Composition root of the notifier."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter

from cc.events import Serde
from cc.kafka import ConsumerLoop, EventProducer, LoopConfig
from cc.kafka.metrics import ConsumerMetrics
from cc.kafka.topics import dead_letter_topic
from cc.platform.runtime import (
    consumer_overrides,
    make_serde,
    run_loops_service,
    start_platform,
)
from notifier.adapters.pagerduty import PagerDutyEventsSender
from notifier.adapters.routing_file import load_routing
from notifier.adapters.slack import SlackWebhookSender
from notifier.adapters.slack_chat import SlackChatSender
from notifier.adapters.teams import TeamsWebhookSender
from notifier.composers import (
    Composer,
    PagerDutyComposer,
    SlackComposer,
    SlackThreadComposer,
    TeamsComposer,
)
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
SECRET_KIND = {
    "slack": "the Slack incoming-webhook URL",
    "slack_bot": "the Slack bot token",
    "pagerduty": "the PagerDuty routing key",
    "teams": "the Teams webhook URL",
}


def cli() -> None:
    """Run the service until SIGTERM."""
    settings = Settings()
    start_platform(SERVICE, settings)
    if settings.routing_file is None:
        routing, topics = default_routing(settings), [TOPICS["incident_opened"]]
    else:
        routing, topics = load_routing(settings.routing_file), list(TOPICS.values())
    senders = {name: sender_for(d, settings) for name, d in routing.destinations.items()}
    composers = {name: composer_for(d, settings) for name, d in routing.destinations.items()}
    serde = make_serde(settings.schema_registry_url)
    sent_keys = KafkaSentKeys(
        settings.kafka_bootstrap, serde, SENT, timeout_s=settings.delivery_log_timeout_s
    )
    known = sent_keys.read()  # before consuming: a key sent before a crash must be known then
    unsure = sum(1 for status in known.values() if status == SENDING)
    log.info(
        "delivery log loaded",
        extra={
            "keys": len(known),
            "sending_without_outcome": unsure,
            "slack_threads": len(sent_keys.threads),
        },
    )
    registry = CollectorRegistry()
    skipped = Counter(
        "notifier_skipped_total",
        "Notifications not sent because the delivery log already holds their key, by status",
        ["status"],
        registry=registry,
    )
    producer = EventProducer(settings.kafka_bootstrap, serde, client_id=SERVICE, registry=registry)
    metrics = ConsumerMetrics(registry)  # once per registry: shared by the loops
    loops: list[ConsumerLoop] = []
    for name, destination in routing.destinations.items():
        # each destination gets its own view of the log (its keys start with its type and name)
        prefix = f"{destination.type}:{name}:"
        notifier = Notifier(
            {name: senders[name]},
            routing,
            delivery_log=KafkaDeliveryLog(producer, SENT),
            known={k: v for k, v in known.items() if k.startswith(prefix)},
            clock=lambda: datetime.now(UTC),
            on_skip=lambda status: skipped.labels(status).inc(),
            composers={name: composers[name]},
            threads={k: v for k, v in sent_keys.threads.items() if k.startswith(prefix)},
        )
        # without a routing file the one destination keeps the base group (and its position)
        group = None if settings.routing_file is None else name
        loops.append(destination_loop(settings, serde, producer, metrics, topics, group, notifier))
    del known  # split among the loops: not kept twice
    run_loops_service(
        SERVICE, loops, registry=registry, host=settings.http_host, port=settings.http_port
    )


def destination_loop(
    settings: Settings,
    serde: Serde,
    producer: EventProducer,
    metrics: ConsumerMetrics,
    topics: list[str],
    destination: str | None,
    notifier: Notifier,
) -> ConsumerLoop:
    """One destination's consumer loop: its own group `<base>.<destination>`, so its own
    commit position, and a slow or failing destination holds up no other."""
    base = settings.consumer_group or SERVICE
    config = LoopConfig(
        service=SERVICE,
        group_id=base if destination is None else f"{base}.{destination}",
        topics=topics,
        dead_letter_topic=dead_letter_topic(SERVICE),
        bootstrap=settings.kafka_bootstrap,
        batch_size=settings.consumer_batch_size,
        consumer_config=consumer_overrides(settings),
    )
    return ConsumerLoop(config, serde, producer, handler=notifier.on_event, metrics=metrics)


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


def secret_of(destination: Destination, settings: Settings) -> str:
    """The secret named by a destination's `settings`; a missing one stops the notifier."""
    if destination.settings == SLACK_URL_SETTING and settings.slack_webhook_url is not None:
        return settings.slack_webhook_url.get_secret_value()
    if not (secret := os.environ.get(destination.settings, "")):
        what = SECRET_KIND[destination.type]
        raise SystemExit(
            f"destination {destination.name}: {destination.settings} is not set ({what})"
        )
    return secret


def sender_for(destination: Destination, settings: Settings) -> ChatSender:
    """The throttled sender of a destination; its secret is read from the named setting."""
    sender: ChatSender
    if destination.type == "pagerduty":
        secret_of(destination, settings)  # checked now: the composer puts it in the body
        sender = PagerDutyEventsSender(
            settings.pagerduty_base_url,
            max_attempts=settings.pagerduty_max_attempts,
            timeout=settings.pagerduty_timeout_s,
            backoff_s=settings.pagerduty_backoff_s,
            max_backoff_s=settings.pagerduty_max_backoff_s,
        )
    elif destination.type == "teams":
        sender = TeamsWebhookSender(
            secret_of(destination, settings),
            max_attempts=settings.teams_max_attempts,
            timeout=settings.teams_timeout_s,
            backoff_s=settings.teams_backoff_s,
            max_backoff_s=settings.teams_max_backoff_s,
        )
    elif destination.type == "slack_bot":
        sender = SlackChatSender(
            secret_of(destination, settings),
            api_url=settings.slack_api_url,
            max_attempts=settings.slack_max_attempts,
            timeout=settings.slack_timeout_s,
            backoff_s=settings.slack_backoff_s,
            max_backoff_s=settings.slack_max_backoff_s,
        )
    else:
        sender = SlackWebhookSender(
            secret_of(destination, settings),
            max_attempts=settings.slack_max_attempts,
            timeout=settings.slack_timeout_s,
            backoff_s=settings.slack_backoff_s,
            max_backoff_s=settings.slack_max_backoff_s,
        )
    return ThrottledSender(sender, TokenBucket(destination.rate_per_s, destination.burst))


def composer_for(destination: Destination, settings: Settings) -> Composer:
    """What the destination's type is sent; PagerDuty events carry the routing key."""
    if destination.type == "pagerduty":
        return PagerDutyComposer(
            secret_of(destination, settings),
            trace_url_template=settings.trace_url_template,
            audit_url_template=settings.audit_url_template,
        )
    if destination.type == "teams":
        return TeamsComposer()
    if destination.type == "slack_bot":
        return SlackThreadComposer(destination.channel)
    return SlackComposer()
