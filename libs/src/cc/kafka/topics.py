"""The topics table (`schemas/topics.yaml`): what each topic carries, and creating them."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from cc.events.schemas import schema_dir


@dataclass(frozen=True)
class TopicSpec:
    """One row of the topics table."""

    name: str
    record: str
    key: str
    producer: str
    consumers: tuple[str, ...]
    partitions: int

    @property
    def schema(self) -> str:
        """Full Avro name of the record the topic carries."""
        return f"commandcenter.{self.record}"


class TopicsError(ValueError):
    """The topics table is invalid."""


def load_topics(path: Path | None = None) -> list[TopicSpec]:
    """Read and validate the topics table."""
    path = path or schema_dir() / "topics.yaml"
    doc: dict[str, Any] = yaml.safe_load(path.read_text())
    specs = []
    for i, row in enumerate(doc.get("topics", [])):
        try:
            spec = TopicSpec(
                name=str(row["name"]),
                record=str(row["record"]),
                key=str(row["key"]),
                producer=str(row["producer"]),
                consumers=tuple(row.get("consumers", [])),
                partitions=int(row["partitions"]),
            )
        except KeyError as exc:
            raise TopicsError(f"{path}: topics[{i}] is missing field {exc.args[0]!r}") from exc
        if not spec.name.endswith(".v1") and ".v" not in spec.name:
            raise TopicsError(f"{path}: topics[{i}].name {spec.name!r} must end with .v<major>")
        specs.append(spec)
    return specs


def topic_for(record: str, specs: list[TopicSpec] | None = None) -> str:
    """The topic that carries a record (short or full Avro name)."""
    short = record.rsplit(".", 1)[-1]
    for spec in specs or load_topics():
        if spec.record == short:
            return spec.name
    raise TopicsError(f"no topic carries {record}")


def dead_letter_topic(service: str) -> str:
    """Where a service puts messages it could not decode or handle."""
    return f"deadletter.{service}.v1"


def ensure_topics(
    bootstrap: str, names_and_partitions: dict[str, int], timeout: float = 30
) -> None:
    """Create missing topics (existing ones are left as they are).

    Right after start-up a KRaft broker can still be fenced ("All brokers are currently
    fenced"); creation is retried until `timeout` for that case only.
    """
    admin = AdminClient({"bootstrap.servers": bootstrap})
    deadline = time.monotonic() + timeout
    while True:
        existing = set(admin.list_topics(timeout=timeout).topics)
        wanted = [
            NewTopic(name, num_partitions=parts, replication_factor=1)
            for name, parts in names_and_partitions.items()
            if name not in existing
        ]
        if not wanted:
            return
        fenced = False
        for name, future in admin.create_topics(wanted, request_timeout=timeout).items():
            try:
                future.result(timeout)
            except KafkaException as exc:
                error = exc.args[0]
                if error.code() == KafkaError.TOPIC_ALREADY_EXISTS:
                    continue
                if (
                    error.code() == KafkaError.INVALID_REPLICATION_FACTOR
                    and time.monotonic() < deadline
                ):
                    fenced = True  # broker not registered yet
                    continue
                raise TopicsError(f"cannot create topic {name}: {error.str()}") from exc
        if not fenced:
            return
        time.sleep(0.5)  # the broker registers on its own schedule; nothing to wait on


def all_topics(services: tuple[str, ...]) -> dict[str, int]:
    """Every event topic of the table plus each service's dead-letter topic."""
    topics = {spec.name: spec.partitions for spec in load_topics()}
    topics.update({dead_letter_topic(s): 1 for s in services})
    return topics


SERVICES = ("ingestor", "anomaly-detector", "remediation-planner", "compliance-auditor", "notifier")


def main(argv: list[str] | None = None) -> int:
    """`python -m cc.kafka.topics create --bootstrap HOST:PORT`."""
    parser = argparse.ArgumentParser(description="Create the topics of schemas/topics.yaml")
    parser.add_argument("command", choices=["create", "list"])
    parser.add_argument("--bootstrap", default="127.0.0.1:19092")
    args = parser.parse_args(argv)
    topics = all_topics(SERVICES)
    if args.command == "create":
        ensure_topics(args.bootstrap, topics)
    for name, parts in sorted(topics.items()):
        sys.stdout.write(f"{name}\t{parts}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
