"""The port over time: unplugged adapters, serial servers that hang up, back-off, unload.

`reader.MeterReader` owns the port; these tests drive it through real ptys and a real TCP server
into a real Home Assistant and read what a user sees: states, log lines, the entry's state.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from meter_helpers import (
    SerialServer,
    count_logged,
    energy_import,
    load_vector,
    mock_entry,
    push,
    settle,
    setup_entry,
)
import pytest
from pytest_homeassistant_custom_component.common import (
    async_fire_time_changed,
    async_fire_time_changed_exact,
)

from custom_components.smartmeter_datacollector.reader import DEVICE_POLL, RECONNECT_MAX

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from meter_helpers import PtyPort

LOST = "Lost the meter port"
BACK = "is back"
RETRY = "still unavailable"
READINGS_BACK = "Readings from the meter"


pytestmark = pytest.mark.usefixtures("debug_logging")


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
    value = energy_import(hass, entry.unique_id)

    pty_port.unplug()
    # Values from a port that is gone are stale at once, not after the watchdog.
    await settle(hass, lambda: energy_import(hass, entry.unique_id) == STATE_UNAVAILABLE)
    assert count_logged(caplog, LOST) == 1
    # However long it stays unplugged, the path is watched, not backed off from.
    for _ in range(3):
        async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=RECONNECT_MAX))
        await hass.async_block_till_done()

    pty_port.plug()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=DEVICE_POLL))
    await settle(hass, lambda: count_logged(caplog, BACK) == 1)
    await push(hass, entry, pty_port, vector.data)

    assert energy_import(hass, entry.unique_id) == value
    assert entry.state is ConfigEntryState.LOADED
    # Logged once when lost and once when back, however many attempts were in between.
    assert count_logged(caplog, LOST) == 1
    assert count_logged(caplog, READINGS_BACK) == 1


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
    await settle(hass, lambda: count_logged(caplog, LOST) == 1)
    await server.stop()

    for attempt, delay in enumerate([1, 2, 4, 8, 16, 32, 60, 60], start=1):
        # Just before the delay is up nothing happens; at the delay the port is tried again.
        async_fire_time_changed_exact(hass, dt_util.utcnow() + timedelta(seconds=delay - 0.5))
        await hass.async_block_till_done()
        assert count_logged(caplog, RETRY) == attempt - 1
        async_fire_time_changed_exact(hass, dt_util.utcnow() + timedelta(seconds=delay + 0.5))
        await settle(hass, lambda attempt=attempt: count_logged(caplog, RETRY) == attempt)

    assert count_logged(caplog, LOST) == 1
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_unload_while_waiting_to_reconnect(
    hass: HomeAssistant, pty_port: PtyPort, caplog: pytest.LogCaptureFixture
) -> None:
    vector = load_vector("lge450-pushlist-1")
    entry = mock_entry(vector, port=pty_port.path)
    await setup_entry(hass, entry)
    pty_port.unplug()
    await settle(hass, lambda: count_logged(caplog, LOST) == 1)

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
        await settle(hass, lambda: count_logged(caplog, LOST) == 1)
        assert entry.runtime_data.coordinator.decoder.stats.readings == 1

        async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=2))
        await settle(hass, lambda: server.connections == 2)
        await settle(hass, lambda: entry.runtime_data.coordinator.decoder.stats.readings == 2)
        assert energy_import(hass, entry.unique_id) != STATE_UNAVAILABLE
        assert await hass.config_entries.async_unload(entry.entry_id)
    finally:
        await server.stop()


async def test_a_push_handed_over_in_small_pieces_reads_whole(
    hass: HomeAssistant, pty_port: PtyPort
) -> None:
    """A USB adapter hands a 2400 Bd push over a few bytes at a time; the reader holds them in
    the driver between reads (connection.hold_time), and the push reads whole and right."""
    vector = load_vector("lge450-pushlist-1")
    entry = mock_entry(vector, port=pty_port.path)
    await setup_entry(hass, entry)
    decoder = entry.runtime_data.coordinator.decoder
    # The stream shows it is framed (no silences to time) after its first push.
    await push(hass, entry, pty_port, vector.data)

    for start in range(0, len(vector.data), 4):
        await pty_port.write(vector.data[start : start + 4])
        # Real time between pieces, as on the line: holds end while the push comes in.
        await asyncio.sleep(0.002)
    await settle(hass, lambda: decoder.stats.readings == 2)

    assert decoder.stats.bytes_discarded == 0
    expected = vector.meta["values"]["1-1:1.8.0"]
    assert float(energy_import(hass, entry.unique_id)) == expected["value"] / 1000
