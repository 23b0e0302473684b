"""A-XDR / BER length fields: one byte below 0x80, else 0x80+n followed by n length bytes.

Read and write side by side, so the rule has one home (the simulator writes with it).
"""

from __future__ import annotations

_LONG_FORM = 0x80
# Lengths beyond this are never real push data; refusing them keeps garbage from allocating.
_MAX_LENGTH_BYTES = 4


def read_length(buf: bytes | bytearray, index: int) -> tuple[int, int] | None:
    """Return (length, index after the field), or None when the field is truncated or absurd."""
    if index >= len(buf):
        return None
    first = buf[index]
    if first < _LONG_FORM:
        return first, index + 1
    count = first & 0x7F
    if count == 0 or count > _MAX_LENGTH_BYTES or index + 1 + count > len(buf):
        return None
    return int.from_bytes(buf[index + 1 : index + 1 + count], "big"), index + 1 + count


def encode_length(length: int) -> bytes:
    """Encode a count or length in the shortest form `read_length` accepts."""
    if length < 0:
        raise ValueError(f"negative length {length}")
    if length < _LONG_FORM:
        return bytes((length,))
    size = (length.bit_length() + 7) // 8
    return bytes((_LONG_FORM | size,)) + length.to_bytes(size, "big")
