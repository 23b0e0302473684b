"""Nordic HAN lists: Kaifa's positional layouts and the vendors' scaling conventions.

Kaifa MA304 meters (Norway, Sweden) push values without OBIS codes; their meaning comes from the
list identifier and the element count (Kaifa's HAN documentation, as implemented by amshan and
hass-AMS): list 2 is instantaneous values, list 3 adds the clock and the four energy registers.
No scalers are sent: currents are in mA and voltages in 0.1 V.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from .entries import Entry, Layout, as_text

# COSEM unit codes used to label positional values.
_W, _VAR, _WH, _VARH, _A, _V = 27, 29, 30, 32, 33, 35


def _code(c: int, d: int, e: int = 0, a: int = 1) -> bytes:
    return bytes((a, 0, c, d, e, 0xFF))


_CLOCK = _code(1, 0, 0, a=0)
_POWERS = (
    (_code(1, 7), 0, _W),
    (_code(2, 7), 0, _W),
    (_code(3, 7), 0, _VAR),
    (_code(4, 7), 0, _VAR),
)
_ENERGIES = (
    (_code(1, 8), 0, _WH),
    (_code(2, 8), 0, _WH),
    (_code(3, 8), 0, _VARH),
    (_code(4, 8), 0, _VARH),
)
_CURRENTS_3 = tuple((_code(c, 7), -3, _A) for c in (31, 51, 71))
_VOLTAGES_3 = tuple((_code(c, 7), -1, _V) for c in (32, 52, 72))
_CURRENT_1 = ((_code(31, 7), -3, _A),)
_VOLTAGE_1 = ((_code(32, 7), -1, _V),)

# Element count -> what follows the list id, meter id and meter type (None marks the clock).
_KAIFA_LISTS: Mapping[int, tuple[tuple[bytes, int, int] | None, ...]] = MappingProxyType(
    {
        9: _POWERS + _CURRENT_1 + _VOLTAGE_1,
        13: _POWERS + _CURRENTS_3 + _VOLTAGES_3,
        14: _POWERS + _CURRENT_1 + _VOLTAGE_1 + (None,) + _ENERGIES,
        18: _POWERS + _CURRENTS_3 + _VOLTAGES_3 + (None,) + _ENERGIES,
    }
)
_KAIFA_PREFIX = "KFM"
_HEADER_FIELDS = 3  # list id, meter id, meter type

# Multipliers for lists that carry OBIS codes but no scalers, keyed by list-id prefix.
VENDOR_SCALERS: Mapping[str, Mapping[str, float]] = MappingProxyType(
    {
        # Kamstrup HAN: currents in 10 mA, energies in 10 Wh (amshan, hass-AMS).
        "Kamstrup": MappingProxyType(
            {
                **dict.fromkeys(("31.7.0", "51.7.0", "71.7.0"), 0.01),
                **dict.fromkeys(("1.8.0", "2.8.0", "3.8.0", "4.8.0"), 10.0),
            }
        ),
    }
)


def vendor_scalers(list_id: str | None) -> Mapping[str, float]:
    """The scaling convention of the vendor whose list identifier this is."""
    if list_id:
        for prefix, scalers in VENDOR_SCALERS.items():
            if list_id.startswith(prefix):
                return scalers
    return MappingProxyType({})


def positional_entries(body: list[Any]) -> Layout | None:
    """Entries for a Kaifa positional list, or None when the body is not one."""
    list_id = as_text(body[0]) if body else None
    template = _KAIFA_LISTS.get(len(body))
    if list_id is None or not list_id.startswith(_KAIFA_PREFIX) or template is None:
        return None
    layout = Layout(list_id=list_id, positional_meter_id=as_text(body[1]))
    for spec, value in zip(template, body[_HEADER_FIELDS:], strict=True):
        if spec is None:
            layout.entries.append(Entry(_CLOCK, value))
            continue
        obis, scaler, unit = spec
        if not isinstance(value, int):
            return None
        layout.entries.append(Entry(obis, value, scaler, unit))
    return layout
