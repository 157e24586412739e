"""The rules as a consumer loop: events in, ComplianceViolationFound out, state in Kafka."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from cc.events import ComplianceViolationFound, Serde, deterministic_id, new_metadata
from cc.kafka import ConsumerLoop, ConsumerMetrics, EventProducer, Outgoing, Received
from cc.kafka.state import KafkaStateStore
from cc.platform.runtime import loop_config
from cc.platform.settings import ServiceSettings
from compliance_auditor.rules.cases import Violation
from compliance_auditor.rules.config import load_rules
from compliance_auditor.rules.engine import RuleEngine

SERVICE = "compliance-auditor"
GROUP_SUFFIX = ".rules"  # the group is compliance-auditor.rules unless CC_CONSUMER_GROUP is set
STATE_TOPIC = "compliance-auditor.state.rules.v1"
VIOLATIONS_TOPIC = "compliance.compliance-violation-found.v1"
RULES_TOPICS = [
    "deployments.deployment-observed.v1",
    "incidents.incident-opened.v1",
    "incidents.incident-updated.v1",
    "incidents.incident-resolved.v1",
    "remediation.remediation-planned.v1",
    "remediation.remediation-decided.v1",
    "remediation.remediation-executed.v1",
]
DEFAULT_RULES = "deploy/compliance-auditor/rules.yaml"
# Deadlines are judged on an event-time clock: the oldest "latest event time" among the input
# partitions that delivered something in the last IDLE_AFTER_S seconds (a backlog on one topic
# holds the clock back, so an acknowledgement still queued there is not judged missing), and the
# wall clock once every partition has been quiet that long (caught up). Deadlines are minutes:
# judging them half a minute late costs nothing, a false violation on a loaded host would.
# The same holds right after a start: until the loop has run that long, joining the group and
# fetching a backlog may still be under way, so no deadline is judged on the wall clock yet.
IDLE_AFTER_S = 30.0


def violation_event(v: Violation) -> ComplianceViolationFound:
    """The event for a violation; its id derives from the violation id (replays repeat it)."""
    return ComplianceViolationFound(
        metadata=new_metadata(
            SERVICE,
            occurred_at=v.at,
            event_id=deterministic_id("compliance-violation-found", v.violation_id),
            incident_id=v.incident_id,
        ),
        violation_id=v.violation_id,
        rule_id=v.rule_id,
        severity=v.severity,
        description=v.description,
        service=v.service,
        environment=v.environment,
        evidence_event_ids=list(v.evidence),
    )


class RulesHandler:
    """Feeds events and ticks to the engine and turns its violations into events."""

    def __init__(
        self,
        engine: RuleEngine,
        *,
        idle_after: float = IDLE_AFTER_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.idle_after = idle_after
        self.monotonic = monotonic
        self._latest: dict[tuple[str, int], tuple[datetime, float]] = {}
        self._started = monotonic()

    def on_event(self, item: Received) -> list[Outgoing]:
        """Evaluate one event."""
        at = item.event.metadata.occurred_at
        where = (item.topic, item.partition)
        seen = self._latest.get(where)
        self._latest[where] = (at if seen is None else max(seen[0], at), self.monotonic())
        return [self._outgoing(v, item) for v in self.engine.on_event(item.event)]

    def clock(self, now: datetime) -> datetime | None:
        """The time deadlines are judged at (see IDLE_AFTER_S); None: not judged yet."""
        quiet_since = self.monotonic() - self.idle_after
        busy = [at for at, seen in self._latest.values() if seen > quiet_since]
        if self._started <= quiet_since:
            busy.append(now)
        return min(busy, default=None)

    def tick(self, now: datetime) -> list[Outgoing]:
        """Fire the deadlines that passed."""
        clock = self.clock(now)
        if clock is None:
            return []  # just started: the backlog (answers included) may not be fetched yet
        return [self._outgoing(v, None) for v in self.engine.on_clock(clock)]

    def _outgoing(self, v: Violation, cause: Received | None) -> Outgoing:
        return Outgoing(VIOLATIONS_TOPIC, v.rule_id, violation_event(v), cause)


def rules_path(configured: Path | None) -> Path:
    """The configured rules file, or the one shipped in the repository."""
    if configured is not None:
        return configured
    for parent in Path(__file__).resolve().parents:
        if (parent / DEFAULT_RULES).is_file():
            return parent / DEFAULT_RULES
    raise FileNotFoundError(f"{DEFAULT_RULES} not found: set COMPLIANCE_AUDITOR_RULES_FILE")


def build_rules_loop(
    settings: ServiceSettings,
    *,
    producer: EventProducer,
    serde: Serde,
    metrics: ConsumerMetrics,
    rules_file: Path | None = None,
    group_id: str | None = None,
    state_topic: str = STATE_TOPIC,
    tick_interval: float = 1.0,
    idle_after: float = IDLE_AFTER_S,
) -> ConsumerLoop:
    """The rules loop, its state loaded from Kafka (raises on an invalid rules file).

    Group: `group_id`, else `<CC_CONSUMER_GROUP or compliance-auditor>.rules`.
    """
    engine_config = load_rules(rules_path(rules_file))
    store = KafkaStateStore(settings.kafka_bootstrap, state_topic, producer)
    store.load()
    handler = RulesHandler(RuleEngine(engine_config, store), idle_after=idle_after)
    return ConsumerLoop(
        loop_config(
            SERVICE,
            settings,
            topics=RULES_TOPICS,
            group_id=group_id or f"{settings.consumer_group or SERVICE}{GROUP_SUFFIX}",
        ),
        serde,
        producer,
        handler=handler.on_event,
        metrics=metrics,
        before_commit=store.flush,
        tick=handler.tick,
        tick_interval=tick_interval,
    )
