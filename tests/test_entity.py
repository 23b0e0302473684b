"""The devices a household sees: the meter with its firmware, M-Bus sub-meters via the meter."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.helpers import device_registry as dr
from meter_helpers import mock_entry, push, setup_entry

from custom_components.smartmeter_datacollector.const import DOMAIN
from smartmeter_devtools.apdu_encode import data_notification
from smartmeter_devtools.axdr_encode import CosemDateTime, OctetString, Structure, UInt32, obis
from smartmeter_devtools.framing_encode import hdlc_address, hdlc_frames_per_block

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from meter_helpers import PtyPort


async def test_firmware_the_meter_reports_shows_on_its_device(
    hass: HomeAssistant, pty_port: PtyPort, device_registry: dr.DeviceRegistry
) -> None:
    body = Structure(
        [
            CosemDateTime(2024, 5, 4, 6, 13, 39, 21, None, None, 0).octet_string(),
            obis("0-0:96.1.0"),
            OctetString(b"12345678"),
            obis("1-0:0.2.0"),
            OctetString(b"V01.23"),
            obis("1-0:1.8.0"),
            UInt32(123456),
        ]
    )
    entry = mock_entry(port=pty_port.path, profile="generic", unique_id="12345678")
    await setup_entry(hass, entry)

    apdu = data_notification(1, None, body)
    (frame,) = hdlc_frames_per_block([apdu], dest=hdlc_address(0x67, 2), src=hdlc_address(1, 1))
    await push(hass, entry, pty_port, frame)

    device = device_registry.async_get_device(identifiers={(DOMAIN, "12345678")})
    assert device is not None
    assert device.sw_version == "V01.23"
