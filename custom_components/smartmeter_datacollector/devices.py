"""The devices of one meter: the meter itself, and one per M-Bus channel reached through it.

Identifiers are fixed at setup (the entry's unique id); what the readings say about the devices
(the meter's serial number and maker, the ids of the gas or water meters on its channels) is
learnt as it arrives and written to the device registry. An id from a channel's 0-n:96.1.x names
that channel's device only (`dlms.identity`): an E450 that alternates its main push with the push
of its M-Bus channels must not rename itself after its gas meter on every other push.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from homeassistant.core import callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceInfo

from .const import DOMAIN, FLAG_MANUFACTURERS
from .dlms.identity import identities

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

    from .dlms.models import Profile, Reading

UNKNOWN_MANUFACTURER: Final = "Unknown"


def sub_meter_identifier(meter_id: str, channel: int) -> tuple[str, str]:
    """The device registry identifier of the device on one M-Bus channel of a meter."""
    return (DOMAIN, f"{meter_id}_mbus_{channel}")


class MeterDevices:
    """What the readings said about the meter and its sub-meters; the registry follows it."""

    def __init__(self, hass: HomeAssistant, meter_id: str, profile: Profile) -> None:
        self._hass = hass
        self.meter_id = meter_id
        self._profile = profile
        self.serial_number: str | None = None
        self.flag_id: str | None = None
        self.sub_meter_ids: dict[int, str] = {}

    @property
    def manufacturer(self) -> str | None:
        """Maker from the profile, else from the FLAG id the meter sends."""
        if self._profile.manufacturer != UNKNOWN_MANUFACTURER:
            return self._profile.manufacturer
        if self.flag_id is None:
            return None
        return FLAG_MANUFACTURERS.get(self.flag_id, self.flag_id)

    def meter_info(self, name: str) -> DeviceInfo:
        """The device the meter is."""
        return DeviceInfo(
            identifiers={(DOMAIN, self.meter_id)},
            name=name,
            manufacturer=self.manufacturer,
            model=self._profile.model,
            serial_number=self.serial_number or self.meter_id,
        )

    def sub_meter_info(self, name: str, channel: int) -> DeviceInfo:
        """The device on one M-Bus channel, via the meter; its serial once a push named it."""
        info = DeviceInfo(
            identifiers={sub_meter_identifier(self.meter_id, channel)},
            name=f"{name} M-Bus {channel}",
            via_device=(DOMAIN, self.meter_id),
        )
        if serial := self.sub_meter_ids.get(channel):
            info["serial_number"] = serial
        return info

    @callback
    def learn(self, reading: Reading) -> None:
        """Take the ids a reading carries; update the registered devices whose ids changed."""
        found = identities(reading)
        serial = found.own or self.serial_number
        flag = reading.manufacturer or self.flag_id
        registry: dr.DeviceRegistry | None = None
        if (serial, flag) != (self.serial_number, self.flag_id):
            self.serial_number, self.flag_id = serial, flag
            registry = dr.async_get(self._hass)
            if device := registry.async_get_device(identifiers={(DOMAIN, self.meter_id)}):
                registry.async_update_device(
                    device.id, manufacturer=self.manufacturer, serial_number=serial
                )
        for channel, sub_id in found.sub_meters.items():
            if self.sub_meter_ids.get(channel) == sub_id:
                continue
            self.sub_meter_ids[channel] = sub_id
            # The channel's device appears with its first sensor, which reads sub_meter_info.
            registry = registry or dr.async_get(self._hass)
            identifier = sub_meter_identifier(self.meter_id, channel)
            if device := registry.async_get_device(identifiers={identifier}):
                registry.async_update_device(device.id, serial_number=sub_id)
