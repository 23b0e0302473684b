"""A-XDR data on its own: our bounded walk and gurux's decode agree; encode/decode round trip."""

from __future__ import annotations

from hypothesis import given, strategies as st
import pytest

from custom_components.smartmeter_datacollector.dlms.axdr import (
    AxdrError,
    NeedMoreDataError,
    decode_value,
    value_end,
)
from smartmeter_devtools.axdr_encode import (
    Array,
    AxdrValue,
    Int8,
    Int16,
    Int32,
    Int64,
    OctetString,
    Structure,
    UInt8,
    UInt16,
    UInt32,
    UInt64,
    VisibleString,
)

_INTEGERS = [
    (Int8, -(2**7), 2**7 - 1),
    (Int16, -(2**15), 2**15 - 1),
    (Int32, -(2**31), 2**31 - 1),
    (Int64, -(2**63), 2**63 - 1),
    (UInt8, 0, 2**8 - 1),
    (UInt16, 0, 2**16 - 1),
    (UInt32, 0, 2**32 - 1),
    (UInt64, 0, 2**64 - 1),
]
SCALARS = st.one_of(
    *(st.integers(low, high).map(kind) for kind, low, high in _INTEGERS),
    st.binary(max_size=300).map(OctetString),
    st.text(alphabet="ABCxyz0123_", max_size=40).map(VisibleString),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=6).flatmap(
        lambda items: st.sampled_from([Structure(tuple(items)), Array(tuple(items))])
    ),
    max_leaves=30,
)


def _plain(value: AxdrValue) -> object:
    if isinstance(value, (Structure, Array)):
        return [_plain(v) for v in value.items]
    if isinstance(value, OctetString):
        return bytearray(value.value)
    return value.value


@given(value=VALUES)
def test_round_trip(value: AxdrValue) -> None:
    """Encoded values decode to what they were, and the walk ends exactly where gurux does."""
    data = value.encode() + b"\xff"
    assert value_end(data, 0) == len(data) - 1
    decoded, end = decode_value(data, 0)
    assert end == len(data) - 1
    assert decoded == _plain(value)


@given(value=VALUES, cut=st.integers(min_value=1))
def test_a_cut_value_needs_more_data(value: AxdrValue, cut: int) -> None:
    """Every proper prefix of a value is incomplete, never a shorter value."""
    data = value.encode()
    with pytest.raises(NeedMoreDataError):
        value_end(data[: cut % len(data)], 0)


@pytest.mark.parametrize("raw", ["13020005", "0780", "1f00", "0184000000"])
def test_unknown_tags_and_absurd_lengths_are_errors(raw: str) -> None:
    """Compact arrays, undefined tags and 4-byte lengths never reach gurux."""
    with pytest.raises(AxdrError):
        decode_value(bytes.fromhex(raw), 0)
