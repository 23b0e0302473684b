"""Home Assistant features that only newer releases have, detected in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from homeassistant import config_entries
from homeassistant.components.sensor import SensorDeviceClass

# Accepted upstream in May 2025 (after our minimum 2025.4); older releases leave varh unclassed.
REACTIVE_ENERGY: Final[SensorDeviceClass | None] = getattr(
    SensorDeviceClass, "REACTIVE_ENERGY", None
)

# Newer Home Assistant reloads an entry itself after an options flow of this kind; on older
# releases (2025.4) __init__.py reloads it from an update listener instead.
OPTIONS_FLOW_RELOADS: Final = hasattr(config_entries, "OptionsFlowWithReload")
if TYPE_CHECKING:
    OptionsFlowBase = config_entries.OptionsFlow
else:
    OptionsFlowBase = getattr(config_entries, "OptionsFlowWithReload", config_entries.OptionsFlow)
