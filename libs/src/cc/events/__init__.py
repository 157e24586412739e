"""Event contracts: the generated classes, metadata helpers and the Avro serde."""

from cc.events import generated
from cc.events.generated import *  # noqa: F403 - the generated classes are the public API
from cc.events.metadata import deterministic_id, new_metadata, utcnow
from cc.events.serde import DecodeError, Event, RegistrySerde, Serde, SingleObjectSerde

__all__ = [
    "DecodeError",
    "Event",
    "RegistrySerde",
    "Serde",
    "SingleObjectSerde",
    "deterministic_id",
    "new_metadata",
    "utcnow",
]
__all__ += generated.__all__
