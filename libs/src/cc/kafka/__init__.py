"""The Kafka shell: topics table, producer, consumer loop with dead letters."""

from cc.kafka.consumer import (
    BatchHandler,
    BeforeCommit,
    ConsumerLoop,
    Handler,
    LoopConfig,
    Outgoing,
    Received,
    RetryableError,
    Tick,
)
from cc.kafka.metrics import ConsumerMetrics
from cc.kafka.producer import EventProducer, ProduceError
from cc.kafka.state import KafkaStateStore, MemoryStateStore, StateStore
from cc.kafka.topics import TopicSpec, dead_letter_topic, ensure_topics, load_topics, topic_for

__all__ = [
    "BatchHandler",
    "BeforeCommit",
    "ConsumerLoop",
    "ConsumerMetrics",
    "EventProducer",
    "Handler",
    "KafkaStateStore",
    "LoopConfig",
    "MemoryStateStore",
    "Outgoing",
    "ProduceError",
    "Received",
    "RetryableError",
    "StateStore",
    "Tick",
    "TopicSpec",
    "dead_letter_topic",
    "ensure_topics",
    "load_topics",
    "topic_for",
]
