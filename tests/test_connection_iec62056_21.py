"""The Siemens TD-3511 readout (IEC 62056-21 mode C) against a pty peer that answers like the meter.

A pty ignores baud rates, so the peer checks the protocol, not the line speed: the sign-on, the
option select that asks for 19200 baud, the R2 commands with their BCC, partial blocks.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from functools import reduce
from operator import xor
from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntryState
from homeassistant.util import dt as dt_util
from meter_helpers import (
    SETTLE_TIMEOUT,
    SerialServer,
    load_vector,
    mock_entry,
    settle,
    setup_entry,
    state_of,
)
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.smartmeter_datacollector.connection import (
    MeterPortError,
    listen_for_reading,
)
from custom_components.smartmeter_datacollector.dlms import PROFILES, iec62056_21

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from homeassistant.core import HomeAssistant
    from meter_helpers import PtyPort

SOH, STX, ETX, EOT, ACK, NAK = b"\x01", b"\x02", b"\x03", b"\x04", b"\x06", b"\x15"
PROFILE = "siemens_td3511"
POLL_INTERVAL = timedelta(seconds=PROFILES[PROFILE].push_interval + 1)


def _block(start: bytes, body: bytes, end: bytes = ETX, *, corrupt: bool = False) -> bytes:
    check = reduce(xor, body + end, 0) ^ (0x55 if corrupt else 0)
    return start + body + end + bytes([check])


class Td3511Peer:
    """Answers like a TD-3511 behind an optical head: identification, P0, datasets F001/F009."""

    def __init__(self, port: PtyPort, readout: bytes, identification: bytes) -> None:
        self.port = port
        lines = [line + b"\r\n" for line in readout.splitlines() if line.strip() != b"!"]
        half = len(lines) // 2
        self.datasets = {
            b"F001": b"".join(lines[:half]),
            b"F009": b"".join(lines[half:]) + b"!\r\n",
        }
        self.identification = identification
        self.sign_ons = 0
        self.option_selects: list[bytes] = []
        self.commands: list[bytes] = []
        self.partial_blocks = False
        self.corrupt_next = False
        self.ignore_next_command = False
        self.nak_next = False
        self.in_programming_mode = False
        self.changed = asyncio.Event()
        self._buffer = b""

    async def serve(self) -> None:
        """Answer requests until cancelled."""
        while True:
            request = await self._read_message()
            await self._answer(request)

    async def _read_message(self) -> bytes:
        # Sign-on and option select end with CR LF; commands with ETX and their BCC (the seed's
        # CR LF after R2 commands is dropped).
        while True:
            self._buffer = self._buffer.lstrip(b"\r\n")
            if self._buffer.startswith((b"/", ACK)) and b"\n" in self._buffer:
                end = self._buffer.index(b"\n") + 1
                message, self._buffer = self._buffer[:end], self._buffer[end:]
                return message
            if self._buffer.startswith(SOH) and ETX in self._buffer[:-1]:
                end = self._buffer.index(ETX) + 2
                message, self._buffer = self._buffer[:end], self._buffer[end:]
                return message
            self._buffer += await self.port.read_some()

    async def _answer(self, request: bytes) -> None:
        if request == b"/?!\r\n":
            self.sign_ons += 1
            self.in_programming_mode = False
            await self.port.write(self.identification)
            return
        if request.startswith(ACK):
            self.option_selects.append(request)
            self.in_programming_mode = True
            await self.port.write(_block(SOH, b"P0" + STX + b"(110002267)"))
            return
        assert request.startswith(SOH), request
        body, check = request[1 : request.index(ETX) + 1], request[request.index(ETX) + 1]
        assert reduce(xor, body, 0) == check, "command BCC"
        self.commands.append(request)
        self.changed.set()
        if body.startswith(b"B0"):
            self.in_programming_mode = False
            return
        if self.ignore_next_command or not self.in_programming_mode:
            # The meter left programming mode (inactivity time-out): it stays silent.
            self.ignore_next_command = False
            self.in_programming_mode = False
            return
        if self.nak_next:
            self.nak_next = False
            await self.port.write(NAK)
            return
        dataset = body[3:-1]
        assert body.startswith(b"R2" + STX), body
        data = self.datasets[dataset]
        if self.partial_blocks:
            half = len(data) // 2
            await self.port.write(_block(STX, data[:half], EOT))
            while not self._buffer.lstrip(b"\r\n"):
                self._buffer += await self.port.read_some()
            self._buffer = self._buffer.lstrip(b"\r\n")
            assert self._buffer[:1] == ACK, self._buffer
            self._buffer = self._buffer[1:]
            await self.port.write(_block(STX, data[half:]))
            return
        corrupt, self.corrupt_next = self.corrupt_next, False
        await self.port.write(_block(STX, data, corrupt=corrupt))


@pytest.fixture
def readout() -> bytes:
    """The TD-3511 capture's readout text."""
    return load_vector("siemens-td3511-1").data


