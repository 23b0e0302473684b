"""Opening meter ports (paths and serial servers) and listening once, as the setup dialog does."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from meter_helpers import SerialServer, load_vector
import pytest

from custom_components.smartmeter_datacollector.connection import (
    HOLD_CHARACTERS,
    HOLD_MAX,
    MeterPortError,
    MeterStream,
    hold_time,
    listen_for_reading,
    open_meter_port,
)
from custom_components.smartmeter_datacollector.dlms import PROFILES

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from meter_helpers import PtyPort


@pytest.fixture
async def serial_server(socket_enabled: None) -> AsyncIterator[SerialServer]:
    """A serial server that pushes one lge450 capture per connection."""
    server = SerialServer(load_vector("lge450-pushlist-1").data)
    await server.start()
    yield server
    await server.stop()


async def test_missing_port_says_why() -> None:
    with pytest.raises(MeterPortError) as err:
        await open_meter_port("/dev/serial/by-id/usb-nothing-if00", PROFILES["lge450"].serial)
    assert err.value.reason == "No such file or directory"


async def test_unknown_url_scheme_is_a_port_error() -> None:
    with pytest.raises(MeterPortError) as err:
        await open_meter_port("nosuch://meter", PROFILES["lge450"].serial)
    assert "nosuch://" in err.value.reason


async def test_refused_serial_server_says_why(serial_server: SerialServer) -> None:
    url = serial_server.url
    await serial_server.stop()
    with pytest.raises(MeterPortError) as err:
        await open_meter_port(url, PROFILES["lge450"].serial)
    assert "refused" in err.value.reason.lower() or "connect" in err.value.reason.lower()
    await serial_server.start()


async def test_listen_over_a_serial_server(serial_server: SerialServer) -> None:
    vector = load_vector("lge450-pushlist-1")
    result = await listen_for_reading(serial_server.url, "lge450", None, None, 10.0)
    assert result.reading is not None
    assert result.reading.meter_id == vector.meta["meter_id"]
    assert result.bytes_received == len(vector.data)


async def test_closed_serial_server_ends_the_stream(serial_server: SerialServer) -> None:
    stream = await MeterStream.open(serial_server.url, PROFILES["lge450"])
    received: list[bytes] = []

    async def read_all() -> None:
        # A loop, not a comprehension: what arrived before the hang-up must stay in the list.
        async for chunk in stream.chunks():
            received.append(chunk)  # noqa: PERF401

    with pytest.raises(MeterPortError, match="closed the connection"):
        await read_all()
    await stream.close()
    assert b"".join(received) == load_vector("lge450-pushlist-1").data


@contextlib.asynccontextmanager
async def pushing(port: PtyPort, data: bytes) -> AsyncIterator[None]:
    """A meter that pushes data every 50 ms (bytes sent before the port opens are flushed)."""

    async def push_forever() -> None:
        while True:
            await port.write(data)
            await asyncio.sleep(0.05)

    task = asyncio.get_running_loop().create_task(push_forever())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_listen_reports_what_arrived(pty_port: PtyPort) -> None:
    vector = load_vector("lge570-enc")
    async with pushing(pty_port, vector.data):
        result = await listen_for_reading(pty_port.path, "lge570", None, None, 0.5)
    assert result.reading is None
    assert result.bytes_received >= len(vector.data)
    assert result.stats.key_required > 0


async def test_listen_with_the_key_returns_the_first_reading(pty_port: PtyPort) -> None:
    vector = load_vector("lge570-enc")
    async with pushing(pty_port, vector.data):
        result = await listen_for_reading(pty_port.path, "lge570", vector.meta["key"], "", 10.0)
    assert result.reading is not None
    assert result.reading.meter_id == vector.meta["meter_id"]


async def test_silent_port_reports_nothing(pty_port: PtyPort) -> None:
    result = await listen_for_reading(pty_port.path, "lge450", None, None, 0.2)
    assert result.reading is None
    assert result.bytes_received == 0


async def test_a_hold_leaves_what_arrives_in_the_driver_for_one_read(pty_port: PtyPort) -> None:
    """Pieces a USB adapter hands over during a hold reach the reader in one read, none lost."""
    stream = await MeterStream.open(pty_port.path, PROFILES["lge360"])
    chunks = stream.chunks()
    try:
        await pty_port.write(b"\x7e\xa0")
        assert await anext(chunks) == b"\x7e\xa0"
        stream.hold(1.0)
        pieces = [bytes([n]) * 16 for n in range(1, 9)]
        for piece in pieces:
            await pty_port.write(piece)
            await asyncio.sleep(0)
        assert await anext(chunks) == b"".join(pieces)
        # A hold that is still running when the port closes ends with it.
        stream.hold(60.0)
    finally:
        await chunks.aclose()
        await stream.close()


def test_holds_last_half_a_second_at_most_and_a_quarter_of_the_tty_buffer() -> None:
    """A 2400 Bd line is held by the time a reading may come late, a fast one by the kernel's
    buffer (115200 Bd fills 4 KiB in 0.36 s); a serial server never."""
    slow, fast = PROFILES["lge450"].serial, PROFILES["iskraam550"].serial
    assert hold_time("/dev/ttyUSB0", slow) == HOLD_MAX
    assert hold_time("/dev/ttyUSB0", fast) == pytest.approx(HOLD_CHARACTERS * 10 / 115200)
    assert hold_time("socket://192.0.2.1:2001", slow) is None
