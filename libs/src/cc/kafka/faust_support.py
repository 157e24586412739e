"""The project's Avro serde and W3C trace propagation for faust-streaming agents.

Register once, then name the codec on topics::

    register_codec(SingleObjectSerde())
    source = app.topic("alerts.received.v1", key_type=bytes, value_serializer="cc-avro")

    @app.agent(source)
    async def relay(stream):
        async for event in stream.events():
            await sink.send(value=event.value, headers=traced_headers(trace_context(event)))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import faust
from faust.serializers import codecs
from opentelemetry.context import Context

from cc.events.serde import Event, Serde
from cc.platform.tracing import extract, inject

DEFAULT_CODEC_NAME = "cc-avro"

HeaderValue = bytes | str | None
HeadersLike = Mapping[str, HeaderValue] | Sequence[tuple[str, HeaderValue]]


class AvroEventCodec(faust.Codec):
    """A faust codec: event object <-> bytes through a `cc.events.serde.Serde`."""

    def __init__(
        self,
        serde: Serde,
        topic: str = "",
        children: tuple[Any, ...] | None = None,
        **kwargs: Any,
    ) -> None:
        # faust clones codecs with `type(self)(children=..., **self.kwargs)`: keep both in kwargs
        super().__init__(children=children, serde=serde, topic=topic, **kwargs)
        self.serde = serde
        self.topic = topic

    def _dumps(self, s: Any) -> bytes:
        """Encode one event (the topic only matters to the registry serde)."""
        return self.serde.encode(s, self.topic)

    def _loads(self, s: bytes) -> Event:
        """Decode bytes into the current event class (raises `DecodeError` on poison)."""
        return self.serde.decode(s, self.topic)


def register_codec(serde: Serde, name: str = DEFAULT_CODEC_NAME, topic: str = "") -> AvroEventCodec:
    """Register an `AvroEventCodec` under `name` (for `value_serializer=name`) and return it."""
    codec = AvroEventCodec(serde, topic)
    codecs.register(name, codec)
    return codec


def _as_bytes(value: HeaderValue) -> bytes | None:
    """Header values as bytes (faust allows str; aiokafka may give None)."""
    return value.encode("latin-1") if isinstance(value, str) else value


def header_pairs(headers: HeadersLike | None) -> list[tuple[str, bytes | None]]:
    """Headers in either faust shape (dict or list of pairs) as a list of (str, bytes) pairs."""
    if not headers:
        return []
    items = headers.items() if isinstance(headers, Mapping) else headers
    return [(str(key), _as_bytes(value)) for key, value in items]


def trace_context(event_or_message: Any) -> Context:
    """The W3C trace context carried by a faust event, message, or bare headers."""
    headers = getattr(event_or_message, "headers", event_or_message)
    return extract(header_pairs(headers))


def traced_headers(context: Context | None = None) -> dict[str, bytes]:
    """Headers carrying the given (or current) trace context, for `topic.send(headers=...)`."""
    return dict(inject([], context))
