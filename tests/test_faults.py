"""Faults injected into a real Home Assistant (issue 8, item 7): real ptys, encoder bytes.

Each fault is checked for what a user would notice: the event loop keeps answering (its lag is
measured by a timer task; the bound is generous, 250 ms, so a busy machine does not fail it),
readings resume without a reload, nothing is logged at ERROR for a condition the integration
handles, and diagnostics answer. The times it took are printed (run with -s to see them).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
import logging
import random
import time
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.helpers import entity_registry as er
from meter_helpers import SimulatedMeter, mock_entry, push, setup_entry, state_of
import pytest
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)

from custom_components.smartmeter_datacollector.const import DOMAIN
from smartmeter_devtools.apdu_encode import data_notification
from smartmeter_devtools.axdr_encode import CosemDateTime, OctetString, Structure, UInt32, obis

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterator

    from homeassistant.core import HomeAssistant
    from meter_helpers import PtyPort
    from pytest_homeassistant_custom_component.common import MockConfigEntry
    from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

    from custom_components.smartmeter_datacollector.coordinator import SmartMeterCoordinator

ENERGY = "1-1:1.8.0"
# Kaifa Salzburg style APDUs name channel 0.
BARE_ENERGY = "1-0:1.8.0"
# The issue's own bound for the loop's lag; generous on purpose (a busy 2-core machine).
LAG_BOUND = 0.25
LAG_TICK = 0.02
# Upper bound for waiting on real time: only keeps a broken build from hanging.
REAL_TIMEOUT = 60.0
# "Within a few seconds" (issue 8): a generous bound that a busy machine still meets.
FEW_SECONDS = 10.0
PUSH_PERIOD = 0.5
# The two frames of issue 8 (valid HCS and FCS): a compact array without columns, and a
# data-notification without a body. Hand-built hostile bytes, not shared captures.
HOSTILE_FRAMES = {
    "zero-column-compact-array": "7ea017ceff0313cba8e6e7000f00000001001302000536cc7e",
    "notification-without-body": "7ea013ceff0313db85e6e7000f0000000100fade7e",
}


class LoopLag:
    """A timer task that measures how late the event loop wakes it: the loop's answer time.

    `worst` is the wall-clock lateness; on a machine whose cores other processes keep busy it
    also counts time the operating system gave to them. `worst_busy` counts only what the loop
    thread itself executed meanwhile (its CPU time, capped by the lateness): the time our code
    held the loop, which is what the bound is about.
    """

    def __init__(self) -> None:
        self.worst = 0.0
        self.worst_busy = 0.0
        self._task = asyncio.get_running_loop().create_task(self._measure())

    async def _measure(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            start, cpu = loop.time(), time.thread_time()
            await asyncio.sleep(LAG_TICK)
            late = loop.time() - start - LAG_TICK
            self.worst = max(self.worst, late)
            self.worst_busy = max(self.worst_busy, min(late, time.thread_time() - cpu))

    async def stop(self) -> None:
        """End the measurement."""
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


@pytest.fixture
async def lag() -> AsyncIterator[LoopLag]:
    """Measure the loop's lag for the whole test; assert the bound afterwards."""
    monitor = LoopLag()
    yield monitor
    await monitor.stop()
    # The figures the issue asks for.
    print(f"loop lag: worst {monitor.worst * 1000:.1f} ms, busy {monitor.worst_busy * 1000:.1f} ms")
    assert monitor.worst_busy < LAG_BOUND


@pytest.fixture(autouse=True)
def production_logging(caplog: pytest.LogCaptureFixture) -> None:
    """serialx at its production level: at DEBUG it logs the repr of every chunk it receives,
    up to 150 ms per 2 MB test's read on a busy machine, which is the test's cost, not ours."""
    caplog.set_level(logging.INFO, logger="serialx")


