"""Base entity: one device per meter, unique ids from the meter id and the OBIS key.

Values of an M-Bus channel (OBIS A=0, B=channel: a gas, water or heat meter wired to the
electricity meter) belong to a device of their own, reached through the electricity meter, as
core dsmr shows a gas meter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .coordinator import SmartMeterCoordinator
from .dlms.obis import parse_obis
from .obis_table import SUB_METER_MEDIA

if TYPE_CHECKING:
    from .dlms import Reading

# Active firmware identifier of the meter itself (IEC 62056-6-1 7.5.2: C=0, D=2, E=0).
_FIRMWARE: Final = ("0-0:0.2.0", "1-0:0.2.0")


def firmware_version(reading: Reading | None) -> str | None:
    """The firmware version the meter reports about itself, if its push list carries it."""
    if reading is None:
        return None
    return next((str(m.value) for key, m in reading.values.items() if key in _FIRMWARE), None)


def mbus_channel(key: str) -> int | None:
    """The M-Bus channel an OBIS key belongs to, None for the meter's own values.

    IEC 62056-6-1 7.3.2: with A = 0, B > 0 numbers the M-Bus channel; a value whose group A names
    heat, gas or water belongs to the sub-meter on channel B.
    """
    obis = parse_obis(key)
    if obis is None or obis[1] == 0 or not (obis[0] == 0 or obis[0] in SUB_METER_MEDIA):
        return None
    return obis[1]


def sub_meter_info(coordinator: SmartMeterCoordinator, channel: int) -> DeviceInfo:
    """The device of one M-Bus channel, via the electricity meter."""
    return coordinator.devices.sub_meter_info(coordinator.config_entry.title, channel)


class SmartMeterEntity(CoordinatorEntity[SmartMeterCoordinator]):
    """An entity of one meter; its unique id never depends on names or translations."""

    _attr_has_entity_name = True

    def __init__(self, coordinator: SmartMeterCoordinator, key: str) -> None:
        super().__init__(coordinator)
        self._attr_unique_id = f"{coordinator.meter_id}_{key}"
        channel = mbus_channel(key)
        if channel is not None:
            self._attr_device_info = sub_meter_info(coordinator, channel)
        elif firmware := firmware_version(coordinator.data):
            # The device registry merges this into the meter's device when the sensor is added.
            self._attr_device_info = DeviceInfo(**coordinator.device_info, sw_version=firmware)
        else:
            self._attr_device_info = coordinator.device_info
