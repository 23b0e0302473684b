"""Nordic HAN lists: Kaifa's positional layouts and the vendors' scaling conventions.

Kaifa MA304 meters (Norway, Sweden) push values without OBIS codes; their meaning comes from the
list identifier and the element count (Kaifa's HAN documentation, as implemented by amshan and
hass-AMS): list 2 is instantaneous values, list 3 adds the clock and the four energy registers.
No scalers are sent: currents are in mA and voltages in 0.1 V.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from .models import PositionalTemplate

_HEADER = ("list_id", "meter_id", "-")  # list id, meter id, meter type
_POWERS = ("1-0:1.7.0", "1-0:2.7.0", "1-0:3.7.0", "1-0:4.7.0")
_ENERGIES = ("clock", "1-0:1.8.0", "1-0:2.8.0", "1-0:3.8.0", "1-0:4.8.0")
_ONE_PHASE = ("1-0:31.7.0", "1-0:32.7.0")
_THREE_PHASE = ("1-0:31.7.0", "1-0:51.7.0", "1-0:71.7.0", "1-0:32.7.0", "1-0:52.7.0", "1-0:72.7.0")

LIST_TEMPLATES: tuple[PositionalTemplate, ...] = tuple(
    PositionalTemplate(_HEADER + _POWERS + phases + energies, list_id_prefix="KFM")
    for phases in (_ONE_PHASE, _THREE_PHASE)
    for energies in ((), _ENERGIES)
)


def _per(codes: tuple[str, ...], factor: float) -> dict[str, float]:
    return dict.fromkeys(codes, factor)


# Multipliers for lists that carry no scalers, keyed by list-id prefix.
VENDOR_SCALERS: Mapping[str, Mapping[str, float]] = MappingProxyType(
    {
        # Kaifa HAN: currents in mA, voltages in 0.1 V (amshan, hass-AMS).
        "KFM": MappingProxyType(
            _per(("31.7.0", "51.7.0", "71.7.0"), 0.001) | _per(("32.7.0", "52.7.0", "72.7.0"), 0.1)
        ),
        # Kamstrup HAN: currents in 10 mA, energies in 10 Wh (amshan, hass-AMS).
        "Kamstrup": MappingProxyType(
            _per(("31.7.0", "51.7.0", "71.7.0"), 0.01)
            | _per(("1.8.0", "2.8.0", "3.8.0", "4.8.0"), 10.0)
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
