"""A-XDR data (IEC 62056-6-2 / Green Book): where a value ends, and its decoded form.

`value_end` is our own bounded walk over tags, lengths and counts; only values it accepts are
decoded, through gurux-dlms's bare `getData` (`gurux_adapter`, the one module that touches gurux;
its push-object and OBIS-description machinery is what made the seed tool spend ~20 ms per
message). The decoded forms are those `gurux_adapter` documents.
"""

from __future__ import annotations

from typing import Any

from .gurux_adapter import GuruxError, get_values


class AxdrError(ValueError):
    """The bytes are not one complete A-XDR value."""


def _checked_end(data: bytes, start: int) -> int:
    """Where a well-formed value at `start` ends, checked by our own bounded walk.

    gurux trusts counts and tags: a compact array (0x13) whose structure has no columns makes it
    append empty rows forever, and a huge claimed count makes it loop. Only values this walk
    accepts, which costs at most one step per byte, ever reach gurux.
    """
    try:
        return value_end(data, start)
    except NeedMoreDataError as err:
        raise AxdrError("truncated value") from err


def decode_value(data: bytes, start: int = 0) -> tuple[Any, int]:
    """Decode the value at `start`; returns it and the index after it."""
    if start >= len(data):
        raise AxdrError("no data")
    end = _checked_end(data, start)
    try:
        (value,) = get_values(data, start, [end])
    except GuruxError as err:
        raise AxdrError(str(err)) from err
    return value, end


# The Data CHOICE tags (Green Book 9.5, Data ::= CHOICE): the one home of these bytes in the
# decoder and in the development tools' encoders.
NULL_DATA = 0x00
ARRAY = 0x01
STRUCTURE = 0x02
BOOLEAN = 0x03
BIT_STRING = 0x04
DOUBLE_LONG = 0x05
DOUBLE_LONG_UNSIGNED = 0x06
OCTET_STRING = 0x09
VISIBLE_STRING = 0x0A
UTF8_STRING = 0x0C
BCD = 0x0D
INTEGER = 0x0F
LONG = 0x10
UNSIGNED = 0x11
LONG_UNSIGNED = 0x12
COMPACT_ARRAY = 0x13
LONG64 = 0x14
LONG64_UNSIGNED = 0x15
ENUM = 0x16
FLOAT32 = 0x17
FLOAT64 = 0x18
DATE_TIME = 0x19
DATE = 0x1A
TIME = 0x1B

# Sizes of the fixed-length A-XDR types, by tag.
_FIXED_SIZES = {
    NULL_DATA: 0,
    BOOLEAN: 1,
    DOUBLE_LONG: 4,
    DOUBLE_LONG_UNSIGNED: 4,
    BCD: 1,
    INTEGER: 1,
    LONG: 2,
    UNSIGNED: 1,
    LONG_UNSIGNED: 2,
    LONG64: 8,
    LONG64_UNSIGNED: 8,
    ENUM: 1,
    FLOAT32: 4,
    FLOAT64: 8,
    DATE_TIME: 12,
    DATE: 5,
    TIME: 4,
}
LENGTH_PREFIXED = frozenset((OCTET_STRING, VISIBLE_STRING, UTF8_STRING))
CONTAINERS = frozenset((ARRAY, STRUCTURE))
# Deeper nesting than this is never real COSEM data; the bound keeps the walk cheap on garbage.
MAX_DEPTH = 16


def fixed_size(tag: int) -> int | None:
    """Content size of a fixed-length type, None for other tags."""
    return _FIXED_SIZES.get(tag)


class NeedMoreDataError(Exception):
    """The value is not invalid (yet): it runs past the bytes available."""


def value_end(data: bytes | bytearray, start: int) -> int:
    """Return where the A-XDR value at `start` ends, without decoding it.

    Raises NeedMoreDataError when the bytes end inside the value and AxdrError when no valid value can
    start here; used to delimit raw APDUs in a stream and to check decrypted plaintext.
    """
    pending = 1  # values still to skip at the current level
    stack: list[int] = []
    index = start
    size = len(data)
    while True:
        while pending == 0:
            if not stack:
                return index
            pending = stack.pop()
        pending -= 1
        if index >= size:
            raise NeedMoreDataError
        tag = data[index]
        index += 1
        fixed = _FIXED_SIZES.get(tag)
        if fixed is not None:
            index += fixed
            if index > size:
                raise NeedMoreDataError
            continue
        if tag in LENGTH_PREFIXED or tag in CONTAINERS or tag == BIT_STRING:
            if index >= size:
                raise NeedMoreDataError
            first = data[index]
            if first < 0x80:
                count, index = first, index + 1
            else:
                width = first & 0x7F
                if width == 0 or width > 3:
                    raise AxdrError("bad length")
                if index + 1 + width > size:
                    raise NeedMoreDataError
                count = int.from_bytes(data[index + 1 : index + 1 + width], "big")
                index += 1 + width
            if tag in CONTAINERS:
                if len(stack) >= MAX_DEPTH:
                    raise AxdrError("nesting too deep")
                stack.append(pending)
                pending = count
                continue
            index += (count + 7) // 8 if tag == BIT_STRING else count
            if index > size:
                raise NeedMoreDataError
            continue
        raise AxdrError(f"unknown tag 0x{tag:02x}")


def decode_sequence(data: bytes, start: int, count: int) -> tuple[list[Any], int]:
    """Decode `count` consecutive values starting at `start`; returns them and the end index."""
    ends = []
    index = start
    for _ in range(count):
        index = _checked_end(data, index)
        ends.append(index)
    try:
        return get_values(data, start, ends), index
    except GuruxError as err:
        raise AxdrError(str(err)) from err
