"""Push coordinator: owns the meter's port, the decoder and the watchdog; publishes each reading."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_call_later, async_track_time_interval
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util
from serialx import redact_uri

from .connection import IEC62056_21, MeterPortError, MeterStream, is_local_path, quiet_gap
from .const import CONF_AUTH_KEY, CONF_KEY, CONF_PORT, DOMAIN, LOGGER
from .devices import MeterDevices
from .dlms import MeterDecoder
from .dlms.decoder import DEFAULT_IDLE_GAP
from .dlms.models import Reading
from .errors import key_error, key_failures
from .issues import ISSUE_DECRYPTION, ISSUE_NO_DATA, issue_id
from .line_settings import profile_for
from .tasks import async_cancel_task

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from homeassistant.helpers.device_registry import DeviceInfo

    from .dlms.models import Profile


class ReadingPublisher(Protocol):
    """Something the coordinator hands each reading to; started and stopped with the entry."""

    @property
    def stats(self) -> dict[str, Any]:
        """Counters for diagnostics (no secrets)."""

    async def async_start(self) -> None:
        """Start background work, if any."""

    async def async_stop(self) -> None:
        """Stop background work and release connections."""

    def publish(self, reading: Reading) -> None:
        """Take one reading; must return at once."""


@dataclass(kw_only=True)
class SmartMeterRuntimeData:
    """What a loaded entry runs: the meter's coordinator and the re-publishers it feeds."""

    coordinator: SmartMeterCoordinator
    publishers: list[ReadingPublisher]


type SmartMeterConfigEntry = ConfigEntry[SmartMeterRuntimeData]

RECONNECT_MIN: Final = 1.0
RECONNECT_MAX: Final = 60.0
# An unplugged USB adapter comes back under the same /dev/serial/by-id path: while the path is
# gone, look for it this often (a stat, no open), so readings return within a second or so.
DEVICE_POLL: Final = 0.5
# Entities go unavailable after three missed pushes, but never sooner than this.
WATCHDOG_MIN: Final = 30.0
WATCHDOG_PUSHES: Final = 3
NO_DATA_ISSUE_AFTER: Final = 600.0
# Messages in a row that fail decryption (and no reading in between) before the key is suspect;
# one damaged frame must not alarm anyone.
DECRYPT_FAILURES_FOR_ISSUE: Final = 3


