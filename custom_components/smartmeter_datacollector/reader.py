"""The meter's port for as long as the entry is loaded: open it, read it, reopen it when lost.

An unplugged USB adapter is watched for (a stat of its path) rather than backed off from, so
readings return within a second of plugging it in; a serial server is retried from one second,
doubling up to a minute; a reader that fails unexpectedly is logged and starts again; a polled
meter is asked on a steady tick. What arrives goes to a `ReadingSink` (the coordinator), which
decodes it and tells Home Assistant.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol

from homeassistant.core import callback
from homeassistant.helpers.event import async_call_later, async_track_time_interval
from homeassistant.helpers.update_coordinator import UpdateFailed
from serialx import redact_uri

from .connection import (
    HOLD_CHARACTERS,
    IEC62056_21,
    READ_SIZE,
    MeterPortError,
    MeterStream,
    hold_time,
    is_local_path,
    quiet_gap,
)
from .const import CONF_PORT, DOMAIN, LOGGER
from .tasks import async_cancel_task

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from homeassistant.config_entries import ConfigEntry
    from homeassistant.core import HomeAssistant

    from .dlms.models import Profile, Reading

RECONNECT_MIN: Final = 1.0
RECONNECT_MAX: Final = 60.0
# An unplugged USB adapter comes back under the same /dev/serial/by-id path: while the path is
# gone, look for it this often (a stat, no open), so readings return within a second or so.
DEVICE_POLL: Final = 0.5


class ReadingSink(Protocol):
    """Where the reader's input goes: decoded, published, or reported as unavailable."""

    @property
    def readings(self) -> int:
        """Readings decoded so far; a connection that made any starts its back-off over."""

    @property
    def awaits_gaps(self) -> bool:
        """Whether a silence on the line can still complete a message (bare APDUs)."""

    def feed(self, chunk: bytes) -> list[Reading]:
        """Decode a chunk; an empty one says the line fell silent after bytes."""

    def publish(self, reading: Reading) -> None:
        """Hand one reading to Home Assistant."""

    def set_unavailable(self, err: UpdateFailed) -> None:
        """Make the entities unavailable (the reader logs why)."""

    def renew_decoder(self) -> None:
        """Start over with a fresh decoder; its counters carry on."""


