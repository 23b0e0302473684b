"""A-XDR / BER length fields: one byte below 0x80, else 0x80+n followed by n length bytes."""

from __future__ import annotations

# Lengths beyond this are never real push data; refusing them keeps garbage from allocating.
_MAX_LENGTH_BYTES = 4


def read_length(buf: bytes | bytearray, index: int) -> tuple[int, int] | None:
    """Return (length, index after the field), or None when the field is truncated or absurd."""
    if index >= len(buf):
        return None
    first = buf[index]
    if first < 0x80:
        return first, index + 1
    count = first & 0x7F
    if count == 0 or count > _MAX_LENGTH_BYTES or index + 1 + count > len(buf):
        return None
    return int.from_bytes(buf[index + 1 : index + 1 + count], "big"), index + 1 + count
