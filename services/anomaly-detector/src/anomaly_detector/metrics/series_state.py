"""Per-series state of the metric handler as bytes, and the round order of a batch of samples.

A series' state is a small header (format, layout fingerprint, last timestamp, open episode)
followed by its row of the scorer's banks, written as the arrays' own bytes (float64 stays
float64: counters near 1e9 need every bit). The rows of all series touched by a batch are
gathered with one numpy copy per bank field, so writing 1000 series costs about a millisecond.

The layout is read off the scorer (every dataclass of per-series arrays it holds) rather than
written down here, so a scorer that gains or changes state still round-trips; state written under
another layout has another fingerprint and is ignored (the series starts afresh), as is state in
a format this module does not know. A scorer whose state is not all in such arrays falls back to
its own `row` / `set_row`.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, fields, is_dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from anomaly_detector.metrics.scoring import Scorer

Ints = npt.NDArray[np.int64]
FORMAT = 3
HEADER = struct.Struct("<BIddd")
"""format, layout fingerprint, last timestamp, episode start (0 = none), episode's last anomaly."""


@dataclass(frozen=True)
class Header:
    """What the handler keeps beside the scorer's row: replay guard and the open episode."""

    last_seen: float
    episode_start: float
    episode_last: float


class SeriesCodec:
    """Encodes the state of scorer rows (bank index) with their headers, and restores one."""

    def __init__(self, scorer: Scorer) -> None:
        self.scorer = scorer
        self.fields = array_fields(scorer)
        self.fingerprint = zlib.crc32(b"rows")
        if self.fields is not None:
            layout = [(a, f, arr.dtype.str, arr.shape[1:]) for a, f, arr in self._arrays()]
            self.fingerprint = zlib.crc32(repr(layout).encode())

    def encode(self, rows: Ints, headers: list[Header]) -> list[bytes]:
        """The bytes of each row in `rows`, headed by its header (same order)."""
        head = [
            HEADER.pack(FORMAT, self.fingerprint, h.last_seen, h.episode_start, h.episode_last)
            for h in headers
        ]
        if self.fields is None:
            return [
                h + np.asarray(self.scorer.row(int(i)), dtype=np.float64).tobytes()
                for h, i in zip(head, rows, strict=True)
            ]
        parts = []
        for _, _, array in self._arrays():
            block = np.ascontiguousarray(array[rows]).reshape(len(rows), -1)
            parts.append(
                np.packbits(block, axis=1) if block.dtype == bool else block.view(np.uint8)
            )
        body = np.concatenate(parts, axis=1)
        return [h + b.tobytes() for h, b in zip(head, body, strict=True)]

    def restore(self, row: int, blob: bytes) -> Header | None:
        """Load `blob` into scorer row `row`; None (row untouched) if another layout wrote it."""
        if len(blob) < HEADER.size:
            return None
        form, fingerprint, last, start, ep_last = HEADER.unpack_from(blob)
        if form != FORMAT or fingerprint != self.fingerprint:
            return None
        body = memoryview(blob)[HEADER.size :]
        if self.fields is None:
            values = np.frombuffer(body, dtype=np.float64)
            if len(values) != len(self.scorer.row(row)):
                return None
            self.scorer.set_row(row, values.tolist())
            return Header(last, start, ep_last)
        arrays = [array for _, _, array in self._arrays()]
        if len(body) != sum(_stored_size(arr) for arr in arrays):
            return None
        pos = 0
        for arr in arrays:
            size = _stored_size(arr)
            chunk = np.frombuffer(body[pos : pos + size], dtype=np.uint8)
            if arr.dtype == bool:
                arr[row] = np.unpackbits(chunk, count=arr[0].size).reshape(arr.shape[1:])
            else:
                arr[row] = chunk.view(arr.dtype).reshape(arr.shape[1:])
            pos += size
        return Header(last, start, ep_last)

    def _arrays(self) -> list[tuple[str, str, npt.NDArray[Any]]]:
        # looked up each time: banks replace their arrays when they grow
        return [(a, f, getattr(getattr(self.scorer, a), f)) for a, f in self.fields or []]


def _stored_size(array: npt.NDArray[Any]) -> int:
    """Bytes of one row of `array` in the state (bits packed eight to a byte)."""
    size = int(np.prod(array.shape[1:], dtype=np.int64))
    return (size + 7) // 8 if array.dtype == bool else size * array.dtype.itemsize


def array_fields(scorer: Scorer) -> list[tuple[str, str]] | None:
    """(attribute, field) of every per-series array of the scorer; None if state lies elsewhere.

    The scorer may hold dataclasses of per-series arrays (state), dataclasses without arrays
    (parameters) and callables (the model); anything else might be state this codec would miss.
    """
    found: list[tuple[str, str]] = []
    for attr, value in vars(scorer).items():
        if callable(value):
            continue
        if not is_dataclass(value) or isinstance(value, type):
            return None
        names = [f.name for f in fields(value)]
        arrays = [n for n in names if isinstance(getattr(value, n), np.ndarray)]
        if arrays and (arrays != names or any(getattr(value, n).ndim == 0 for n in arrays)):
            return None
        found += [(attr, name) for name in arrays]
    return found or None


def rounds(rows: Ints) -> list[Ints]:
    """Positions of the k-th sample of each row, for k = 0, 1, ... (each in position order).

    A step of the scorer takes at most one sample per series; round k holds every series' k-th
    sample of the batch, so each series sees its samples in order.
    """
    if len(rows) == 0:
        return []
    order = np.argsort(rows, kind="stable")
    ranked = rows[order]
    positions = np.arange(len(rows))
    first = np.ones(len(rows), dtype=bool)
    first[1:] = ranked[1:] != ranked[:-1]
    group_start = np.maximum.accumulate(np.where(first, positions, 0))
    depth = np.empty(len(rows), dtype=np.int64)
    depth[order] = positions - group_start
    by_round = np.argsort(depth, kind="stable")
    bounds = np.cumsum(np.bincount(depth))
    return np.split(by_round, bounds[:-1])
