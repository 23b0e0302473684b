"""Line settings an entry may carry besides its meter type: baud rate, data bits, parity, stop bits.

Stored flat in the entry data; an entry without them uses its meter type's own settings, so
entries made before this existed keep working unchanged.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final

from homeassistant.helpers import selector
import voluptuous as vol

from .const import CONF_PROFILE
from .dlms import PROFILES, SerialSettings

if TYPE_CHECKING:
    from collections.abc import Mapping

    from .dlms import Profile

CONF_BAUDRATE: Final = "baudrate"
CONF_BYTESIZE: Final = "bytesize"
CONF_PARITY: Final = "parity"
CONF_STOPBITS: Final = "stopbits"
LINE_KEYS: Final = (CONF_BAUDRATE, CONF_BYTESIZE, CONF_PARITY, CONF_STOPBITS)
# Rates customer interfaces use (IEC 62056-21 starts at 300; P1 DLMS meters reach 115200).
BAUDRATES: Final = (300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)


def settings_data(settings: SerialSettings) -> dict[str, Any]:
    """Entry data for one set of line settings."""
    return {
        CONF_BAUDRATE: settings.baudrate,
        CONF_BYTESIZE: settings.bytesize,
        CONF_PARITY: settings.parity,
        CONF_STOPBITS: settings.stopbits,
    }


def settings_from(values: Mapping[str, Any], default: SerialSettings) -> SerialSettings:
    """Line settings from entry data or a form, each missing field taken from default."""
    return SerialSettings(
        baudrate=int(values.get(CONF_BAUDRATE) or default.baudrate),
        bytesize=int(values.get(CONF_BYTESIZE) or default.bytesize),
        parity=str(values.get(CONF_PARITY) or default.parity),
        stopbits=int(values.get(CONF_STOPBITS) or default.stopbits),
    )


def profile_for(data: Mapping[str, Any]) -> Profile:
    """The entry's meter type with the line settings the entry stores (or the type's own)."""
    profile = PROFILES[data[CONF_PROFILE]]
    if not any(data.get(key) for key in LINE_KEYS):
        return profile
    return replace(profile, serial=settings_from(data, profile.serial))


def _choice(key: str, options: list[str]) -> selector.SelectSelector:
    return selector.SelectSelector(
        selector.SelectSelectorConfig(
            options=options, mode=selector.SelectSelectorMode.DROPDOWN, translation_key=key
        )
    )


def line_schema() -> dict[vol.Marker, Any]:
    """Form fields for the line settings; empty fields mean the meter type's own."""
    return {
        vol.Optional(CONF_BAUDRATE): vol.All(
            _choice(CONF_BAUDRATE, [str(rate) for rate in BAUDRATES]), vol.Coerce(int)
        ),
        vol.Optional(CONF_BYTESIZE): vol.All(_choice(CONF_BYTESIZE, ["7", "8"]), vol.Coerce(int)),
        vol.Optional(CONF_PARITY): _choice(CONF_PARITY, ["N", "E", "O"]),
        vol.Optional(CONF_STOPBITS): vol.All(_choice(CONF_STOPBITS, ["1", "2"]), vol.Coerce(int)),
    }


def form_values(settings: SerialSettings) -> dict[str, str]:
    """The line settings as the form's select fields show them."""
    return {key: str(value) for key, value in settings_data(settings).items()}