@pytest.fixture
def no_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Nothing at ERROR: every fault here is a condition the integration handles."""
    caplog.set_level(logging.DEBUG, logger="custom_components.smartmeter_datacollector")
    yield
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


async def _wait_for(hass: HomeAssistant, condition: Callable[[], bool]) -> float:
    """Wait in real time (line silence, a meter's pushes) until condition holds; seconds taken."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    async with asyncio.timeout(REAL_TIMEOUT):
        while not condition():
            await asyncio.sleep(0.02)
            await hass.async_block_till_done()
    return loop.time() - start


@dataclass
class Rig:
    """A set-up meter on a pty that has pushed once, and what the tests look at."""

    hass: HomeAssistant
    client: ClientSessionGenerator
    port: PtyPort
    meter: SimulatedMeter
    entry: MockConfigEntry
    entity_id: str

    @property
    def coordinator(self) -> SmartMeterCoordinator:
        """The entry's coordinator (the runtime data is looked up in one place)."""
        coordinator: SmartMeterCoordinator = self.entry.runtime_data.coordinator
        return coordinator

    @property
    def kwh(self) -> float:
        """The import total of the meter's last push as the sensor shows it (Wh on the wire)."""
        assert self.meter.expected is not None
        return float(self.meter.expected.values[ENERGY].value) / 1000

    @property
    def energy(self) -> str:
        """What the energy sensor shows now."""
        return state_of(self.hass, self.entity_id).state

    async def wait_for(self, condition: Callable[[], bool]) -> float:
        """Wait in real time (a meter may push meanwhile) until condition holds; seconds taken."""
        return await _wait_for(self.hass, condition)

    async def assert_reads_on(self) -> None:
        """The next push reaches the sensor with exactly its value (no reload in between)."""
        await push(self.hass, self.entry, self.port, self.meter.message())
        assert self.entry.state is ConfigEntryState.LOADED
        assert float(self.energy) == self.kwh

    async def diagnostics(self) -> dict[str, Any]:
        """Diagnostics as the UI downloads them."""
        result: dict[str, Any] = await get_diagnostics_for_config_entry(
            self.hass, self.client, self.entry
        )
        assert result["entry"]["state"] == self.entry.state.value
        return result

    @contextlib.asynccontextmanager
    async def pushing(self) -> AsyncIterator[None]:
        """The meter pushes every PUSH_PERIOD while its adapter is plugged in."""

        async def push_forever() -> None:
            while True:
                if self.port.plugged:
                    await self.port.write(self.meter.message())
                await asyncio.sleep(PUSH_PERIOD)

        task = asyncio.get_running_loop().create_task(push_forever())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def unplug_and_replug(self, outage: float) -> tuple[float, float]:
        """Pull the adapter for `outage` seconds while the meter pushes; both recovery times."""
        stats = self.coordinator.decoder.stats
        async with self.pushing():
            await self.wait_for(lambda: self.coordinator.decoder.stats.readings >= 2)
            self.port.unplug()
            to_unavailable = await self.wait_for(lambda: self.energy == STATE_UNAVAILABLE)
            await asyncio.sleep(outage - to_unavailable)
            assert self.energy == STATE_UNAVAILABLE
            stats = self.coordinator.decoder.stats
            readings = stats.readings
            self.port.plug()
            to_fresh = await self.wait_for(
                lambda: stats.readings > readings and self.energy != STATE_UNAVAILABLE
            )
        print(  # the measurement the issue asks for
            f"outage {outage:g} s: unplug -> unavailable {to_unavailable:.2f} s, "
            f"replug -> fresh values {to_fresh:.2f} s"
        )
        return to_unavailable, to_fresh


@pytest.fixture
async def rig(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    pty_port: PtyPort,
    simulated_meter: SimulatedMeter,
    init_integration: MockConfigEntry,
) -> Rig:
    """The simulated meter, set up and pushed once (conftest's init_integration)."""
    entity_id = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"{init_integration.unique_id}_{ENERGY}"
    )
    assert entity_id
    return Rig(hass, hass_client, pty_port, simulated_meter, init_integration, entity_id)


@pytest.mark.usefixtures("no_errors", "lag")
async def test_short_unplug_is_seen_at_once_and_readings_return_soon_after_the_replug(
    rig: Rig,
) -> None:
    to_unavailable, to_fresh = await rig.unplug_and_replug(outage=3.0)

    assert to_unavailable < FEW_SECONDS
    assert to_fresh < FEW_SECONDS
    diagnostics = await rig.diagnostics()
    assert diagnostics["connection"]["reconnects"] == 1
    await rig.assert_reads_on()


@pytest.mark.e2e
@pytest.mark.usefixtures("no_errors", "lag")
async def test_unplug_for_twenty_seconds_and_plug_back_at_the_same_path(rig: Rig) -> None:
    """The issue's scenario in real time: 20 s without the adapter, the same path afterwards."""
    to_unavailable, to_fresh = await rig.unplug_and_replug(outage=20.0)

    assert to_unavailable < FEW_SECONDS
    assert to_fresh < FEW_SECONDS
    await rig.diagnostics()
    await rig.assert_reads_on()


@pytest.mark.usefixtures("no_errors", "lag")
async def test_two_megabytes_of_random_bytes_at_full_speed(rig: Rig) -> None:
    stats = rig.coordinator.decoder.stats
    noise = random.Random(8).randbytes(2 * 1024 * 1024)
    before = stats.bytes_received

    await rig.port.write(noise)
    await rig.wait_for(lambda: stats.bytes_received >= before + len(noise))

    await rig.assert_reads_on()
    diagnostics = await rig.diagnostics()
    assert diagnostics["decoder"]["bytes_discarded"] > 0