class SmartMeterCoordinator(DataUpdateCoordinator[Reading | None]):
    """Reads the meter for as long as the entry is loaded; no polling interval."""

    config_entry: SmartMeterConfigEntry

    def __init__(self, hass: HomeAssistant, entry: SmartMeterConfigEntry) -> None:
        super().__init__(hass, LOGGER, config_entry=entry, name=entry.title)
        self.profile: Profile = profile_for(entry.data)
        self.port: str = entry.data[CONF_PORT]
        self.meter_id: str = entry.unique_id or entry.entry_id
        self._device: Path | None = Path(self.port) if is_local_path(self.port) else None
        # Text readouts arrive whole, one per poll; only push lines have gaps between messages.
        self.quiet_gap: float | None = (
            None
            if self.profile.framing == IEC62056_21
            else quiet_gap(self.port, self.profile.serial)
        )
        self.decoder = self._new_decoder()
        self.watchdog_timeout = max(WATCHDOG_PUSHES * self.profile.push_interval, WATCHDOG_MIN)
        self.connected = False
        self.reconnects = 0
        self.last_port_error: str | None = None
        self.reader_restarts = 0
        self.last_reader_error: str | None = None
        self.last_reading_at: datetime | None = None
        # The meter's device and its sub-meters' devices, named by what the pushes say.
        self.devices = MeterDevices(hass, self.meter_id, self.profile)
        self._stream: MeterStream | None = None
        self._task: asyncio.Task[None] | None = None
        self._port_lost_logged = False
        self._restarting = False
        self._decrypt_failures = 0
        # Issues an earlier run of this entry may have left: the first reading clears them.
        self._open_issues: set[str] = {ISSUE_NO_DATA, ISSUE_DECRYPTION}
        self._unsub_watchdog: Callable[[], None] | None = None
        self._unsub_no_data: Callable[[], None] | None = None
        self._unsub_poll: Callable[[], None] | None = None
        self._poll_due = asyncio.Event()
        self._reading_callbacks: list[Callable[[Reading], None]] = []

    def _new_decoder(self) -> MeterDecoder:
        data = self.config_entry.data
        return MeterDecoder(
            # The profile itself: line settings the entry overrides reach the decoder's timing.
            self.profile,
            key=data.get(CONF_KEY) or None,
            auth_key=data.get(CONF_AUTH_KEY) or None,
            tz=dt_util.get_default_time_zone(),
            idle_gap=self.quiet_gap or DEFAULT_IDLE_GAP,
        )

    @property
    def display_port(self) -> str:
        """The port as logs and diagnostics may show it (secrets in URLs removed)."""
        return redact_uri(self.port)

    @property
    def device_info(self) -> DeviceInfo:
        """The device this meter is."""
        return self.devices.meter_info(self.config_entry.title)

    @callback
    def async_add_reading_callback(
        self, reading_callback: Callable[[Reading], None]
    ) -> CALLBACK_TYPE:
        """Hand every new reading to reading_callback (re-publishers); returns the remover.

        Unlike coordinator listeners, these run once per reading, never on errors.
        """
        self._reading_callbacks.append(reading_callback)

        @callback
        def remove() -> None:
            self._reading_callbacks.remove(reading_callback)

        return remove

    async def async_connect(self) -> None:
        """Open the port once at setup so a missing adapter retries setup instead of failing."""
        try:
            self._stream = await MeterStream.open(self.port, self.profile, self._wait_next_poll)
        except MeterPortError as err:
            raise ConfigEntryNotReady(
                translation_domain=DOMAIN,
                translation_key="cannot_open_port",
                translation_placeholders={"port": self.display_port, "reason": err.reason},
            ) from err
        self.connected = True

    @callback
    def async_start(self) -> None:
        """Start reading in the background; the entry's unload cancels it."""
        self._arm_watchdog()
        self._arm_no_data()
        if self.profile.framing == IEC62056_21:
            # A steady tick keeps the poll period independent of how long a readout takes.
            self._unsub_poll = async_track_time_interval(
                self.hass,
                self._poll_tick,
                timedelta(seconds=self.profile.push_interval),
                name=f"{DOMAIN} {self.display_port} poll",
            )
        self._task = self.config_entry.async_create_background_task(
            self.hass, self._supervise(), name=f"{DOMAIN} {self.display_port} reader"
        )

    async def async_shutdown(self) -> None:
        """Stop reading and release the port, so a reload or another entry can open it."""
        await super().async_shutdown()
        self._cancel_timers()
        task, self._task = self._task, None
        await async_cancel_task(task)
        await self._close_stream()

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
                self._set_unavailable(
                    UpdateFailed(
                        translation_domain=DOMAIN,
                        translation_key="reader_failed",
                        translation_placeholders={
                            "port": self.display_port,
                            "error": self.last_reader_error,
                        },
                    )
                )
                stats = self.decoder.stats
                self.decoder = self._new_decoder()
                self.decoder.stats = stats
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
                        self.port, self.profile, self._wait_next_poll
                    )
                except MeterPortError as err:
                    self._port_lost(err.reason)
                else:
                    self._port_back()
            if self._stream is not None:
                readings_before = self.decoder.stats.readings
                try:
                    await self._read(self._stream)
                except MeterPortError as err:
                    self._port_lost(err.reason)
                await self._close_stream()
                if self.decoder.stats.readings > readings_before:
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
        """Feed the decoder until the port is lost (MeterPortError)."""
        async with contextlib.aclosing(stream.chunks(self.quiet_gap)) as chunks:
            async for chunk in chunks:
                # An empty chunk: the line fell silent after bytes, so a message ended there
                # (a bare APDU is known to be complete only then).
                readings = self._feed(chunk) if chunk else self.decoder.gap()
                for reading in readings:
                    self._publish(reading)
                    # One reading at a time: a burst of buffered pushes must not hold the loop.
                    await asyncio.sleep(0)
                # Give other tasks the loop between chunks even when bytes keep arriving.
                await asyncio.sleep(0)

    def _feed(self, chunk: bytes) -> list[Reading]:
        failures_before = key_failures(self.decoder.stats)
        readings = self.decoder.feed(chunk, now=self.hass.loop.time())
        failures = key_failures(self.decoder.stats) - failures_before
        if readings:
            self._decrypt_failures = 0
        elif failures:
            self._decrypt_failures += failures
            if self._decrypt_failures >= DECRYPT_FAILURES_FOR_ISSUE:
                self._raise_issue(ISSUE_DECRYPTION)
        return readings

    @callback
    def _publish(self, reading: Reading) -> None:
        self.last_reading_at = dt_util.utcnow()
        self._arm_watchdog()
        self._arm_no_data()
        self._clear_issues()
        if not self.last_update_success:
            LOGGER.info("Readings from the meter on %s are back", self.display_port)
        self.devices.learn(reading)
        self.async_set_updated_data(reading)
        for reading_callback in list(self._reading_callbacks):
            reading_callback(reading)

    def _port_lost(self, reason: str) -> None:
        self.connected = False
        self.last_port_error = reason
        if self._restarting:
            self._restarting = False
            LOGGER.debug("Reopening %s after the meter fell silent", self.display_port)
            return
        # Values from a port that is gone are stale now, not after the watchdog's 30 s.
        self._set_unavailable(
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

    @callback
    def _set_unavailable(self, err: UpdateFailed) -> None:
        """Make the entities unavailable; the caller logs why, once, at the level it deserves.

        DataUpdateCoordinator.async_set_update_error would log every loss at ERROR, although
        a lost port or a silent meter is a condition this integration handles by itself.
        """
        self.last_exception = err
        if self.last_update_success:
            self.last_update_success = False
            self.async_update_listeners()

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
        done: asyncio.Future[None] = self.hass.loop.create_future()

        @callback
        def wake(_now: datetime) -> None:
            if not done.done():
                done.set_result(None)

        cancel = async_call_later(self.hass, seconds, wake)
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

    @callback
    def _arm_watchdog(self) -> None:
        if self._unsub_watchdog is not None:
            self._unsub_watchdog()
        self._unsub_watchdog = async_call_later(
            self.hass, self.watchdog_timeout, self._watchdog_expired
        )

    @callback
    def _watchdog_expired(self, _now: datetime) -> None:
        self._unsub_watchdog = None
        # Bytes that arrive but cannot be decrypted are a key problem, not a cable problem.
        locked = key_error(self.decoder.stats) is not None
        if self.last_update_success:
            LOGGER.warning(
                "No reading from the meter on %s for %s seconds; its sensors are unavailable "
                "until it pushes again (%s)",
                self.display_port,
                round(self.watchdog_timeout),
                "messages arrive but the keys do not decrypt them"
                if locked
                else "check the cable and that the customer interface is enabled",
            )
        self._set_unavailable(
            UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="meter_undecryptable" if locked else "meter_silent",
                translation_placeholders={
                    "port": self.display_port,
                    "seconds": str(round(self.watchdog_timeout)),
                },
            )
        )
        # A port that stays open but delivers nothing (a half-open TCP link, a wedged adapter)
        # only recovers by reopening it; the read loop then reconnects with back-off.
        if self._stream is not None:
            self._restarting = True
            self._stream.abort()
        self._arm_watchdog()

    @callback
    def _arm_no_data(self) -> None:
        if self._unsub_no_data is not None:
            self._unsub_no_data()
        self._unsub_no_data = async_call_later(
            self.hass, NO_DATA_ISSUE_AFTER, self._no_data_expired
        )

    @callback
    def _no_data_expired(self, _now: datetime) -> None:
        self._unsub_no_data = None
        self._raise_issue(ISSUE_NO_DATA)

    def _raise_issue(self, kind: str) -> None:
        self._open_issues.add(kind)
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            issue_id(kind, self.config_entry.entry_id),
            is_fixable=True,
            is_persistent=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key=kind,
            # No counters here: they change with every push and would re-announce the issue.
            translation_placeholders={"title": self.config_entry.title, "port": self.display_port},
            data={"entry_id": self.config_entry.entry_id},
        )

    def _clear_issues(self) -> None:
        # Runs on every push: touch the issue registry only when something may be open.
        for kind in self._open_issues:
            ir.async_delete_issue(self.hass, DOMAIN, issue_id(kind, self.config_entry.entry_id))
        self._open_issues.clear()

    def _cancel_timers(self) -> None:
        for unsub in (self._unsub_watchdog, self._unsub_no_data, self._unsub_poll):
            if unsub is not None:
                unsub()
        self._unsub_watchdog = self._unsub_no_data = self._unsub_poll = None
