"""The connection over time: unplugged adapters, silent meters, back-off, recovery, logging."""

from __future__ import annotations

from datetime import timedelta
import logging
from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from meter_helpers import SerialServer, load_vector, mock_entry, push, settle, setup_entry, state_of
import pytest
from pytest_homeassistant_custom_component.common import (
    async_fire_time_changed,
    async_fire_time_changed_exact,
)

from custom_components.smartmeter_datacollector.const import DOMAIN
from custom_components.smartmeter_datacollector.coordinator import (
    DEVICE_POLL,
    RECONNECT_MAX,
    WATCHDOG_MIN,
)

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from meter_helpers import PtyPort

LOST = "Lost the meter port"
BACK = "is back"
RETRY = "still unavailable"
READINGS_BACK = "Readings from the meter"
REOPENED = "Opened the meter port"
WATCHDOG = timedelta(seconds=WATCHDOG_MIN + 1)


@pytest.fixture(autouse=True)
def debug_logging(caplog: pytest.LogCaptureFixture) -> None:
    """Reconnect attempts are logged at debug level; the tests count them."""
    caplog.set_level(logging.DEBUG, logger="custom_components.smartmeter_datacollector")


def _energy(hass: HomeAssistant, entity_registry: er.EntityRegistry, meter_id: str) -> str:
    entity_id = entity_registry.async_get_entity_id("sensor", DOMAIN, f"{meter_id}_1-1:1.8.0")
    assert entity_id
    return state_of(hass, entity_id).state


def _count(caplog: pytest.LogCaptureFixture, text: str) -> int:
    return sum(text in record.getMessage() for record in caplog.records)


async def test_unplugged_adapter_goes_unavailable_and_returns_without_restart(
    hass: HomeAssistant,
    pty_port: PtyPort,
    entity_registry: er.EntityRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    vector = load_vector("lge450-pushlist-1")
    entry = mock_entry(vector, port=pty_port.path)
    await setup_entry(hass, entry)
    await push(hass, entry, pty_port, vector.data)
    value = _energy(hass, entity_registry, entry.unique_id)

    pty_port.unplug()
    # Values from a port that is gone are stale at once, not after the watchdog.
    await settle(hass, lambda: _energy(hass, entity_registry, entry.unique_id) == STATE_UNAVAILABLE)
    assert _count(caplog, LOST) == 1
    # However long it stays unplugged, the path is watched, not backed off from.
    for _ in range(3):
        async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=RECONNECT_MAX))
        await hass.async_block_till_done()

    pty_port.plug()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=DEVICE_POLL))
    await settle(hass, lambda: _count(caplog, BACK) == 1)
    await push(hass, entry, pty_port, vector.data)

    assert _energy(hass, entity_registry, entry.unique_id) == value
    assert entry.state is ConfigEntryState.LOADED
    # Logged once when lost and once when back, however many attempts were in between.
    assert _count(caplog, LOST) == 1
    assert _count(caplog, READINGS_BACK) == 1


@pytest.mark.usefixtures("socket_enabled")
async def test_serial_server_reconnect_backs_off_from_one_second_doubling_to_a_minute(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    vector = load_vector("lge450-pushlist-1")
    # A serial server that hangs up after one push and then refuses every connection.
    server = SerialServer(vector.data)
    await server.start()
    entry = mock_entry(vector, port=server.url)
    await setup_entry(hass, entry)
    await settle(hass, lambda: _count(caplog, LOST) == 1)
    await server.stop()

    for attempt, delay in enumerate([1, 2, 4, 8, 16, 32, 60, 60], start=1):
        # Just before the delay is up nothing happens; at the delay the port is tried again.
        async_fire_time_changed_exact(hass, dt_util.utcnow() + timedelta(seconds=delay - 0.5))
        await hass.async_block_till_done()
        assert _count(caplog, RETRY) == attempt - 1
        async_fire_time_changed_exact(hass, dt_util.utcnow() + timedelta(seconds=delay + 0.5))
        await settle(hass, lambda attempt=attempt: _count(caplog, RETRY) == attempt)

    assert _count(caplog, LOST) == 1
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_silent_meter_goes_unavailable_and_recovers_on_the_next_push(
    hass: HomeAssistant,
    pty_port: PtyPort,
    entity_registry: er.EntityRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # An 8N1 meter: the watchdog reopens the port, and this sandbox's ptys refuse to be
    # reopened with parity.
    vector = load_vector("lge360-cfg2026")
    entry = mock_entry(vector, port=pty_port.path)
    await setup_entry(hass, entry)
    await push(hass, entry, pty_port, vector.data)
    value = _energy(hass, entity_registry, entry.unique_id)

    async_fire_time_changed(hass, dt_util.utcnow() + WATCHDOG)
    await settle(hass, lambda: _energy(hass, entity_registry, entry.unique_id) == STATE_UNAVAILABLE)
    # The port looked fine but nothing came: it is reopened quietly (no "lost port" warning).
    await settle(hass, lambda: _count(caplog, "Reopening") == 1)
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=2))
    await settle(hass, lambda: _count(caplog, REOPENED) == 1)

    await push(hass, entry, pty_port, vector.data)
    assert _energy(hass, entity_registry, entry.unique_id) == value
    assert _count(caplog, LOST) == 0
    assert _count(caplog, READINGS_BACK) == 1


async def test_unload_while_waiting_to_reconnect(
    hass: HomeAssistant, pty_port: PtyPort, caplog: pytest.LogCaptureFixture
) -> None:
    vector = load_vector("lge450-pushlist-1")
    entry = mock_entry(vector, port=pty_port.path)
    await setup_entry(hass, entry)
    pty_port.unplug()
    await settle(hass, lambda: _count(caplog, LOST) == 1)

    assert await hass.config_entries.async_unload(entry.entry_id)
    assert entry.state is ConfigEntryState.NOT_LOADED


@pytest.mark.usefixtures("socket_enabled")
async def test_closed_serial_server_is_reconnected(
    hass: HomeAssistant, entity_registry: er.EntityRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    vector = load_vector("lge450-pushlist-1")
    # A ser2net-like server that sends one push per connection and then hangs up.
    server = SerialServer(vector.data)
    await server.start()
    try:
        entry = mock_entry(vector, port=server.url)
        await setup_entry(hass, entry)
        await settle(hass, lambda: _count(caplog, LOST) == 1)
        assert entry.runtime_data.coordinator.decoder.stats.readings == 1

        async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=2))
        await settle(hass, lambda: server.connections == 2)
        await settle(hass, lambda: entry.runtime_data.coordinator.decoder.stats.readings == 2)
        assert _energy(hass, entity_registry, entry.unique_id) != STATE_UNAVAILABLE
        assert await hass.config_entries.async_unload(entry.entry_id)
    finally:
        await server.stop()


async def test_republishers_get_each_reading_once(hass: HomeAssistant, pty_port: PtyPort) -> None:
    vector = load_vector("lge450-pushlist-1")
    entry = mock_entry(vector, port=pty_port.path)
    await setup_entry(hass, entry)
    received: list[str | None] = []
    remove = entry.runtime_data.coordinator.async_add_reading_callback(
        lambda reading: received.append(reading.meter_id)
    )

    await push(hass, entry, pty_port, vector.data)
    await push(hass, entry, pty_port, vector.data)
    # A silent meter makes entities unavailable but publishes nothing.
    async_fire_time_changed(hass, dt_util.utcnow() + WATCHDOG)
    await hass.async_block_till_done()
    remove()

    assert received == [vector.meta["meter_id"]] * 2