@pytest.mark.usefixtures("no_errors", "lag")
async def test_a_burst_of_two_hundred_messages_loses_none(rig: Rig) -> None:
    stats = rig.coordinator.decoder.stats
    before = stats.readings

    # Encoding 200 pushes is the simulator's work: off the loop whose lag is measured.
    burst = await asyncio.to_thread(lambda: b"".join(rig.meter.message() for _ in range(200)))
    await rig.port.write(burst)
    await rig.wait_for(lambda: stats.readings >= before + 200)

    assert stats.readings == before + 200
    assert float(rig.energy) == rig.kwh
    await rig.diagnostics()
    await rig.assert_reads_on()


@pytest.mark.parametrize("frame", HOSTILE_FRAMES.values(), ids=HOSTILE_FRAMES.keys())
@pytest.mark.usefixtures("no_errors", "lag")
async def test_hostile_frame_is_dropped_and_the_next_push_reads(rig: Rig, frame: str) -> None:
    await rig.port.write(bytes.fromhex(frame))
    await rig.assert_reads_on()
    await rig.assert_reads_on()

    diagnostics = await rig.diagnostics()
    assert diagnostics["connection"]["connected"] is True
    assert diagnostics["connection"]["reader_restarts"] == 0


@pytest.mark.usefixtures("no_errors", "lag")
async def test_restart_restores_totals_without_decrease_or_duplicates(
    rig: Rig, entity_registry: er.EntityRegistry
) -> None:
    hass, entry = rig.hass, rig.entry
    await rig.assert_reads_on()
    total = float(rig.energy)
    entities = er.async_entries_for_config_entry(entity_registry, entry.entry_id)

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    # Restored before the meter pushes again, then only ever higher.
    assert float(rig.energy) == total
    await rig.assert_reads_on()
    assert float(rig.energy) >= total
    assert er.async_entries_for_config_entry(entity_registry, entry.entry_id) == entities
    await rig.diagnostics()


@pytest.mark.usefixtures("lag")
async def test_reader_that_fails_is_restarted_and_says_why(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    """A decoder bug (none is known; one is injected) must not leave dead sensors behind."""
    coordinator = rig.coordinator

    def broken_feed(*_args: object, **_kwargs: object) -> list[Any]:
        raise RuntimeError("injected decoder bug")

    # The only stand-in in this module: no real input makes the decoder raise any more.
    coordinator.decoder.feed = broken_feed  # type: ignore[method-assign]
    await rig.port.write(rig.meter.message())
    await rig.wait_for(lambda: rig.energy == STATE_UNAVAILABLE)

    failures = [r for r in caplog.records if "failed unexpectedly" in r.getMessage()]
    assert len(failures) == 1
    assert failures[0].exc_info is not None
    diagnostics = await rig.diagnostics()
    assert diagnostics["connection"]["reader_restarts"] == 1
    assert "injected decoder bug" in diagnostics["connection"]["last_reader_error"]
    # A fresh decoder on a reopened port: the next push reads, without a reload.
    await rig.wait_for(lambda: coordinator.reader.connected)
    await rig.assert_reads_on()


def _bare_apdu(energy: int) -> bytes:
    """A Kaifa-Salzburg-style push: a bare data-notification APDU, no transport framing."""
    when = CosemDateTime(2024, 5, 4, 6, 13, 39, 21, None, None, 0)
    body = Structure(
        [
            when.octet_string(),
            obis("0-0:96.1.0"),
            OctetString(b"12345678"),
            obis(BARE_ENERGY),
            UInt32(energy),
        ]
    )
    return data_notification(energy, when, body)


@pytest.mark.usefixtures("no_errors")
async def test_bare_apdu_stream_recovers_after_one_noise_byte(
    hass: HomeAssistant, pty_port: PtyPort, lag: LoopLag
) -> None:
    """Intact, 0x00, then five intact pushes: all six read (issue 8 measured [1, 0, 0, 0, 0, 0])."""
    config_entry = mock_entry(port=pty_port.path, profile="kaifa_mbus", unique_id="12345678")
    await setup_entry(hass, config_entry)
    coordinator: SmartMeterCoordinator = config_entry.runtime_data.coordinator
    energies: list[float] = []
    remove = coordinator.async_add_reading_callback(
        lambda reading: energies.append(float(reading.values[BARE_ENERGY].value))
    )

    for energy in range(1, 7):
        await pty_port.write(_bare_apdu(energy) + (b"\x00" if energy == 1 else b""))
        # A meter pushes every few seconds: the quiet line ends each message.
        await _wait_for(hass, lambda energy=energy: len(energies) == energy)
    remove()

    assert energies == [1, 2, 3, 4, 5, 6]
    assert coordinator.last_update_success
