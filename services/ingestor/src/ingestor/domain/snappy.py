"""Snappy block-format decompression (what remote_write v1 sends), in pure Python.

No snappy package is a dependency of the workspace, and the block format is small: a varint
length, then literals and back-references. Each element costs one loop turn; the bytes
themselves are moved by slicing, so a typical remote_write body decodes at tens of MB/s.
"""

from __future__ import annotations


class SnappyError(ValueError):
    """The bytes are not a valid snappy block."""


class SnappyTooLargeError(SnappyError):
    """The block says it expands beyond the allowed size."""


def uncompressed_length(data: bytes) -> tuple[int, int]:
    """The declared uncompressed length and where the elements start."""
    result = shift = 0
    for pos in range(min(len(data), 5)):
        byte = data[pos]
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos + 1
        shift += 7
    raise SnappyError("snappy: invalid length header")


def decompress(data: bytes, *, max_length: int) -> bytes:
    """The original bytes; SnappyTooLargeError, before any work, above `max_length`."""
    length, pos = uncompressed_length(data)
    if length > max_length:
        raise SnappyTooLargeError(f"snappy: expands to {length} bytes, over the {max_length} limit")
    out = bytearray()
    end = len(data)
    try:
        while pos < end:
            tag = data[pos]
            kind = tag & 3
            if kind == 0:  # literal; lengths over 60 follow the tag in 1-4 bytes
                size = tag >> 2
                if size >= 60:
                    extra = size - 59
                    size = int.from_bytes(data[pos + 1 : pos + 1 + extra], "little")
                    pos += extra
                size += 1
                start = pos + 1
                pos = start + size
                if pos > end:
                    raise SnappyError("snappy: literal runs past the end of the input")
                out += data[start:pos]
                continue
            if kind == 1:
                size = 4 + ((tag >> 2) & 7)
                offset = ((tag >> 5) << 8) | data[pos + 1]
                pos += 2
            elif kind == 2:
                size = (tag >> 2) + 1
                offset = data[pos + 1] | (data[pos + 2] << 8)
                pos += 3
            else:
                size = (tag >> 2) + 1
                offset = int.from_bytes(data[pos + 1 : pos + 5], "little")
                if pos + 5 > end:
                    raise SnappyError("snappy: truncated copy")
                pos += 5
            copy_from(out, offset, size)
            if len(out) > length:
                raise SnappyError("snappy: output longer than its header says")
    except IndexError:
        raise SnappyError("snappy: truncated input") from None
    if len(out) != length:
        raise SnappyError(f"snappy: got {len(out)} bytes, header says {length}")
    return bytes(out)


def copy_from(out: bytearray, offset: int, size: int) -> None:
    """Append `size` bytes starting `offset` back; an overlapping copy repeats the pattern."""
    start = len(out) - offset
    if offset == 0 or start < 0:
        raise SnappyError(f"snappy: copy offset {offset} outside the {len(out)} bytes so far")
    if offset >= size:
        out += out[start : start + size]
    else:
        pattern = out[start:]
        out += (pattern * (size // offset + 1))[:size]
