"""A-XDR encoding of typed values: tags, lengths, widths and COSEM date-times on the wire."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from smartmeter_devtools.axdr_encode import (
    Array,
    Boolean,
    CosemDateTime,
    Int8,
    Int16,
    Null,
    OctetString,
    Structure,
    UInt8,
    UInt16,
    UInt64,
    VisibleString,
    encode_length,
    obis_bytes,
)

TZ = ZoneInfo("Europe/Zurich")
SUMMER = datetime(2025, 7, 14, 12, 30, 5, 340000, tzinfo=TZ)
WINTER = datetime(2025, 1, 20, 19, 59, 58, tzinfo=TZ)


@pytest.mark.parametrize(
    ("length", "wire"),
    [(0, "00"), (0x7F, "7f"), (0x80, "8180"), (0xF8, "81f8"), (0x1FF, "8201ff")],
)
def test_lengths_use_one_byte_below_0x80_and_a_length_of_length_above(length, wire):
    assert encode_length(length).hex() == wire


def test_integers_refuse_values_outside_their_wire_width():
    assert UInt16(65535).encode().hex() == "12ffff"
    assert Int16(-10).encode().hex() == "10fff6"
    assert Int8(-3).encode().hex() == "0ffd"
    with pytest.raises(ValueError, match="does not fit"):
        UInt16(65536)
    with pytest.raises(ValueError, match="does not fit"):
        UInt8(-1)
    with pytest.raises(ValueError, match="negative"):
        encode_length(-1)


def test_containers_and_strings_carry_tags_and_counts():
    value = Structure(
        (Array((Null(), Boolean(True), Boolean(False))), VisibleString("AB"), UInt64(1))
    )
    assert value.encode().hex() == "0203" + "0103" + "00" + "03ff" + "0300" + "0a024142" + (
        "15" + "00" * 7 + "01"
    )
    assert OctetString(bytes(200)).encode()[:3].hex() == "0981c8"


def test_obis_codes_default_to_f_255():
    assert obis_bytes("1-0:1.8.0").hex() == "0100010800ff"
    assert obis_bytes("0-1:24.2.1*101").hex() == "000118020165"


def test_date_time_deviation_and_dst_follow_the_blue_book():
    summer = CosemDateTime.from_datetime(SUMMER, TZ, with_deviation=True, hundredths=True)
    # 2025-07-14 is a Monday; deviation -120 min (UTC = local + deviation), status DST.
    assert summer.to_bytes().hex() == "07e9070e010c1e0522ff8880"
    naive = CosemDateTime.from_datetime(WINTER, TZ, with_deviation=False, status_extra=1)
    assert naive.to_bytes().hex() == "07e901140113 3b3aff800001".replace(" ", "")
    assert naive.to_datetime() == datetime(2025, 1, 20, 19, 59, 58)  # noqa: DTZ001
    assert summer.to_datetime() == SUMMER.replace(microsecond=340000)
