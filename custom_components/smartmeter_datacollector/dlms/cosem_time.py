"""COSEM date-time (IEC 62056-6-2, 12-byte octet-string) to `datetime`.

Deviation is minutes with UTC = local + deviation (so 0xFF88 = -120 is UTC+02:00); 0x8000 means
the meter did not say, and the time is local time of the caller's zone (or naive without one).
The status byte is not trusted for validity: L+G meters set bit 0 ("invalid") on good clocks.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo

DATE_TIME_LENGTH = 12
UNSPECIFIED_DEVIATION = -0x8000
DST_ACTIVE = 0x80


def parse_date_time(raw: bytes | bytearray, local_zone: tzinfo | None = None) -> datetime | None:
    """Return the date-time the bytes carry, or None when it is absent or not a real instant."""
    if len(raw) != DATE_TIME_LENGTH:
        return None
    year = (raw[0] << 8) | raw[1]
    month, day, hour, minute, second, hundredths = raw[2], raw[3], raw[5], raw[6], raw[7], raw[8]
    if year == 0xFFFF or month > 12 or day > 31 or hour > 23 or minute > 59 or second > 59:
        return None
    if hundredths == 0xFF:
        hundredths = 0
    elif hundredths > 99:
        return None
    deviation = int.from_bytes(raw[9:11], "big", signed=True)
    try:
        # Naive on purpose: the zone comes from the deviation or the caller, decided below.
        naive = datetime(year, month, day, hour, minute, second, hundredths * 10000)  # noqa: DTZ001
    except ValueError:
        return None
    if deviation == UNSPECIFIED_DEVIATION:
        if local_zone is None:
            return naive
        # In the repeated autumn hour the DST flag says which of the two instants is meant.
        status = raw[11]
        fold = 1 if status != 0xFF and not status & DST_ACTIVE else 0
        return naive.replace(tzinfo=local_zone, fold=fold)
    if not -720 <= deviation <= 840:
        return None
    return naive.replace(tzinfo=timezone(timedelta(minutes=-deviation)))
