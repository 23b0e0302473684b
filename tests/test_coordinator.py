"""The coordinator over time: a silent meter goes unavailable and comes back; re-publishers.

The port's own life (unplugging, serial servers, back-off) is tests/test_reader.py's.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.util import dt as dt_util
from meter_helpers import (
    count_logged,
    energy_import,
    load_vector,
    mock_entry,
    push,
    settle,
    setup_entry,
)
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.smartmeter_datacollector.const import DOMAIN
from custom_components.smartmeter_datacollector.coordinator import (
    NO_DATA_ISSUE_AFTER,
    WATCHDOG_MIN,
)
from custom_components.smartmeter_datacollector.issues import ISSUE_NO_DATA, issue_id

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from meter_helpers import PtyPort, Vector
    from pytest_homeassistant_custom_component.common import MockConfigEntry

LOST = "Lost the meter port"
READINGS_BACK = "Readings from the meter"
REOPENED = "Opened the meter port"
WATCHDOG = timedelta(seconds=WATCHDOG_MIN + 1)


pytestmark = pytest.mark.usefixtures("debug_logging")


async def _meter_after_one_push(
    hass: HomeAssistant, pty_port: PtyPort
) -> tuple[Vector, MockConfigEntry]:
    """An 8N1 meter set up on the pty, after its first reading.

    8N1: the watchdog reopens the port, and this sandbox's ptys refuse to be reopened with parity.
    """
    vector = load_vector("lge360-cfg2026")
    entry = mock_entry(vector, port=pty_port.path)
    await setup_entry(hass, entry)
    await push(hass, entry, pty_port, vector.data)
    return vector, entry


async def test_silent_meter_goes_unavailable_and_recovers_on_the_next_push(
    hass: HomeAssistant,
    pty_port: PtyPort,
    entity_registry: er.EntityRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    vector, entry = await _meter_after_one_push(hass, pty_port)
    value = energy_import(hass, entry.unique_id)

    async_fire_time_changed(hass, dt_util.utcnow() + WATCHDOG)
    await settle(hass, lambda: energy_import(hass, entry.unique_id) == STATE_UNAVAILABLE)
    # The port looked fine but nothing came: it is reopened quietly (no "lost port" warning).
    await settle(hass, lambda: count_logged(caplog, "Reopening") == 1)
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=2))
    await settle(hass, lambda: count_logged(caplog, REOPENED) == 1)

    await push(hass, entry, pty_port, vector.data)
    assert energy_import(hass, entry.unique_id) == value
    assert count_logged(caplog, LOST) == 0
    assert count_logged(caplog, READINGS_BACK) == 1


async def test_the_watchdog_counts_from_the_last_reading_not_from_when_it_was_armed(
    hass: HomeAssistant, pty_port: PtyPort
) -> None:
    """A push does not re-arm the watchdog; when it runs out early it waits for the rest."""
    _, entry = await _meter_after_one_push(hass, pty_port)
    coordinator = entry.runtime_data.coordinator
    assert coordinator.last_reading_at is not None
    half = timedelta(seconds=coordinator.watchdog_timeout / 2)

    # The timer armed at setup runs out half a timeout after the last reading. Moving the test
    # clock cannot show this: a timer it fires is told the time moved to, a whole timeout or
    # more after this reading. So the test stops the timer and runs its expiry at that moment.
    coordinator._cancel_timers()
    coordinator._watchdog_expired(coordinator.last_reading_at + half)
    await hass.async_block_till_done()
    assert energy_import(hass, entry.unique_id) != STATE_UNAVAILABLE

    # The rest of the timeout later, it does expire.
    async_fire_time_changed(hass, dt_util.utcnow() + WATCHDOG)
    await settle(hass, lambda: energy_import(hass, entry.unique_id) == STATE_UNAVAILABLE)


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


async def test_a_meter_that_falls_silent_gets_its_issue_ten_minutes_after_its_last_push(
    hass: HomeAssistant, pty_port: PtyPort
) -> None:
    """The no-data repair issue counts from the last reading (armed by the watchdog's expiry)."""
    _, entry = await _meter_after_one_push(hass, pty_port)
    issues = ir.async_get(hass)
    no_data = issue_id(ISSUE_NO_DATA, entry.entry_id)

    # Silent for nine minutes: unavailable, but no issue yet.
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=NO_DATA_ISSUE_AFTER - 60))
    await settle(hass, lambda: energy_import(hass, entry.unique_id) == STATE_UNAVAILABLE)
    assert issues.async_get_issue(DOMAIN, no_data) is None

    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=NO_DATA_ISSUE_AFTER + 1))
    await settle(hass, lambda: issues.async_get_issue(DOMAIN, no_data) is not None)
