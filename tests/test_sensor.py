"""Sensors as a user sees them: real captures pushed through a pty into a running Home Assistant."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from homeassistant.components.sensor import ATTR_STATE_CLASS, SensorDeviceClass, SensorStateClass
from homeassistant.const import ATTR_DEVICE_CLASS, ATTR_UNIT_OF_MEASUREMENT, STATE_UNAVAILABLE
from homeassistant.helpers import device_registry as dr, entity_registry as er
from meter_helpers import (
    is_push_capture,
    load_vector,
    mock_entry,
    push,
    setup_entry,
    state_of,
    vector_names,
)
import pytest

from custom_components.smartmeter_datacollector.const import (
    CONF_MIN_INTERVAL,
    DOMAIN,
    ENERGY_MAX_SILENCE,
)
from custom_components.smartmeter_datacollector.dlms import PROFILES
from custom_components.smartmeter_datacollector.sensor import DECREASE_CONFIRMATIONS

if TYPE_CHECKING:
    from freezegun.api import FrozenDateTimeFactory
    from homeassistant.core import HomeAssistant
    from meter_helpers import PtyPort
    from syrupy.assertion import SnapshotAssertion


def _entity_id(entity_registry: er.EntityRegistry, meter_id: str, key: str) -> str:
    entity_id = entity_registry.async_get_entity_id("sensor", DOMAIN, f"{meter_id}_{key}")
    assert entity_id, f"no sensor for {key}"
    return entity_id


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@pytest.mark.parametrize("name", vector_names(is_push_capture))
async def test_every_capture_becomes_sensors(
    hass: HomeAssistant,
    pty_port: PtyPort,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    name: str,
) -> None:
    vector = load_vector(name)
    # A neutral meter id and title keep the captures' identities out of the stored snapshot.
    entry = mock_entry(vector, port=pty_port.path, unique_id="meter", title="Meter")
    await setup_entry(hass, entry)
    await push(hass, entry, pty_port, vector.data)

    # Registry entries and state attributes (names, classes, units, categories) are snapshotted;
    # the values come from the capture's sidecar at run time, never from the repository.
    entity_entries = er.async_entries_for_config_entry(entity_registry, entry.entry_id)
    assert entity_entries
    for entity_entry in entity_entries:
        assert entity_entry == snapshot(name=f"{entity_entry.entity_id}-entry")
        state = state_of(hass, entity_entry.entity_id)
        assert dict(state.attributes) == snapshot(name=f"{entity_entry.entity_id}-attributes")

    for key, value in vector.meta["values"].items():
        state = state_of(hass, _entity_id(entity_registry, entry.unique_id, key))
        assert state is not None
        if isinstance(value["value"], str):
            assert state.state == value["value"]
        elif state.attributes.get(ATTR_UNIT_OF_MEASUREMENT) == "kWh":
            assert float(state.state) == pytest.approx(value["value"] / 1000)
        else:
            assert float(state.state) == pytest.approx(value["value"])


async def test_energy_totals_are_what_the_energy_dashboard_needs(
    hass: HomeAssistant, pty_port: PtyPort, entity_registry: er.EntityRegistry
) -> None:
    vector = load_vector("lge450-pushlist-1")
    entry = mock_entry(vector, port=pty_port.path)
    await setup_entry(hass, entry)
    await push(hass, entry, pty_port, vector.data)

    energy = state_of(hass, _entity_id(entity_registry, entry.unique_id, "1-1:1.8.0"))
    assert energy.attributes[ATTR_DEVICE_CLASS] == SensorDeviceClass.ENERGY
    assert energy.attributes[ATTR_STATE_CLASS] == SensorStateClass.TOTAL_INCREASING
    assert energy.attributes[ATTR_UNIT_OF_MEASUREMENT] == "kWh"
    assert energy.name == f"{entry.title} Energy import"

    power = state_of(hass, _entity_id(entity_registry, entry.unique_id, "1-0:1.7.0"))
    assert power.attributes[ATTR_DEVICE_CLASS] == SensorDeviceClass.POWER
    assert power.attributes[ATTR_UNIT_OF_MEASUREMENT] == "W"

    # Like core dsmr, what the Energy dashboard does not need starts disabled: every enabled
    # value costs recorder rows (README "Updates and the recorder").
    factor = entity_registry.async_get(_entity_id(entity_registry, entry.unique_id, "1-0:13.7.0"))
    assert factor.disabled_by is er.RegistryEntryDisabler.INTEGRATION
    assert factor.original_device_class == SensorDeviceClass.POWER_FACTOR
    assert factor.unit_of_measurement is None

    # Per-quadrant reactive energy exists but is disabled until the user wants it; it is never
    # active energy (varh, no ENERGY class) so it cannot pollute the Energy dashboard.
    quadrant = entity_registry.async_get(_entity_id(entity_registry, entry.unique_id, "1-1:5.8.0"))
    assert quadrant.disabled_by is er.RegistryEntryDisabler.INTEGRATION
    assert quadrant.original_device_class != SensorDeviceClass.ENERGY
    assert quadrant.unit_of_measurement == "varh"


async def test_one_device_per_meter_names_maker_model_and_serial(
    hass: HomeAssistant, pty_port: PtyPort, device_registry: dr.DeviceRegistry
) -> None:
    vector = load_vector("kaifa-netznoe-mbus-enc")
    entry = mock_entry(vector, port=pty_port.path)
    await setup_entry(hass, entry)
    await push(hass, entry, pty_port, vector.data)

    device = device_registry.async_get_device(identifiers={(DOMAIN, entry.unique_id)})
    assert device is not None
    assert (device.manufacturer, device.model, device.serial_number) == (
        "Kaifa",
        "MA309",
        vector.meta["meter_id"],
    )


async def test_generic_meter_takes_its_maker_from_the_flag_id(
    hass: HomeAssistant, pty_port: PtyPort, device_registry: dr.DeviceRegistry
) -> None:
    vector = load_vector("lge360-cfg2026")
    entry = mock_entry(vector, port=pty_port.path, profile="generic")
    await setup_entry(hass, entry)
    await push(hass, entry, pty_port, vector.data)

    device = device_registry.async_get_device(identifiers={(DOMAIN, entry.unique_id)})
    assert device.manufacturer == "Landis+Gyr"
    assert device.model == "DLMS/COSEM meter"


async def test_values_first_seen_later_get_their_own_sensors(
    hass: HomeAssistant,
    pty_port: PtyPort,
    entity_registry: er.EntityRegistry,
    device_registry: dr.DeviceRegistry,
) -> None:
    first, later = load_vector("lge450-pushlist-2"), load_vector("lge450-mbus-channels")
    entry = mock_entry(first, port=pty_port.path)
    await setup_entry(hass, entry)
    await push(hass, entry, pty_port, first.data)
    before = len(er.async_entries_for_config_entry(entity_registry, entry.entry_id))

    await push(hass, entry, pty_port, later.data)

    water = state_of(hass, _entity_id(entity_registry, entry.unique_id, "0-1:24.2.1"))
    assert water is not None
    assert water.name == f"{entry.title} M-Bus 1 Meter reading"
    # The M-Bus channel is a device of its own, reached through the electricity meter.
    water_entry = entity_registry.async_get(
        _entity_id(entity_registry, entry.unique_id, "0-1:24.2.1")
    )
    sub_meter = device_registry.async_get(water_entry.device_id)
    meter = device_registry.async_get_device(identifiers={(DOMAIN, entry.unique_id)})
    assert sub_meter.id != meter.id
    assert sub_meter.via_device_id == meter.id
    assert water.attributes[ATTR_STATE_CLASS] == SensorStateClass.TOTAL_INCREASING
    assert len(er.async_entries_for_config_entry(entity_registry, entry.entry_id)) > before
    # Values the later push did not carry keep their last state instead of going unknown.
    power = state_of(hass, _entity_id(entity_registry, entry.unique_id, "1-0:1.7.0"))
    assert float(power.state) == first.meta["values"]["1-0:1.7.0"]["value"]


async def test_energy_total_ignores_a_single_drop_but_follows_a_real_reset(
    hass: HomeAssistant, pty_port: PtyPort, entity_registry: er.EntityRegistry
) -> None:
    loaded, idle = load_vector("lge570-cfg2026-load"), load_vector("lge570-cfg2026-idle")
    # Every push written, so each reading's effect shows at once.
    entry = mock_entry(loaded, port=pty_port.path, options={CONF_MIN_INTERVAL: 0})
    await setup_entry(hass, entry)
    await push(hass, entry, pty_port, loaded.data)
    entity_id = _entity_id(entity_registry, entry.unique_id, "1-1:1.8.0")
    total = float(state_of(hass, entity_id).state)
    assert total > 0

    # A register reading 0 (here: another capture) would make statistics count everything again.
    for _ in range(DECREASE_CONFIRMATIONS - 1):
        await push(hass, entry, pty_port, idle.data)
        assert float(state_of(hass, entity_id).state) == total
    # Seen again and again, it is a real reset (meter exchanged): follow it.
    await push(hass, entry, pty_port, idle.data)
    assert float(state_of(hass, entity_id).state) == 0


# A ticking clock: serialx pauses briefly after opening a port, which a frozen loop never ends.
# The voltage sensor starts disabled; enabled here as a user who watches it would.
@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@pytest.mark.freeze_time(tick=True)
async def test_long_interval_still_shows_jumps_and_writes_energy_within_a_minute(
    hass: HomeAssistant,
    pty_port: PtyPort,
    entity_registry: er.EntityRegistry,
    freezer: FrozenDateTimeFactory,
) -> None:
    idle, loaded = load_vector("lge570-cfg2026-idle"), load_vector("lge570-cfg2026-load")
    entry = mock_entry(idle, port=pty_port.path, options={CONF_MIN_INTERVAL: 3600})
    await setup_entry(hass, entry)
    await push(hass, entry, pty_port, idle.data)
    power = _entity_id(entity_registry, entry.unique_id, "1-0:1.7.0")
    energy = _entity_id(entity_registry, entry.unique_id, "1-1:1.8.0")
    voltage = _entity_id(entity_registry, entry.unique_id, "1-0:32.7.0")
    assert state_of(hass, power).state == "0"
    idle_voltage = state_of(hass, voltage).state

    # The user asked for an update an hour; a load switching on still shows at once.
    push_interval = timedelta(seconds=PROFILES["lge570"].push_interval)
    freezer.tick(push_interval)
    await push(hass, entry, pty_port, loaded.data)
    assert float(state_of(hass, power).state) == loaded.meta["values"]["1-0:1.7.0"]["value"]

    # The meter keeps pushing every 5 s; the energy total is written within a minute, while the
    # voltage (nothing a person watches live) waits for the hour.
    waited = push_interval
    while float(state_of(hass, energy).state) == 0:
        assert waited <= timedelta(seconds=ENERGY_MAX_SILENCE)
        assert state_of(hass, voltage).state == idle_voltage
        freezer.tick(push_interval)
        waited += push_interval
        await push(hass, entry, pty_port, loaded.data)
    assert float(state_of(hass, energy).state) == pytest.approx(
        loaded.meta["values"]["1-1:1.8.0"]["value"] / 1000
    )


async def test_sensors_stay_available_when_a_frame_is_bad(
    hass: HomeAssistant, pty_port: PtyPort, entity_registry: er.EntityRegistry
) -> None:
    good, bad = load_vector("lge450-pushlist-1"), load_vector("lge450-gbt-dup-block")
    entry = mock_entry(good, port=pty_port.path)
    await setup_entry(hass, entry)
    await push(hass, entry, pty_port, good.data)
    await pty_port.write(bad.data)
    await push(hass, entry, pty_port, good.data)

    energy = state_of(hass, _entity_id(entity_registry, entry.unique_id, "1-1:1.8.0"))
    assert energy.state != STATE_UNAVAILABLE
    assert float(energy.state) == pytest.approx(good.meta["values"]["1-1:1.8.0"]["value"] / 1000)
