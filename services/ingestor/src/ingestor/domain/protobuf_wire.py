"""The remote_write v1 protobuf messages, read straight from the wire format.

Only what the ingestor needs: WriteRequest{timeseries=1, metadata=3}, TimeSeries{labels=1,
samples=2, exemplars=3, histograms=4}, Label{name=1, value=2}, Sample{value=1, timestamp=2}.
Unknown fields are skipped by wire type, as protobuf requires. Samples are located first and
decoded only for series the caller keeps: most of what Prometheus sends is dropped.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass

VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5
_DOUBLE = struct.Struct("<d")
_SIGN = 1 << 63
# Sample{value, timestamp} as Prometheus writes it: tag 0x09, 8 bytes, tag 0x10, varint
_VALUE_TAG, _TIMESTAMP_TAG = 0x09, 0x10


class WireError(ValueError):
    """The bytes are not a valid remote_write protobuf message."""


@dataclass(frozen=True, slots=True)
class WireSeries:
    """One TimeSeries: its labels (with `__name__`) and, if kept, its samples."""

    labels: dict[str, str]
    kept: bool
    samples: list[tuple[int, float]]
    """(timestamp in ms, value) in wire order; empty for series the caller did not keep."""
    sample_count: int
    histogram_count: int


def read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    """The varint at `pos` and the position after it."""
    byte = buf[pos]
    if byte < 0x80:
        return byte, pos + 1
    result, shift = byte & 0x7F, 7
    while True:
        pos += 1
        byte = buf[pos]
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos + 1
        shift += 7
        if shift > 63:
            raise WireError("varint longer than 10 bytes")


def skip_field(buf: bytes, pos: int, wire_type: int) -> int:
    """The position after a field's value (the tag already read)."""
    if wire_type == VARINT:
        return read_varint(buf, pos)[1]
    if wire_type == FIXED64:
        return pos + 8
    if wire_type == LENGTH:
        size, pos = read_varint(buf, pos)
        return pos + size
    if wire_type == FIXED32:
        return pos + 4
    raise WireError(f"unsupported wire type {wire_type}")


def decode_write_request(
    buf: bytes, keep: Callable[[Mapping[str, str]], bool] = lambda _: True
) -> list[WireSeries]:
    """The request's series; samples are decoded only where `keep(labels)` holds."""
    try:
        return _write_request(buf, keep)
    except (IndexError, struct.error):
        raise WireError("protobuf: message truncated") from None
    except UnicodeDecodeError as exc:
        raise WireError(f"protobuf: label is not UTF-8 ({exc.reason})") from None


def _write_request(buf: bytes, keep: Callable[[Mapping[str, str]], bool]) -> list[WireSeries]:
    series = []
    # the same label pairs (job, instance...) recur in most series: decode each pair once
    seen: dict[bytes, tuple[str, str]] = {}
    pos, end = 0, len(buf)
    while pos < end:
        key, pos = read_varint(buf, pos)
        if key == 0x0A:  # timeseries = 1
            size, pos = read_varint(buf, pos)
            series.append(_time_series(buf, pos, _bounded(pos + size, end), keep, seen))
            pos += size
        else:  # metadata = 3 and anything newer: not ours to read
            pos = _bounded(skip_field(buf, pos, key & 7), end)
    return series


def _time_series(
    buf: bytes,
    pos: int,
    end: int,
    keep: Callable[[Mapping[str, str]], bool],
    seen: dict[bytes, tuple[str, str]],
) -> WireSeries:
    labels: dict[str, str] = {}
    sample_at: list[int] = []  # where each Sample's length prefix is
    histograms = 0
    while pos < end:
        key = buf[pos]
        pos += 1
        if key >= 0x80:
            key, pos = read_varint(buf, pos - 1)
        if key == 0x12:  # samples = 2
            sample_at.append(pos)
        elif key == 0x0A:  # labels = 1
            size = buf[pos]
            if size < 0x80:
                pos += 1
            else:
                size, pos = read_varint(buf, pos)
            stop = _bounded(pos + size, end)
            raw = buf[pos:stop]
            pair = seen.get(raw)
            if pair is None:
                pair = seen[raw] = _label(buf, pos, stop)
            labels[pair[0]] = pair[1]
            pos = stop
            continue
        elif key == 0x22:  # histograms = 4: counted, not carried (the event has floats only)
            histograms += 1
        pos = _bounded(skip_field(buf, pos, key & 7), end)
    kept = keep(labels)
    samples = [_sample(buf, at) for at in sample_at] if kept else []
    return WireSeries(labels, kept, samples, len(sample_at), histograms)


def _label(buf: bytes, pos: int, end: int) -> tuple[str, str]:
    name = value = ""
    while pos < end:
        key, pos = read_varint(buf, pos)
        if key == 0x0A or key == 0x12:
            size, pos = read_varint(buf, pos)
            text = buf[pos : _bounded(pos + size, end)].decode()
            pos += size
            if key == 0x0A:
                name = text
            else:
                value = text
        else:
            pos = _bounded(skip_field(buf, pos, key & 7), end)
    return name, value


def _sample(buf: bytes, at: int) -> tuple[int, float]:
    size, pos = read_varint(buf, at)
    end = pos + size
    if end > len(buf):
        raise WireError("protobuf: sample runs past the end of the message")
    if size > 10 and buf[pos] == _VALUE_TAG and buf[pos + 9] == _TIMESTAMP_TAG:
        # the common layout, read without the generic field loop
        value = _DOUBLE.unpack_from(buf, pos + 1)[0]
        timestamp, pos = read_varint(buf, pos + 10)
        if pos == end:
            return (timestamp - (1 << 64) if timestamp & _SIGN else timestamp), value
        raise WireError("protobuf: sample longer than its fields")
    value, timestamp = 0.0, 0  # proto3 leaves zero values out
    while pos < end:
        key, pos = read_varint(buf, pos)
        if key == _VALUE_TAG:
            value = _DOUBLE.unpack_from(buf, pos)[0]
            pos += 8
        elif key == _TIMESTAMP_TAG:
            timestamp, pos = read_varint(buf, pos)
        else:
            pos = skip_field(buf, pos, key & 7)
    if pos != end:
        raise WireError("protobuf: sample field runs past its message")
    return (timestamp - (1 << 64) if timestamp & _SIGN else timestamp), value


def _bounded(pos: int, end: int) -> int:
    if pos > end:
        raise WireError("protobuf: field runs past the end of its message")
    return pos