@pytest.fixture
async def meter(pty_port: PtyPort, readout: bytes) -> AsyncIterator[Td3511Peer]:
    """A TD-3511 on the pty that offers 19200 baud."""
    peer = Td3511Peer(pty_port, readout, b"/SIE6TD3511\r\n")
    task = asyncio.get_running_loop().create_task(peer.serve())
    yield peer
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, AssertionError, OSError):
        await task


@pytest.fixture(autouse=True)
def fast_reaction_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pty sends instantly; the 200 ms pauses a real UART needs only slow the suite."""
    monkeypatch.setattr(iec62056_21, "REACTION_TIME", 0.0)


async def test_listen_signs_on_switches_baud_and_reads_both_datasets(
    meter: Td3511Peer, pty_port: PtyPort
) -> None:
    expected = load_vector("siemens-td3511-1").meta
    result = await listen_for_reading(pty_port.path, PROFILE, None, None, 10.0)

    assert result.reading is not None
    assert result.reading.meter_id == expected["meter_id"]
    assert {key: m.value for key, m in result.reading.values.items()} == pytest.approx(
        {key: v["value"] for key, v in expected["values"].items()}
    )
    assert meter.option_selects == [b"\x06061\r\n"]
    assert [c[4:8] for c in meter.commands[:2]] == [b"F001", b"F009"]
    # The session ends with the break command so the meter leaves programming mode.
    await settle_peer(meter, lambda: meter.commands[-1][1:3] == b"B0")
    assert result.bytes_received > len(expected["values"])


async def test_partial_blocks_are_acknowledged_and_joined(
    meter: Td3511Peer, pty_port: PtyPort
) -> None:
    meter.partial_blocks = True
    result = await listen_for_reading(pty_port.path, PROFILE, None, None, 10.0)
    assert result.reading is not None
    assert len(result.reading.values) == len(load_vector("siemens-td3511-1").meta["values"])


async def test_a_corrupt_block_is_dropped_and_the_meter_asked_again(
    meter: Td3511Peer, pty_port: PtyPort
) -> None:
    meter.corrupt_next = True
    result = await listen_for_reading(pty_port.path, PROFILE, None, None, 10.0)
    assert result.reading is not None
    # The damaged answer was not decoded; the same session asked for the datasets again.
    assert [c[4:8] for c in meter.commands].count(b"F001") == 2
    assert meter.sign_ons == 1


async def test_silent_port_reports_nothing_received(pty_port: PtyPort) -> None:
    result = await listen_for_reading(pty_port.path, PROFILE, None, None, 0.5)
    assert result.reading is None
    assert result.bytes_received == 0


async def test_a_meter_that_is_not_iec_reports_bytes_but_no_reading(
    pty_port: PtyPort, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(iec62056_21, "RESPONSE_TIMEOUT", 0.2)

    async def babble() -> None:
        while True:
            await pty_port.write(b"\x7e\xa0\x8b\xce\xff\x03\x13\x12\x8b\xe6\xe7\x00" * 4 + b"\n")
            await asyncio.sleep(0.05)

    task = asyncio.get_running_loop().create_task(babble())
    try:
        result = await listen_for_reading(pty_port.path, PROFILE, None, None, 1.0)
    finally:
        task.cancel()
    assert result.reading is None
    assert result.bytes_received > 0


async def test_home_assistant_polls_the_meter_periodically(
    hass: HomeAssistant, meter: Td3511Peer, pty_port: PtyPort
) -> None:
    vector = load_vector("siemens-td3511-1")
    entry = mock_entry(vector, port=pty_port.path)
    await setup_entry(hass, entry)
    assert entry.state is ConfigEntryState.LOADED
    power = "sensor.meter_110002267_power_import"
    await settle(hass, lambda: hass.states.get(power) is not None)
    assert float(state_of(hass, power).state) == vector.meta["values"]["1-0:1.7.0"]["value"]
    assert (
        state_of(hass, "sensor.meter_110002267_energy_import").attributes["unit_of_measurement"]
        == "kWh"
    )

    # The meter's next answer is higher; it only arrives when the profile interval has passed.
    for name, data in meter.datasets.items():
        meter.datasets[name] = data.replace(b"\n1.7.0(0.386", b"\n1.7.0(1.386")
    polls = len(meter.commands)
    async_fire_time_changed(hass, dt_util.utcnow() + POLL_INTERVAL)
    await settle(hass, lambda: state_of(hass, power).state == "1386")
    assert len(meter.commands) == polls + 2
    assert meter.sign_ons == 1  # still in the same programming-mode session

    assert await hass.config_entries.async_unload(entry.entry_id)
    await settle_peer(meter, lambda: meter.commands[-1][1:3] == b"B0")


async def test_meter_that_dropped_the_session_is_signed_on_again(
    hass: HomeAssistant, meter: Td3511Peer, pty_port: PtyPort, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(iec62056_21, "RESPONSE_TIMEOUT", 0.3)
    entry = mock_entry(load_vector("siemens-td3511-1"), port=pty_port.path)
    await setup_entry(hass, entry)
    await settle(hass, lambda: entry.runtime_data.coordinator.decoder.stats.readings == 1)

    meter.ignore_next_command = True
    async_fire_time_changed(hass, dt_util.utcnow() + POLL_INTERVAL)
    await settle(hass, lambda: entry.runtime_data.coordinator.decoder.stats.readings == 2)
    assert meter.sign_ons == 2
    assert await hass.config_entries.async_unload(entry.entry_id)


async def settle_peer(meter: Td3511Peer, condition: Callable[[], bool]) -> None:
    """Wait until the peer has seen what condition looks for."""
    async with asyncio.timeout(SETTLE_TIMEOUT):
        while not (meter.commands and condition()):
            meter.changed.clear()
            await meter.changed.wait()


async def test_an_echoing_optical_head_is_tolerated(meter: Td3511Peer, pty_port: PtyPort) -> None:
    # Some heads hand back what they send: the sign-on arrives before the identification.
    meter.identification = b"/?!\r\n" + meter.identification
    result = await listen_for_reading(pty_port.path, PROFILE, None, None, 10.0)
    assert result.reading is not None


async def test_a_rejected_command_is_retried(meter: Td3511Peer, pty_port: PtyPort) -> None:
    meter.nak_next = True
    result = await listen_for_reading(pty_port.path, PROFILE, None, None, 10.0)
    assert result.reading is not None
    assert [c[4:8] for c in meter.commands].count(b"F001") == 2


async def test_endless_identification_is_not_one(
    pty_port: PtyPort, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def flood() -> None:
        await pty_port.read_some()
        await pty_port.write(b"/" + b"x" * 70_000)

    task = asyncio.get_running_loop().create_task(flood())
    result = await listen_for_reading(pty_port.path, PROFILE, None, None, 1.0)
    task.cancel()
    assert result.reading is None
    assert result.bytes_received > 0  # the user hears that bytes came, just not a meter


@pytest.mark.usefixtures("socket_enabled")
@pytest.mark.parametrize(
    ("answer", "after"),
    [
        (b"/SIE6TD", 0),  # hangs up in the middle of the identification
        (b"/SIE6TD3511\r\n", 1),  # hangs up after the option select, before P0
    ],
)
async def test_serial_server_hanging_up_mid_session_is_a_lost_port(
    answer: bytes, after: int
) -> None:
    server = SerialServer(answer, before=1, after=after)
    await server.start()
    try:
        with pytest.raises(MeterPortError):
            await listen_for_reading(server.url, PROFILE, None, None, 10.0)
    finally:
        await server.stop()
