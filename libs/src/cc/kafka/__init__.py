"""The Kafka shell: topics table, producer, consumer loop with dead letters."""

from cc.kafka.consumer import (
    BatchHandler,
    ConsumerLoop,
    Handler,
    LoopConfig,
    Outgoing,
    Received,
    RetryableError,
)
from cc.kafka.metrics import ConsumerMetrics
from cc.kafka.producer import EventProducer, ProduceError
from cc.kafka.topics import TopicSpec, dead_letter_topic, ensure_topics, load_topics, topic_for

__all__ = [
    "BatchHandler",
    "ConsumerLoop",
    "ConsumerMetrics",
    "EventProducer",
    "Handler",
    "LoopConfig",
    "Outgoing",
    "ProduceError",
    "Received",
    "RetryableError",
    "TopicSpec",
    "dead_letter_topic",
    "ensure_topics",
    "load_topics",
    "topic_for",
]
