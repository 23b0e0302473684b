"""Whose id a reading carries: the meter's own, or that of a sub-meter on one of its M-Bus channels.

A reading is named after the first identifier in payload order (the shared vectors' rule), so the
push an L+G E450 sends for its M-Bus channels (push setup 0-11:25.9.0) is named after the gas or
water meter on channel 1 (0-1:96.1.0), while its main push (0-8:25.9.0) names the E450 itself.
IEC 62056-6-1 7.3.2: with value group A = 0, B > 0 numbers the M-Bus channel, so a 0-n:96.1.x id
names the device on channel n and never the meter that relays it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from .obis import parse_obis

if TYPE_CHECKING:
    from .models import Reading

# IEC 62056-6-1 7.5.2 (C = 96, D = 1: device ids 0..9) and 7.5.1 (C = 42: logical device name).
_DEVICE_ID: Final = (96, 1)
_LOGICAL_DEVICE_NAME: Final = (42, 0, 0)


def is_identifier_code(obis: bytes) -> bool:
    """0-0:42.0.0, 0-b:96.1.0..9 and (Kamstrup) 1-b:0.0.0..9: the codes a meter names itself by."""
    a, c, d, e = obis[0], obis[2], obis[3], obis[4]
    if a == 0:
        return (c, d, e) == _LOGICAL_DEVICE_NAME or ((c, d) == _DEVICE_ID and e <= 9)
    return a == 1 and c == 0 and d == 0 and e <= 9


def sub_meter_channel(obis: bytes) -> int | None:
    """The M-Bus channel whose device an identifier code names; None for the meter's own codes."""
    if obis[0] == 0 and obis[1] > 0 and (obis[2], obis[3]) == _DEVICE_ID:
        return obis[1]
    return None


@dataclass(slots=True)
class Identities:
    """Who a reading names: the meter's own id and the ids of the devices on its channels.

    `own` is None when the reading names only sub-meters; `sub_meters` is keyed by channel.
    """

    own: str | None = None
    sub_meters: dict[int, str] = field(default_factory=dict)


def identities(reading: Reading) -> Identities:
    """Sort the reading's ids into the meter's own and its sub-meters' (one pass over its texts).

    An id the decoder found without an identifier code (a positional list's meter-id element, an
    untagged text) is the one the meter's own list defines, so it is the meter's.
    """
    found = Identities()
    own_from_code: str | None = None
    meter_id_from_code = False
    for key, measurement in reading.values.items():
        text = measurement.value
        # Asked on every push: numbers (almost every value) are passed over at once.
        if type(text) is not str:
            continue
        obis = parse_obis(key)
        if obis is None or not is_identifier_code(obis):
            continue
        meter_id_from_code = meter_id_from_code or text == reading.meter_id
        channel = sub_meter_channel(obis)
        if channel is not None:
            found.sub_meters.setdefault(channel, text)
        elif own_from_code is None:
            own_from_code = text
    found.own = own_from_code if meter_id_from_code else reading.meter_id
    return found


def own_meter_id(reading: Reading) -> str | None:
    """The id the meter gives itself; None when the reading names only its sub-meters."""
    return identities(reading).own


def names_only_sub_meters(reading: Reading) -> bool:
    """A push of the M-Bus channels alone: it carries an id, but none of the meter's own."""
    return reading.meter_id is not None and identities(reading).own is None
