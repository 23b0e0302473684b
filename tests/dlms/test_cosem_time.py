"""COSEM date-time: deviation sign, unspecified fields, local zones and the DST flag."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from custom_components.smartmeter_datacollector.dlms.cosem_time import parse_date_time

ZURICH = ZoneInfo("Europe/Zurich")


def _raw(deviation: int, status: int = 0x00, hundredths: int = 0xFF, hour: int = 14) -> bytes:
    return (
        bytes((0x07, 0xE5, 7, 6, 2, hour, 58, 18, hundredths))
        + deviation.to_bytes(2, "big", signed=True)
        + bytes((status,))
    )


def test_deviation_is_minus_the_utc_offset() -> None:
    """0xFF88 (-120) means UTC+02:00, as gurux and the seed tool read it."""
    moment = parse_date_time(_raw(-120))
    assert moment is not None
    assert moment.utcoffset() == timedelta(hours=2)


def test_unspecified_deviation_is_naive_or_in_the_callers_zone() -> None:
    """0x8000: local time of a zone only the caller (Home Assistant) knows."""
    naive = parse_date_time(_raw(-0x8000))
    assert naive == datetime(2021, 7, 6, 14, 58, 18)  # noqa: DTZ001
    local = parse_date_time(_raw(-0x8000), ZURICH)
    assert local is not None
    assert local.utcoffset() == timedelta(hours=2)


@pytest.mark.parametrize(("status", "offset"), [(0x80, 2), (0x00, 1)])
def test_dst_flag_picks_the_instant_in_the_repeated_autumn_hour(status: int, offset: int) -> None:
    """02:30 on the last Sunday of October happens twice; the status byte says which."""
    raw = bytes((0x07, 0xE5, 10, 31, 7, 2, 30, 0, 0xFF, 0x80, 0x00, status))
    moment = parse_date_time(raw, ZURICH)
    assert moment is not None
    assert moment.utcoffset() == timedelta(hours=offset)


def test_hundredths_are_kept() -> None:
    """The E360 sends hundredths of a second."""
    moment = parse_date_time(_raw(0, hundredths=18))
    assert moment == datetime(2021, 7, 6, 14, 58, 18, 180000, tzinfo=UTC)


@pytest.mark.parametrize(
    "raw",
    [
        b"\xff\xff" + bytes(10),
        _raw(0, hour=0xFF),
        _raw(0, hundredths=120),
        _raw(2000),
        b"\x07\xe5\x02\x1e\x02\x0e\x3a\x12\xff\x00\x00\x00",  # 30 February
        b"\x07\xe5",
    ],
    ids=["no-year", "no-hour", "bad-hundredths", "bad-deviation", "no-such-day", "short"],
)
def test_values_that_are_no_instant_give_none(raw: bytes) -> None:
    """Unspecified or impossible fields never become a wrong time."""
    assert parse_date_time(raw) is None
