"""What the executors keep in state: plans, decisions, executions and their progress.

Keys of the state store (`remediation-planner.state.executions.v1`):
`plan:<plan_id>`, `decision:<plan_id>`, `exec:<execution_id>`, `silences:<incident_id>`,
`health:<application>`. Values are JSON.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Protocol

import orjson
from confluent_kafka import Message

from cc.events import RemediationPlanned, deterministic_id
from cc.kafka import ProduceError, RetryableError


def state_topic(group: str) -> str:
    """`<consumer group>.state.executions.v1` (remediation-planner.state.executions.v1)."""
    return f"{group}.state.executions.v1"


RUNNING, SUCCEEDED, FAILED, SKIPPED = "running", "succeeded", "failed", "skipped"


class Store(Protocol):
    """The state store surface the executors use (cc.kafka.state)."""

    def get(self, key: str) -> bytes | None: ...

    def put(self, key: str, value: bytes | None) -> None: ...

    def flush(self) -> Sequence[Future[Message]]: ...

    def items(self) -> Iterator[tuple[str, bytes]]: ...


def observed_health(store: Store, application: str) -> dict[str, str]:
    """Last health (or failed operation phase) seen per revision of an application."""
    raw = store.get(f"health:{application}")
    result: dict[str, str] = {} if raw is None else orjson.loads(raw)
    return result


def execution_id_of(plan_id: str) -> str:
    """One execution per plan, whatever the number of retries or decisions."""
    return deterministic_id("execution", plan_id)


@dataclass(frozen=True)
class Plan:
    """The parts of a RemediationPlanned the executors and the API need."""

    plan_id: str
    incident_id: str
    action: str
    target: dict[str, str]
    parameters: dict[str, str]
    gate: str
    gate_rule: str
    proposer: str
    rationale: str
    planned_at: str
    expires_at: str | None = None
    event_id: str = ""

    @classmethod
    def from_event(cls, event: RemediationPlanned) -> Plan:
        """Copy the fields of the event."""
        expires = event.expires_at.isoformat() if event.expires_at is not None else None
        return cls(
            plan_id=event.plan_id,
            incident_id=event.incident_id,
            action=event.action,
            target=dict(event.target),
            parameters=dict(event.parameters),
            gate=event.gate,
            gate_rule=event.gate_rule,
            proposer=event.proposer,
            rationale=event.rationale,
            planned_at=event.metadata.occurred_at.isoformat(),
            expires_at=expires,
            event_id=event.metadata.event_id,
        )

    def expired_at(self, when: datetime) -> bool:
        """Whether the plan had expired at `when` (plans without expiry never do)."""
        return self.expires_at is not None and datetime.fromisoformat(self.expires_at) <= when

    def dump(self) -> bytes:
        """JSON bytes."""
        return orjson.dumps(asdict(self))

    @classmethod
    def load(cls, raw: bytes) -> Plan:
        """From JSON bytes."""
        return cls(**orjson.loads(raw))


@dataclass
class Execution:
    """One plan's execution: status, the steps done with their responses, resumable progress."""

    execution_id: str
    plan_id: str
    incident_id: str
    action: str
    target: dict[str, str]
    status: str = RUNNING
    steps: list[dict[str, Any]] = field(default_factory=list)
    progress: dict[str, Any] = field(default_factory=dict)
    reason: str = ""

    @property
    def finished(self) -> bool:
        """Succeeded, failed or skipped: never acted on again."""
        return self.status != RUNNING

    def detail(self) -> str:
        """The JSON `detail` of RemediationExecuted."""
        body = {"reason": self.reason, "steps": self.steps, "progress": self.progress}
        return orjson.dumps(body).decode()

    def dump(self) -> bytes:
        """JSON bytes."""
        return orjson.dumps(asdict(self))

    @classmethod
    def load(cls, raw: bytes) -> Execution:
        """From JSON bytes."""
        return cls(**orjson.loads(raw))


class Progress:
    """An execution's record, made durable in Kafka at every checkpoint before the next act."""

    def __init__(self, execution: Execution, store: Store) -> None:
        self.execution = execution
        self._store = store

    @property
    def data(self) -> dict[str, Any]:
        """Resumable progress (what has been done, what was recorded)."""
        return self.execution.progress

    def step(self, name: str, status: int | None, response: Any, note: str = "") -> None:
        """Record one step (an HTTP call or a check) with its response."""
        entry: dict[str, Any] = {"step": name, "status": status, "response": response}
        if note:
            entry["note"] = note
        self.execution.steps.append(entry)

    def save(self) -> None:
        """Write the record and wait until Kafka holds it (the checkpoint before acting)."""
        key = f"exec:{self.execution.execution_id}"
        self._store.put(key, self.execution.dump())
        try:
            for future in self._store.flush():
                future.result(timeout=60)
        except (ProduceError, TimeoutError) as exc:  # not acted on yet: retry the batch later
            raise RetryableError(f"execution checkpoint not in Kafka: {exc}") from exc

    def finish(self, status: str, reason: str) -> str:
        """End the execution with a status and reason; returns the status."""
        self.execution.status, self.execution.reason = status, reason
        self.save()
        return status
