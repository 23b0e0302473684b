"""Where each leaf of an A-XDR value sits (IEC 62056-6-2): the map a fast-path template needs.

The same bounded walk as `axdr.value_end`, recording every non-container value: its tag, where
its content starts and how many bytes it has. Used only when learning a template, never per
message.
"""

from __future__ import annotations

from typing import NamedTuple

from .axdr import (
    BIT_STRING,
    CONTAINERS,
    LENGTH_PREFIXED,
    MAX_DEPTH,
    AxdrError,
    NeedMoreDataError,
    fixed_size,
)


class Leaf(NamedTuple):
    """One value without children: tag, offset of its content, content size in bytes."""

    tag: int
    offset: int
    size: int


def _length(data: bytes, index: int) -> tuple[int, int]:
    """A-XDR length at `index` (short or 0x8N long form); returns it and the index after."""
    if index >= len(data):
        raise NeedMoreDataError
    first = data[index]
    if first < 0x80:
        return first, index + 1
    width = first & 0x7F
    if width == 0 or width > 3:
        raise AxdrError("bad length")
    if index + 1 + width > len(data):
        raise NeedMoreDataError
    return int.from_bytes(data[index + 1 : index + 1 + width], "big"), index + 1 + width


def leaves(data: bytes, start: int) -> tuple[list[Leaf], int]:
    """The leaves of the value at `start` in payload order, and where the value ends."""
    found: list[Leaf] = []
    pending = 1
    stack: list[int] = []
    index = start
    size = len(data)
    while True:
        while pending == 0:
            if not stack:
                return found, index
            pending = stack.pop()
        pending -= 1
        if index >= size:
            raise NeedMoreDataError
        tag = data[index]
        index += 1
        fixed = fixed_size(tag)
        if fixed is not None:
            found.append(Leaf(tag, index, fixed))
            index += fixed
        elif tag in CONTAINERS:
            count, index = _length(data, index)
            if len(stack) >= MAX_DEPTH:
                raise AxdrError("nesting too deep")
            stack.append(pending)
            pending = count
            continue
        elif tag in LENGTH_PREFIXED or tag == BIT_STRING:
            count, index = _length(data, index)
            content = (count + 7) // 8 if tag == BIT_STRING else count
            found.append(Leaf(tag, index, content))
            index += content
        else:
            raise AxdrError(f"unknown tag 0x{tag:02x}")
        if index > size:
            raise NeedMoreDataError
