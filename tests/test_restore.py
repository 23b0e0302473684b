"""Totals survive a restart: restored at once, and never dragged down by the first odd reading."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import State
from meter_helpers import load_vector, mock_entry, push, setup_entry, state_of
from pytest_homeassistant_custom_component.common import mock_restore_cache_with_extra_data

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from meter_helpers import PtyPort, Vector
    from pytest_homeassistant_custom_component.common import MockConfigEntry

ENERGY = "sensor.meter_energy_import"
# The channel total sits on the sub-meter device "<meter> M-Bus 1" (entity.py).
WATER = "sensor.meter_m_bus_1_meter_reading"
POWER = "sensor.meter_power_import"


async def _first_run(hass: HomeAssistant, port: PtyPort, vector: Vector) -> MockConfigEntry:
    """Run the meter once so the registry holds what a real previous run leaves behind."""
    entry = mock_entry(vector, port=port.path, unique_id="meter", title="Meter")
    await setup_entry(hass, entry)
    await push(hass, entry, port, vector.data)
    assert await hass.config_entries.async_unload(entry.entry_id)
    # A fresh pty under the same name: this sandbox's ptys refuse a second open with parity.
    port.unplug()
    port.plug()
    return entry


async def _restart(
    hass: HomeAssistant, entry: MockConfigEntry, restored: list[tuple[str, Any, str]]
) -> None:
    """Start the entry again with the states Home Assistant saved at shutdown."""
    mock_restore_cache_with_extra_data(
        hass,
        [
            (
                State(entity_id, str(value)),
                {"native_value": value, "native_unit_of_measurement": unit},
            )
            for entity_id, value, unit in restored
        ],
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


async def test_totals_come_back_before_the_meter_pushes(
    hass: HomeAssistant, pty_port: PtyPort
) -> None:
    entry = await _first_run(hass, pty_port, load_vector("lge450-pushlist-1"))

    await _restart(hass, entry, [(ENERGY, 123456, "Wh"), (POWER, 50, "W")])

    assert float(state_of(hass, ENERGY).state) == 123.456
    # Power is a momentary value: an old one would mislead, so it waits for the meter.
    assert state_of(hass, POWER).state == STATE_UNAVAILABLE


async def test_restored_total_is_not_lowered_by_one_reading(
    hass: HomeAssistant, pty_port: PtyPort
) -> None:
    vector = load_vector("lge450-pushlist-1")
    entry = await _first_run(hass, pty_port, vector)
    restored = vector.meta["values"]["1-1:1.8.0"]["value"] + 1000
    await _restart(hass, entry, [(ENERGY, restored, "Wh")])

    await push(hass, entry, pty_port, vector.data)

    assert float(state_of(hass, ENERGY).state) == restored / 1000


async def test_decimal_totals_are_restored(hass: HomeAssistant, pty_port: PtyPort) -> None:
    entry = await _first_run(hass, pty_port, load_vector("lge450-pushlist-1"))
    decimal = {"__type": "<class 'decimal.Decimal'>", "decimal_str": "123456.5"}

    await _restart(hass, entry, [(ENERGY, decimal, "Wh")])

    assert float(state_of(hass, ENERGY).state) == 123.4565


async def test_restore_in_another_unit_is_ignored(hass: HomeAssistant, pty_port: PtyPort) -> None:
    entry = await _first_run(hass, pty_port, load_vector("lge450-pushlist-1"))

    await _restart(hass, entry, [(ENERGY, 5.0, "kWh")])

    assert state_of(hass, ENERGY).state == STATE_UNKNOWN


async def test_mbus_channel_is_classed_by_its_restored_unit(
    hass: HomeAssistant, pty_port: PtyPort
) -> None:
    entry = await _first_run(hass, pty_port, load_vector("lge450-mbus-channels"))

    await _restart(hass, entry, [(WATER, 12.5, "m³")])

    state = state_of(hass, WATER)
    assert float(state.state) == 12.5
    # m³ on an E450 channel (A=0) is gas by the documented default (obis_table.py).
    assert state.attributes["device_class"] == SensorDeviceClass.GAS
    assert state.attributes["unit_of_measurement"] == "m³"
