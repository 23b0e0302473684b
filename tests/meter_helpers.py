"""Test helpers: the shared capture vectors, a pty that plays the meter, entries, waiting."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta
import json
import os
from pathlib import Path
import tty
from typing import TYPE_CHECKING, Any

from capture_vectors import NO_VECTORS, VECTORS, Capture, load
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.smartmeter_datacollector.const import (
    CONF_AUTH_KEY,
    CONF_KEY,
    CONF_PORT,
    CONF_PROFILE,
    DOMAIN,
)
from smartmeter_devtools.load_model import Household
from smartmeter_devtools.push_encode import MeterEncoder

if TYPE_CHECKING:
    from collections.abc import Callable

    from homeassistant.core import HomeAssistant, State

    from custom_components.smartmeter_datacollector.dlms.models import Reading

REPO_ROOT = Path(__file__).resolve().parents[1]
# An 8N1 meter: this sandbox's ptys refuse to be reopened with parity, so reloads work.
SIMULATED_PROFILE = "lge360"
# Upper bound for waiting on something the integration does in the background; tests never
# assert how long it took, this only keeps a broken build from hanging.
SETTLE_TIMEOUT = 10.0
# settle() counts loop turns instead of seconds: under the freezer fixture the event loop's
# clock stands still, so neither asyncio.timeout nor a timed sleep would ever end.
SETTLE_ROUNDS = 20_000


# The HA tests' names for the shared capture helpers.
Vector = Capture
load_vector = load


def vector_names(predicate: Callable[[dict[str, Any]], bool]) -> list[Any]:
    """Parametrize over the vectors whose sidecar matches; one skipped case when none exist."""
    if not VECTORS.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason=NO_VECTORS), id="no-vectors")]
    names = []
    for sidecar in sorted(VECTORS.glob("*.json")):
        meta = json.loads(sidecar.read_text(encoding="utf-8"))
        if predicate(meta):
            names.append(pytest.param(meta["name"], id=meta["name"]))
    return names


def is_push_capture(meta: dict[str, Any]) -> bool:
    """A framed push capture that yields a reading (what a serial port can carry)."""
    return meta["framing"] in ("hdlc", "mbus") and meta["readings"] > 0


class PtyPort:
    """The far end of a pseudo terminal: the integration opens `path`, the test plays meter.

    `path` is a symlink, like /dev/serial/by-id/..., so `unplug()` and `plug()` can swap the pty
    behind it the way a USB adapter disappears and comes back under the same name.
    """

    def __init__(self, link: Path) -> None:
        self.path = str(link)
        self._link = link
        self._master: int | None = None
        self._slave: int | None = None
        self.plug()

    @property
    def plugged(self) -> bool:
        """Whether the adapter is present."""
        return self._master is not None

    def plug(self) -> None:
        """Create a fresh pty and point the link at it."""
        master, slave = os.openpty()
        # Raw line discipline: no echo, no CR/LF translation, bytes arrive unbuffered.
        tty.setraw(slave)
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        self._link.unlink(missing_ok=True)
        self._link.symlink_to(os.ttyname(slave))

    def unplug(self) -> None:
        """Close both ends and remove the link: the reader gets an I/O error, reopening fails."""
        self._link.unlink(missing_ok=True)
        for fd in (self._master, self._slave):
            if fd is not None:
                os.close(fd)
        self._master = self._slave = None

    async def write(self, data: bytes) -> None:
        """Send bytes to the integration, waiting while the pty buffer is full."""
        assert self._master is not None, "adapter unplugged"
        view = memoryview(data)
        while view:
            try:
                written = os.write(self._master, view)
            except BlockingIOError:
                await self._ready(writing=True)
                continue
            view = view[written:]

    def read_available(self) -> bytes:
        """Whatever the integration has written so far (empty when nothing)."""
        assert self._master is not None, "adapter unplugged"
        chunks = []
        while True:
            try:
                chunk = os.read(self._master, 4096)
            except BlockingIOError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)

    async def read_some(self) -> bytes:
        """Wait (without limit: peers run as tasks the test cancels) for bytes from the integration.

        No deadline here: async_fire_time_changed runs every loop timer that is due, so a
        peer's own timeout would expire whenever a test moves Home Assistant's clock.
        """
        while not (data := self.read_available()):
            await self._ready(writing=False)
        return data

    async def _ready(self, *, writing: bool) -> None:
        """Wait until the pty master can be read (or written), driven by the selector."""
        assert self._master is not None, "adapter unplugged"
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            if not ready.done():
                ready.set_result(None)

        add, remove = (
            (loop.add_writer, loop.remove_writer)
            if writing
            else (loop.add_reader, loop.remove_reader)
        )
        add(self._master, wake)
        try:
            await ready
        finally:
            remove(self._master)

    def close(self) -> None:
        """Release the pty (test teardown)."""
        if self.plugged:
            self.unplug()


class SerialServer:
    """A ser2net-like TCP server on 127.0.0.1: sends a capture to each client, then hangs up."""

    def __init__(self, payload: bytes, *, before: int = 0, after: int = 0) -> None:
        # before/after: request lines to wait for before sending and before hanging up, so a
        # polled meter's conversation can be cut at a chosen point.
        self.payload = payload
        self.before = before
        self.after = after
        self.connections = 0
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        """socket://127.0.0.1:<port>."""
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"socket://127.0.0.1:{port}"

    async def start(self) -> None:
        """Listen on a free port."""
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        for _ in range(self.before):
            await reader.readline()
        writer.write(self.payload)
        await writer.drain()
        for _ in range(self.after):
            await reader.readline()
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()

    async def stop(self) -> None:
        """Stop listening."""
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()


