"""OBIS codes (IEC 62056-6-1): formatting and parsing, plausibility and the units a code implies.

Keys are "A-B:C.D.E"; F (the billing period, 255 = current) is dropped because push meters
always send 255 there and every consumer (HA, the seed's MQTT topics) keys on A-E.
"""

from __future__ import annotations

from functools import lru_cache

OBIS_LENGTH = 6

# COSEM unit enumeration (IEC 62056-6-2 table "Enumerated values for physical units") for the
# units meters push; others keep their number so nothing is silently mislabelled.
COSEM_UNITS: dict[int, str | None] = {
    1: "a",
    2: "mo",
    3: "wk",
    4: "d",
    5: "h",
    6: "min",
    7: "s",
    8: "deg",
    9: "°C",
    13: "m3",
    14: "m3",  # corrected volume
    15: "m3/h",
    19: "l",
    27: "W",
    28: "VA",
    29: "var",
    30: "Wh",
    31: "VAh",
    32: "varh",
    33: "A",
    34: "C",
    35: "V",
    44: "Hz",
    46: "1/(Wh)",
    52: "K",
    56: "%",
    57: "Ah",
    254: None,  # "other"
    255: None,  # count / no unit
}

# Unit implied by the quantity (C) for electricity registers when the frame carries none.
_ELECTRICITY_UNITS: dict[int, tuple[str | None, str | None]] = {
    # C: (unit for D=7 instantaneous, unit for D=8 cumulative)
    1: ("W", "Wh"),
    2: ("W", "Wh"),
    3: ("var", "varh"),
    4: ("var", "varh"),
    5: ("var", "varh"),
    6: ("var", "varh"),
    7: ("var", "varh"),
    8: ("var", "varh"),
    9: ("VA", "VAh"),
    10: ("VA", "VAh"),
    13: (None, None),
    14: ("Hz", None),
    15: ("W", "Wh"),
    16: ("W", "Wh"),
    81: ("deg", None),
}


def _phase_quantity(c: int) -> int:
    """Map per-phase quantity codes (21..40 L1, 41..60 L2, 61..80 L3) to their total code."""
    if 21 <= c <= 80:
        return (c - 1) % 20 + 1
    return c


def is_plausible_obis(raw: object) -> bool:
    """Whether a 6-byte octet string looks like an OBIS code rather than an identifier.

    Iskra sends its second ID as the ASCII "160456": A must be a medium (< 16), which rules
    printable text out; B is a channel (<= 64).
    """
    return (
        isinstance(raw, (bytes, bytearray))
        and len(raw) == OBIS_LENGTH
        and raw[0] < 16
        and raw[1] <= 64
        and raw[3] < 128
    )


@lru_cache(maxsize=1024)
def format_obis(raw: bytes) -> str:
    """Format a 6-byte code as A-B:C.D.E."""
    return f"{raw[0]}-{raw[1]}:{raw[2]}.{raw[3]}.{raw[4]}"


# Cached: a meter sends the same few keys on every push (bounded for hostile input).
@lru_cache(maxsize=1024)
def parse_obis(key: str) -> bytes | None:
    """The 6-byte code of a key "A-B:C.D.E" (F = 255) or "A-B:C.D.E*F"; None for another form."""
    head, _, tail = key.partition(":")
    a, _, b = head.partition("-")
    main, star, f = tail.partition("*")
    try:
        raw = bytes((int(a), int(b), *(int(x) for x in main.split(".")), int(f) if star else 0xFF))
    except ValueError:
        return None
    return raw if len(raw) == OBIS_LENGTH else None


def default_unit(raw: bytes | bytearray) -> str | None:
    """The unit an electricity register with this code has when the meter does not say."""
    a, c, d = raw[0], raw[2], raw[3]
    if a != 1:
        return None
    if c in (31, 51, 71, 91):
        return "A" if d == 7 else None
    if c in (32, 52, 72):
        return "V" if d == 7 else None
    if c in (33, 53, 73):
        return None
    units = _ELECTRICITY_UNITS.get(_phase_quantity(c))
    if units is None:
        return None
    if d in (7, 4, 5, 6, 14, 15, 24, 25, 26, 27):  # instantaneous, averages, demand, maxima
        return units[0]
    if d in (8, 9, 10, 29):  # cumulative registers
        return units[1]
    return None
