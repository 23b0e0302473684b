"""Bodies that pair untagged COSEM attribute descriptors with values (Sagemcom XT211 pushes).

`02 02 <tagged value> 01 N { 02 02 <class u16> <OBIS 6> <attribute i8> <tagged value> } x N`:
each element's first half is a cosem-attribute-descriptor written without A-XDR tags, as in
the GET service, so a strict Data decoder stops at the first element.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .axdr import ARRAY, STRUCTURE, AxdrError, NeedMoreDataError, decode_value, value_end

_DESCRIPTOR_LENGTH = 9  # class id (2) + OBIS (6) + attribute id (1)


@dataclass(frozen=True, slots=True)
class DescriptorBody:
    """The pairs of such a body: (class id, OBIS, attribute id) and the attribute's value."""

    descriptors: list[tuple[int, bytes, int]]
    values: list[Any]


def _need(buf: bytes | bytearray, index: int) -> None:
    if index > len(buf):
        raise NeedMoreDataError


def descriptor_body_end(buf: bytes | bytearray, start: int) -> int:
    """Where such a body ends; NeedMoreDataError / AxdrError as for `value_end`."""
    _need(buf, start + 2)
    if buf[start] != STRUCTURE or buf[start + 1] != 2:
        raise AxdrError("not a descriptor body")
    index = value_end(buf, start + 2)
    _need(buf, index + 2)
    if buf[index] != ARRAY or buf[index + 1] >= 0x80:
        raise AxdrError("not a descriptor body")
    count = buf[index + 1]
    index += 2
    for _ in range(count):
        _need(buf, index + 2 + _DESCRIPTOR_LENGTH)
        if buf[index] != STRUCTURE or buf[index + 1] != 2:
            raise AxdrError("not a descriptor entry")
        index = value_end(buf, index + 2 + _DESCRIPTOR_LENGTH)
    return index


def parse_descriptor_body(data: bytes, start: int) -> tuple[DescriptorBody, int]:
    """Decode such a body; raises AxdrError when the bytes are not one."""
    try:
        end = descriptor_body_end(data, start)
    except NeedMoreDataError as err:
        raise AxdrError("truncated descriptor body") from err
    _, index = decode_value(data, start + 2)
    count = data[index + 1]
    index += 2
    descriptors: list[tuple[int, bytes, int]] = []
    values: list[Any] = []
    for _ in range(count):
        head = index + 2
        descriptors.append(
            (
                int.from_bytes(data[head : head + 2], "big"),
                bytes(data[head + 2 : head + 8]),
                data[head + 8],
            )
        )
        value, index = decode_value(data, head + _DESCRIPTOR_LENGTH)
        values.append(value)
    return DescriptorBody(descriptors, values), end
