"""Constants shared by the Home Assistant glue."""

from __future__ import annotations

import logging
from typing import Final

DOMAIN: Final = "smartmeter_datacollector"
LOGGER: Final = logging.getLogger(__package__)

# Config entry data keys (fixed by the setup issue; do not rename: stored in users' entries).
CONF_PROFILE: Final = "profile"
CONF_PORT: Final = "port"
CONF_KEY: Final = "key"
CONF_AUTH_KEY: Final = "auth_key"

# Options.
CONF_MIN_INTERVAL: Final = "min_interval"
# Seconds between live power updates (each the mean of the pushes since; jumps at once); 0 =
# every push. 60 s keeps a meter under core dsmr's default recorder load (update_policy.py).
DEFAULT_MIN_INTERVAL: Final = 60
# Energy totals are written at least this often even when throttled, so statistics stay dense.
ENERGY_MAX_SILENCE: Final = 60

# DLMS FLAG manufacturer ids (the first three letters of the logical device name).
FLAG_MANUFACTURERS: Final[dict[str, str]] = {
    "AID": "Aidon",
    "ELS": "Elster",
    "EMH": "EMH metering",
    "ISK": "Iskraemeco",
    "KAM": "Kamstrup",
    "KFM": "Kaifa",
    "LGZ": "Landis+Gyr",
    "SAG": "Sagemcom",
    "SIE": "Siemens",
}
