"""Setting up, unloading and reloading meters, one or several at once."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntryState
from homeassistant.helpers import entity_registry as er
from meter_helpers import energy_import, load_vector, mock_entry, push, setup_entry
import pytest
from pytest_homeassistant_custom_component.common import snapshot_platform

from custom_components.smartmeter_datacollector.connection import close_meter_port, open_meter_port
from custom_components.smartmeter_datacollector.dlms import PROFILES
from custom_components.smartmeter_datacollector.publish.options_mqtt import CONF_LOG_READINGS

if TYPE_CHECKING:
    from collections.abc import Callable

    from homeassistant.core import HomeAssistant
    from meter_helpers import PtyPort
    from pytest_homeassistant_custom_component.common import MockConfigEntry
    from syrupy.assertion import SnapshotAssertion


async def test_setup_reads_the_meter_and_unload_frees_the_port(
    hass: HomeAssistant, pty_port: PtyPort, entity_registry: er.EntityRegistry
) -> None:
    vector = load_vector("lge360-cfg2026")
    entry = mock_entry(vector, port=pty_port.path)
    await setup_entry(hass, entry)
    assert entry.state is ConfigEntryState.LOADED
    await push(hass, entry, pty_port, vector.data)
    assert float(energy_import(hass, entry.unique_id)) > 0

    assert await hass.config_entries.async_unload(entry.entry_id)
    assert entry.state is ConfigEntryState.NOT_LOADED
    # (8N1 meter: this sandbox's ptys refuse a second open with parity.) Ports are opened
    # exclusively; another program (or the config flow) can have it now.
    _, writer = await open_meter_port(pty_port.path, PROFILES["lge360"].serial)
    await close_meter_port(writer)


async def test_missing_adapter_retries_setup(hass: HomeAssistant, tmp_path: object) -> None:
    entry = mock_entry(port="/dev/serial/by-id/usb-no-such-adapter-if00-port0", profile="lge450")
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert "No such file or directory" in (entry.reason or "")


async def test_reload_keeps_sensors_and_reads_again(
    hass: HomeAssistant, pty_port: PtyPort, entity_registry: er.EntityRegistry
) -> None:
    # An 8N1 meter: this sandbox's ptys refuse to be reopened with parity once it was set.
    vector = load_vector("lge360-cfg2026")
    entry = mock_entry(vector, port=pty_port.path)
    await setup_entry(hass, entry)
    await push(hass, entry, pty_port, vector.data)
    energy = energy_import(hass, entry.unique_id)

    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    # The energy total comes back at once (restored), before the meter pushes again.
    assert energy_import(hass, entry.unique_id) == energy
    await push(hass, entry, pty_port, vector.data)
    assert energy_import(hass, entry.unique_id) == energy


async def test_two_meters_at_once(
    hass: HomeAssistant,
    pty_factory: Callable[[str], PtyPort],
    entity_registry: er.EntityRegistry,
) -> None:
    first, second = load_vector("lge450-pushlist-1"), load_vector("lge570-cfg2026-load")
    first_port, second_port = pty_factory("first"), pty_factory("second")
    first_entry = mock_entry(first, port=first_port.path)
    second_entry = mock_entry(second, port=second_port.path)
    await setup_entry(hass, first_entry)
    await setup_entry(hass, second_entry)

    await push(hass, first_entry, first_port, first.data)
    await push(hass, second_entry, second_port, second.data)

    first_energy = float(energy_import(hass, first_entry.unique_id))
    second_energy = float(energy_import(hass, second_entry.unique_id))
    assert first_energy * 1000 == first.meta["values"]["1-1:1.8.0"]["value"]
    assert second_energy * 1000 == second.meta["values"]["1-1:1.8.0"]["value"]

    # Unloading one meter leaves the other reading.
    assert await hass.config_entries.async_unload(first_entry.entry_id)
    await push(hass, second_entry, second_port, second.data)
    assert second_entry.state is ConfigEntryState.LOADED


async def test_reading_log_option_logs_every_reading_and_options_apply_on_change(
    hass: HomeAssistant, pty_port: PtyPort, caplog: pytest.LogCaptureFixture
) -> None:
    """With "log readings" on, each reading reaches the log; turning it off applies at once."""
    vector = load_vector("lge360-cfg2026")
    entry = mock_entry(vector, port=pty_port.path, options={CONF_LOG_READINGS: True})
    await setup_entry(hass, entry)
    caplog.set_level(logging.INFO, logger="custom_components.smartmeter_datacollector.readings")

    await push(hass, entry, pty_port, vector.data)
    logged = [r for r in caplog.records if r.name.endswith(".readings")]
    assert logged
    assert str(entry.unique_id) in logged[-1].getMessage()
    assert entry.runtime_data.publishers

    hass.config_entries.async_update_entry(entry, options={CONF_LOG_READINGS: False})
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.publishers == []


async def test_new_title_or_unique_id_does_not_reload(
    hass: HomeAssistant, pty_port: PtyPort, caplog: pytest.LogCaptureFixture
) -> None:
    """Only new options reload: a flow that renames the entry must keep the port it listens on.

    A reload for every entry update raced the reauth flow for the port (issue 8, item 8).
    """
    vector = load_vector("lge360-cfg2026")
    entry = mock_entry(vector, port=pty_port.path)
    await setup_entry(hass, entry)
    caplog.set_level(logging.DEBUG, logger="serialx")

    hass.config_entries.async_update_entry(entry, title="Renamed", unique_id="another-id")
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.LOADED
    assert not [r for r in caplog.records if "Closing" in r.getMessage()]


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_setup_creates_these_entities(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """Every sensor of a simulated E360, its registry entry and its state after one push."""
    await snapshot_platform(hass, entity_registry, snapshot, init_integration.entry_id)
