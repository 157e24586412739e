"""Event contracts: the generated classes, metadata helpers and the Avro serde."""

from cc.events.generated import *  # noqa: F403 - the generated classes are the public API
from cc.events.generated import EVENT_TYPES, EventMetadata
from cc.events.metadata import deterministic_id, new_metadata, utcnow
from cc.events.serde import DecodeError, Event, RegistrySerde, Serde, SingleObjectSerde

__all__ = [  # noqa: F405 - generated names are re-exported through generated.__all__
    "EVENT_TYPES",
    "DecodeError",
    "Event",
    "EventMetadata",
    "RegistrySerde",
    "Serde",
    "SingleObjectSerde",
    "deterministic_id",
    "new_metadata",
    "utcnow",
]