def mock_entry(
    vector: Vector | None = None,
    *,
    port: str,
    profile: str | None = None,
    unique_id: str | None = None,
    entry_id: str | None = None,
    title: str | None = None,
    options: dict[str, Any] | None = None,
    **data: Any,
) -> MockConfigEntry:
    """A config entry like the config flow would create for this vector's meter on port."""
    meta = vector.meta if vector else {}
    # Meters without an id are known by their port in real entries; tests use a stable stand-in
    # so snapshots do not depend on the temporary pty path.
    meter_id = unique_id or meta.get("meter_id") or f"port-{vector.name if vector else 'meter'}"
    return MockConfigEntry(
        domain=DOMAIN,
        title=title or f"Meter {meter_id}",
        unique_id=meter_id,
        data={
            CONF_PROFILE: profile or meta.get("profile", "generic"),
            CONF_PORT: port,
            CONF_KEY: meta.get("key"),
            CONF_AUTH_KEY: meta.get("auth_key"),
            **data,
        },
        options=options or {},
        entry_id=entry_id,
    )


async def settle(hass: HomeAssistant, condition: Callable[[], bool]) -> None:
    """Let the integration work (pty bytes, tasks) until condition holds; works with a frozen clock."""
    for _ in range(SETTLE_ROUNDS):
        await hass.async_block_till_done()
        if condition():
            return
        # One loop turn: the selector polls the pty, the reader task runs.
        await asyncio.sleep(0)
    raise AssertionError("the integration never reached the expected state")


def state_of(hass: HomeAssistant, entity_id: str) -> State:
    """The entity's state, which must exist."""
    state = hass.states.get(entity_id)
    assert state is not None, f"no state for {entity_id}"
    return state


def energy_import(hass: HomeAssistant, meter_id: str, key: str = "1-1:1.8.0") -> str:
    """The state of a meter's energy import total (looked up by its unique id)."""
    entity_id = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{meter_id}_{key}")
    assert entity_id, f"no sensor for {meter_id} {key}"
    return state_of(hass, entity_id).state


def count_logged(caplog: pytest.LogCaptureFixture, text: str) -> int:
    """How many log records so far contain text."""
    return sum(text in record.getMessage() for record in caplog.records)


async def setup_entry(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Add the entry and set it up as Home Assistant does at start."""
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


class SimulatedMeter:
    """A simulated household behind a meter (the dev package's encoder): each message() is its
    next push, counters advancing, so tests need no shared capture and values are exact."""

    def __init__(self, profile: str = SIMULATED_PROFILE, seed: int = 11) -> None:
        self.profile = profile
        self._tz = dt_util.get_default_time_zone()
        self._time = datetime(2025, 7, 1, 12, 0, tzinfo=self._tz)
        self._household = Household(seed=seed, start=self._time, tz=self._tz)
        self.encoder = MeterEncoder(profile, tz=self._tz, seed=seed)
        self.expected: Reading | None = None

    @property
    def meter_id(self) -> str:
        """The identity the meter reports (the entry's unique id)."""
        assert self.encoder.meter_id is not None
        return self.encoder.meter_id

    def message(self) -> bytes:
        """The next push, ten seconds after the last; `expected` is the reading it carries."""
        self._time += timedelta(seconds=10)
        encoded = self.encoder.encode(self._household.advance(self._time))
        self.expected = encoded.expected
        return encoded.data


async def push(hass: HomeAssistant, entry: MockConfigEntry, port: PtyPort, data: bytes) -> None:
    """Send bytes as the meter would and wait until the integration has published the reading."""
    decoder = entry.runtime_data.coordinator.decoder
    before = decoder.stats.readings
    await port.write(data)
    await settle(hass, lambda: decoder.stats.readings > before)
    await hass.async_block_till_done()