class MeterReader:
    """Owns the port: opens it, feeds the sink, reopens it, and counts what happened."""

    def __init__(
        self, hass: HomeAssistant, entry: ConfigEntry, profile: Profile, sink: ReadingSink
    ) -> None:
        self._hass = hass
        self._entry = entry
        self._profile = profile
        self._sink = sink
        self.port: str = entry.data[CONF_PORT]
        self.display_port = redact_uri(self.port)
        self._device: Path | None = Path(self.port) if is_local_path(self.port) else None
        # Text readouts arrive whole, one per poll; only push lines have gaps between messages.
        self.quiet_gap: float | None = (
            None if profile.framing == IEC62056_21 else quiet_gap(self.port, profile.serial)
        )
        # How long a message's bytes may gather in the driver between reads (framed lines).
        self.hold: float | None = (
            None if profile.framing == IEC62056_21 else hold_time(self.port, profile.serial)
        )
        self.connected = False
        self.reconnects = 0
        self.last_port_error: str | None = None
        self.reader_restarts = 0
        self.last_reader_error: str | None = None
        self._stream: MeterStream | None = None
        self._task: asyncio.Task[None] | None = None
        self._port_lost_logged = False
        self._restarting = False
        self._unsub_poll: Callable[[], None] | None = None
        self._poll_due = asyncio.Event()

    async def async_open(self) -> None:
        """Open the port once at setup; raises MeterPortError so setup can be retried."""
        self._stream = await MeterStream.open(self.port, self._profile, self._wait_next_poll)
        self.connected = True

    @callback
    def async_start(self) -> None:
        """Start reading in the background; async_stop (the entry's unload) ends it."""
        if self._profile.framing == IEC62056_21:
            # A steady tick keeps the poll period independent of how long a readout takes.
            self._unsub_poll = async_track_time_interval(
                self._hass,
                self._poll_tick,
                timedelta(seconds=self._profile.push_interval),
                name=f"{DOMAIN} {self.display_port} poll",
            )
        self._task = self._entry.async_create_background_task(
            self._hass, self._supervise(), name=f"{DOMAIN} {self.display_port} reader"
        )

    async def async_stop(self) -> None:
        """Stop reading and release the port, so a reload or another entry can open it."""
        if self._unsub_poll is not None:
            self._unsub_poll()
            self._unsub_poll = None
        task, self._task = self._task, None
        await async_cancel_task(task)
        await self._close_stream()

    @callback
    def reopen(self) -> None:
        """Drop a port that stays open but delivers nothing; the read loop opens it again.

        A half-open TCP link or a wedged adapter only recovers this way; it is not a lost port.
        """
        if self._stream is not None:
            self._restarting = True
            self._stream.abort()

    async def _supervise(self) -> None:
        """Keep the reader alive: whatever ends it unexpectedly is logged and it starts again.

        A reader that died silently left the entry "connected" with sensors that never update
        again (issue 8); now the sensors go unavailable, the error is logged with its traceback,
        and the port is reopened with a fresh decoder (the old one's state may be what failed).
        """
        while True:
            try:
                await self._run()
            # The reader must never end silently, whatever went wrong (logged with traceback).
            except Exception as err:  # noqa: BLE001
                self.reader_restarts += 1
                self.last_reader_error = f"{type(err).__name__}: {err}"
                self.connected = False
                LOGGER.exception(
                    "Reading the meter on %s failed unexpectedly; starting again", self.display_port
                )
                self._sink.set_unavailable(
                    UpdateFailed(
                        translation_domain=DOMAIN,
                        translation_key="reader_failed",
                        translation_placeholders={
                            "port": self.display_port,
                            "error": self.last_reader_error,
                        },
                    )
                )
                self._sink.renew_decoder()
                with contextlib.suppress(Exception):
                    await self._close_stream()
                await self._sleep(RECONNECT_MIN)

    async def _run(self) -> None:
        """Open the port, read it, and reopen it when lost: paths fast, serial servers backed off."""
        delay = RECONNECT_MIN
        while True:
            if self._stream is None:
                if await self._wait_for_device():
                    delay = RECONNECT_MIN
                try:
                    self._stream = await MeterStream.open(
                        self.port, self._profile, self._wait_next_poll
                    )
                except MeterPortError as err:
                    self._port_lost(err.reason)
                else:
                    self._port_back()
            if self._stream is not None:
                readings_before = self._sink.readings
                try:
                    await self._read(self._stream)
                except MeterPortError as err:
                    self._port_lost(err.reason)
                await self._close_stream()
                if self._sink.readings > readings_before:
                    delay = RECONNECT_MIN
            if self._device_missing():
                # Unplugged: _wait_for_device watches for the path instead of backing off.
                continue
            await self._sleep(delay)
            delay = min(delay * 2, RECONNECT_MAX)

    def _device_missing(self) -> bool:
        # A stat of a device path is bounded and cheap, unlike an open (run in the executor).
        return self._device is not None and not self._device.exists()

    async def _wait_for_device(self) -> bool:
        """Wait until an unplugged adapter's path is back; True when it had been gone."""
        if not self._device_missing():
            return False
        while self._device_missing():
            await self._sleep(DEVICE_POLL)
        LOGGER.debug("The meter port %s appeared again", self.display_port)
        return True

    async def _read(self, stream: MeterStream) -> None:
        """Feed the sink until the port is lost (MeterPortError)."""
        async with contextlib.aclosing(stream.chunks(self._quiet)) as chunks:
            async for chunk in chunks:
                # An empty chunk: the line fell silent after bytes, so a message ended there
                # (a bare APDU is known to be complete only then).
                readings = self._sink.feed(chunk)
                for index, reading in enumerate(readings):
                    if index:
                        # One reading at a time: a burst of buffered pushes must not hold the loop.
                        await asyncio.sleep(0)
                    self._sink.publish(reading)
                if not readings and (hold := self._hold_after(chunk)) is not None:
                    # Mid-message on a framed line: let the rest gather in the driver. The next
                    # read waits for the hold's end, which also gives other tasks the loop.
                    stream.hold(hold)
                elif len(chunk) >= READ_SIZE:
                    # A full read may have left bytes in the stream's buffer, and the next read
                    # would return them at once: give other tasks the loop first. A shorter read
                    # took everything buffered, so the next one waits (and yields) anyway.
                    await asyncio.sleep(0)

    def _hold_after(self, chunk: bytes) -> float | None:
        """How long the bytes after this chunk may wait in the driver (None: read on at once).

        Not while silences are timed (bare APDUs: a hold would blur the gap that ends one), and
        not after a chunk larger than a hold lets through: bytes come faster than the line speed
        (a backlog, a pseudo-terminal), and reading on at once is cheaper than waiting.
        """
        if len(chunk) > HOLD_CHARACTERS or self._sink.awaits_gaps:
            return None
        return self.hold

    def _quiet(self) -> float | None:
        """Time silences only while they mean something: a framed stream needs none."""
        return self.quiet_gap if self._sink.awaits_gaps else None

    def _port_lost(self, reason: str) -> None:
        self.connected = False
        self.last_port_error = reason
        if self._restarting:
            self._restarting = False
            LOGGER.debug("Reopening %s after the meter fell silent", self.display_port)
            return
        # Values from a port that is gone are stale now, not after the watchdog's 30 s.
        self._sink.set_unavailable(
            UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="port_lost",
                translation_placeholders={"port": self.display_port, "reason": reason},
            )
        )
        if not self._port_lost_logged:
            self._port_lost_logged = True
            LOGGER.warning(
                "Lost the meter port %s (%s); its sensors are unavailable until it returns",
                self.display_port,
                reason,
            )
        else:
            LOGGER.debug("Meter port %s still unavailable: %s", self.display_port, reason)

    def _port_back(self) -> None:
        self.connected = True
        self.reconnects += 1
        LOGGER.debug("Opened the meter port %s again", self.display_port)
        if self._port_lost_logged:
            self._port_lost_logged = False
            LOGGER.info("The meter port %s is back", self.display_port)

    async def _close_stream(self) -> None:
        if (stream := self._stream) is not None:
            self._stream = None
            await stream.close()

    async def _sleep(self, seconds: float) -> None:
        """Wait on Home Assistant's clock, so tests can move time instead of waiting."""
        done: asyncio.Future[None] = self._hass.loop.create_future()

        @callback
        def wake(_now: datetime) -> None:
            if not done.done():
                done.set_result(None)

        cancel = async_call_later(self._hass, seconds, wake)
        try:
            await done
        finally:
            cancel()

    @callback
    def _poll_tick(self, _now: datetime) -> None:
        self._poll_due.set()

    async def _wait_next_poll(self) -> None:
        await self._poll_due.wait()
        self._poll_due.clear()
