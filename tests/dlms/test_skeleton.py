"""The leaf map a fast-path template is learned from: where each A-XDR value's bytes sit.

Hand-built A-XDR (IEC 62056-6-2 tags) so every length form and every refusal is exercised; the
walk must agree with the decoder's own bounds (`axdr.value_end`) on what is too short or invalid.
"""

from __future__ import annotations

import pytest

from custom_components.smartmeter_datacollector.dlms.axdr import (
    MAX_DEPTH,
    AxdrError,
    NeedMoreDataError,
    value_end,
)
from custom_components.smartmeter_datacollector.dlms.skeleton import Leaf, leaves

STRUCTURE, ARRAY, OCTET_STRING, VISIBLE_STRING, BIT_STRING = 0x02, 0x01, 0x09, 0x0A, 0x04
UINT32, UINT16, NULL = 0x06, 0x12, 0x00


def test_leaves_in_payload_order_with_their_offsets() -> None:
    """A number, a string, a bit-string and an empty array in a structure: three leaves."""
    data = (
        bytes([0xAA, STRUCTURE, 4])
        + bytes([UINT32, 0, 0, 0x01, 0x02])
        + bytes([OCTET_STRING, 3, 0x41, 0x42, 0x43])
        + bytes([BIT_STRING, 12, 0xF0, 0x10])
        + bytes([ARRAY, 0])
        + bytes([0xEE])
    )

    found, end = leaves(data, 1)

    assert found == [
        Leaf(UINT32, 4, 4),
        Leaf(OCTET_STRING, 10, 3),
        Leaf(BIT_STRING, 15, 2),  # 12 bits in 2 bytes
    ]
    assert end == len(data) - 1 == value_end(data, 1)


@pytest.mark.parametrize(
    ("length", "width"),
    [(bytes([0x81, 0x85]), 2), (bytes([0x82, 0x00, 0x85]), 3), (bytes([0x83, 0, 0, 0x85]), 4)],
)
def test_long_form_lengths(length: bytes, width: int) -> None:
    """A length of 0x85 in its 0x81, 0x82 and 0x83 long forms: the content follows the length."""
    data = bytes([VISIBLE_STRING]) + length + b"x" * 0x85

    found, end = leaves(data, 0)

    assert found == [Leaf(VISIBLE_STRING, 1 + width, 0x85)]
    assert end == len(data)


@pytest.mark.parametrize(
    "data",
    [
        bytes([OCTET_STRING, 0x80]),  # long form without length bytes
        bytes([OCTET_STRING, 0x84, 0, 0, 0, 1, 0]),  # longer than any COSEM value
        bytes([0xFF]),  # no such type
        bytes([ARRAY, 1] * (MAX_DEPTH + 1) + [NULL]),  # nesting no meter sends
    ],
    ids=["zero-width", "four-byte-length", "unknown-tag", "too-deep"],
)
def test_invalid_values_are_refused(data: bytes) -> None:
    """What the decoder refuses, the leaf walk refuses too."""
    with pytest.raises(AxdrError):
        value_end(data, 0)
    with pytest.raises(AxdrError):
        leaves(data, 0)


@pytest.mark.parametrize(
    "data",
    [
        bytes([STRUCTURE, 2, UINT16, 0, 1]),  # the second element is missing
        bytes([STRUCTURE, 1, UINT32, 0, 1]),  # a number cut short
        bytes([OCTET_STRING]),  # no length
        bytes([OCTET_STRING, 0x82, 0x01]),  # long length cut short
        bytes([OCTET_STRING, 4, 0x41]),  # content cut short
    ],
    ids=["missing-element", "short-number", "no-length", "short-long-length", "short-content"],
)
def test_short_values_need_more_data(data: bytes) -> None:
    """A value cut short is not invalid: more bytes may complete it."""
    with pytest.raises(NeedMoreDataError):
        value_end(data, 0)
    with pytest.raises(NeedMoreDataError):
        leaves(data, 0)
