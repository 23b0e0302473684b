"""The devices a household sees: the meter with its firmware, M-Bus sub-meters via the meter."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.helpers import device_registry as dr, entity_registry as er
from meter_helpers import SimulatedMeter, load_vector, mock_entry, push, setup_entry, state_of
import pytest

from custom_components.smartmeter_datacollector.const import CONF_MIN_INTERVAL, DOMAIN
from smartmeter_devtools.apdu_encode import data_notification
from smartmeter_devtools.axdr_encode import (
    CosemDateTime,
    Enum,
    Int8,
    OctetString,
    Structure,
    UInt32,
    obis,
)
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


def _sub_meter(device_registry: dr.DeviceRegistry, meter_id: str, channel: int) -> dr.DeviceEntry:
    """The device of M-Bus channel `channel`, which must hang off the meter's own device."""
    meter = device_registry.async_get_device(identifiers={(DOMAIN, meter_id)})
    sub = device_registry.async_get_device(identifiers={(DOMAIN, f"{meter_id}_mbus_{channel}")})
    assert meter is not None
    assert sub is not None
    assert sub.via_device_id == meter.id
    return sub


async def test_simulated_gas_channel_is_a_gas_meter_device(
    hass: HomeAssistant,
    pty_port: PtyPort,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    """The simulated E450 pushes tariff totals and a gas meter (m³ scaler/unit, attribute 3)."""
    meter = SimulatedMeter("lge450")
    entry = mock_entry(
        port=pty_port.path,
        profile="lge450",
        unique_id=meter.meter_id,
        title="Meter",
        options={CONF_MIN_INTERVAL: 0},
    )
    await setup_entry(hass, entry)
    await push(hass, entry, pty_port, meter.message())
    assert meter.expected is not None

    gas = state_of(hass, "sensor.meter_m_bus_1_meter_reading")
    assert gas.attributes["device_class"] == SensorDeviceClass.GAS
    assert gas.attributes["unit_of_measurement"] == "m³"
    assert gas.attributes["state_class"] == SensorStateClass.TOTAL_INCREASING
    assert float(gas.state) == meter.expected.values["0-1:24.2.1"].value
    sub = _sub_meter(device_registry, meter.meter_id, 1)
    gas_entity = entity_registry.async_get("sensor.meter_m_bus_1_meter_reading")
    assert gas_entity is not None
    assert gas_entity.device_id == sub.id
    # Day and night tariff totals are on from the start, on the meter's own device.
    for tariff in ("1", "2"):
        total = state_of(hass, f"sensor.meter_energy_import_tariff_{tariff}")
        assert total.attributes["device_class"] == SensorDeviceClass.ENERGY


async def test_capture_channels_become_sub_meter_devices(
    hass: HomeAssistant, pty_port: PtyPort, device_registry: dr.DeviceRegistry
) -> None:
    """The real E450 channel push: raw counts without a unit get a device but no class."""
    vector = load_vector("lge450-mbus-channels")
    entry = mock_entry(vector, port=pty_port.path, title="Meter")
    await setup_entry(hass, entry)
    await push(hass, entry, pty_port, vector.data)

    meter_id = str(vector.meta["meter_id"])
    for key, expected in vector.meta["values"].items():
        if not key.endswith(":24.2.1"):
            continue
        channel = int(key.split(":")[0].split("-")[1])
        _sub_meter(device_registry, meter_id, channel)
        state = state_of(hass, f"sensor.meter_m_bus_{channel}_meter_reading")
        assert float(state.state) == expected["value"]
        # The push carries attribute 2 only (sidecar: unit null): no gas/water claim.
        assert "device_class" not in state.attributes
        assert state.attributes["state_class"] == SensorStateClass.TOTAL_INCREASING


@pytest.mark.parametrize(
    ("medium", "device_class"),
    [(7, SensorDeviceClass.GAS), (8, SensorDeviceClass.WATER), (9, SensorDeviceClass.WATER)],
)
async def test_obis_medium_names_the_sub_meter(
    hass: HomeAssistant,
    pty_port: PtyPort,
    device_registry: dr.DeviceRegistry,
    medium: int,
    device_class: SensorDeviceClass,
) -> None:
    """A value whose OBIS A is gas or water (IEC 62056-6-1 7.3.1) is that meter, on channel 2."""
    body = Structure(
        [
            CosemDateTime(2024, 5, 4, 6, 13, 39, 21, None, None, 0).octet_string(),
            obis("0-0:96.1.0"),
            OctetString(b"12345678"),
            obis(f"{medium}-2:1.0.0"),
            UInt32(123456),
            Structure([Int8(-3), Enum(13)]),  # {scaler 10^-3, unit m³}
        ]
    )
    entry = mock_entry(port=pty_port.path, profile="generic", unique_id="12345678", title="Meter")
    await setup_entry(hass, entry)
    apdu = data_notification(1, None, body)
    (frame,) = hdlc_frames_per_block([apdu], dest=hdlc_address(0x67, 2), src=hdlc_address(1, 1))
    await push(hass, entry, pty_port, frame)

    _sub_meter(device_registry, "12345678", 2)
    state = state_of(hass, "sensor.meter_m_bus_2_meter_reading")
    assert state.attributes["device_class"] == device_class
    assert float(state.state) == 123.456
