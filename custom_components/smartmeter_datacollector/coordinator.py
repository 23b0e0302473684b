"""Push coordinator: owns the decoder and the watchdog; publishes each reading the port brings.

The port itself (open, read, reopen, back-off) is `reader.MeterReader`'s; this module decides
what the bytes mean for Home Assistant: readings, unavailability, repair issues.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .connection import MeterPortError
from .const import CONF_AUTH_KEY, CONF_KEY, DOMAIN, LOGGER
from .devices import MeterDevices
from .dlms import MeterDecoder
from .dlms.decoder import DEFAULT_IDLE_GAP
from .dlms.models import Reading
from .errors import key_error, key_failures
from .issues import ISSUE_DECRYPTION, ISSUE_NO_DATA, issue_id
from .line_settings import profile_for
from .reader import MeterReader

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

# Entities go unavailable after three missed pushes, but never sooner than this.
WATCHDOG_MIN: Final = 30.0
WATCHDOG_PUSHES: Final = 3
NO_DATA_ISSUE_AFTER: Final = 600.0
# Messages in a row that fail decryption (and no reading in between) before the key is suspect;
# one damaged frame must not alarm anyone.
DECRYPT_FAILURES_FOR_ISSUE: Final = 3


class SmartMeterCoordinator(DataUpdateCoordinator[Reading | None]):
    """Turns what the meter's port brings into readings for as long as the entry is loaded.

    No polling interval: each reading is pushed to the entities as it arrives.
    """

    config_entry: SmartMeterConfigEntry

    def __init__(self, hass: HomeAssistant, entry: SmartMeterConfigEntry) -> None:
        super().__init__(hass, LOGGER, config_entry=entry, name=entry.title)
        self.profile: Profile = profile_for(entry.data)
        self.meter_id: str = entry.unique_id or entry.entry_id
        self.reader = MeterReader(hass, entry, self.profile, self)
        self.decoder = self._new_decoder()
        self.watchdog_timeout = max(WATCHDOG_PUSHES * self.profile.push_interval, WATCHDOG_MIN)
        self.last_reading_at: datetime | None = None
        # The meter's device and its sub-meters' devices, named by what the pushes say.
        self.devices = MeterDevices(hass, self.meter_id, self.profile)
        self._decrypt_failures = 0
        self._key_failures = 0  # key failures the decoder had counted at the last chunk
        # Issues an earlier run of this entry may have left: the first reading clears them.
        self._open_issues: set[str] = {ISSUE_NO_DATA, ISSUE_DECRYPTION}
        self._unsub_watchdog: Callable[[], None] | None = None
        self._unsub_no_data: Callable[[], None] | None = None
        self._reading_callbacks: list[Callable[[Reading], None]] = []

    def _new_decoder(self) -> MeterDecoder:
        data = self.config_entry.data
        return MeterDecoder(
            # The profile itself: line settings the entry overrides reach the decoder's timing.
            self.profile,
            key=data.get(CONF_KEY) or None,
            auth_key=data.get(CONF_AUTH_KEY) or None,
            tz=dt_util.get_default_time_zone(),
            idle_gap=self.reader.quiet_gap or DEFAULT_IDLE_GAP,
        )

    @property
    def display_port(self) -> str:
        """The port as logs and diagnostics may show it (secrets in URLs removed)."""
        return self.reader.display_port

    @property
    def device_info(self) -> DeviceInfo:
        """The device this meter is."""
        return self.devices.meter_info(self.config_entry.title)

    @property
    def readings(self) -> int:
        """Readings decoded so far (the reader resets its back-off when this grows)."""
        return self.decoder.stats.readings

    @property
    def awaits_gaps(self) -> bool:
        """Whether the reader still has to time silences for the decoder (bare APDUs)."""
        return self.decoder.awaits_gaps

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
            await self.reader.async_open()
        except MeterPortError as err:
            raise ConfigEntryNotReady(
                translation_domain=DOMAIN,
                translation_key="cannot_open_port",
                translation_placeholders={"port": self.display_port, "reason": err.reason},
            ) from err

    @callback
    def async_start(self) -> None:
        """Start reading in the background; the entry's unload stops it."""
        self._arm_watchdog()
        self._arm_no_data(NO_DATA_ISSUE_AFTER)
        self.reader.async_start()

    async def async_shutdown(self) -> None:
        """Stop reading and release the port, so a reload or another entry can open it."""
        await super().async_shutdown()
        self._cancel_timers()
        await self.reader.async_stop()

    def feed(self, chunk: bytes) -> list[Reading]:
        """Decode what the port brought; an empty chunk is a silence that may end a message."""
        if not chunk:
            return self.decoder.gap()
        readings = self.decoder.feed(chunk, now=self.hass.loop.time())
        # The counters only grow (and outlive a renewed decoder): one look per chunk suffices.
        seen, self._key_failures = self._key_failures, key_failures(self.decoder.stats)
        failures = self._key_failures - seen
        if readings:
            self._decrypt_failures = 0
        elif failures:
            self._decrypt_failures += failures
            if self._decrypt_failures >= DECRYPT_FAILURES_FOR_ISSUE:
                self._raise_issue(ISSUE_DECRYPTION)
        return readings

    def renew_decoder(self) -> None:
        """A fresh decoder after the reader failed (the old one's state may be why); same counters."""
        stats = self.decoder.stats
        self.decoder = self._new_decoder()
        self.decoder.stats = stats

    @callback
    def publish(self, reading: Reading) -> None:
        """One reading: entities, re-publishers, watchdog and issues."""
        # The watchdog stays armed from the start; it measures the silence when it expires, so
        # a push costs no timer of its own.
        self.last_reading_at = dt_util.utcnow()
        if self._unsub_no_data is not None:
            # Armed at start, or by the watchdog during a silence; the watchdog arms it again.
            self._unsub_no_data()
            self._unsub_no_data = None
        self._clear_issues()
        if not self.last_update_success:
            LOGGER.info("Readings from the meter on %s are back", self.display_port)
        self.devices.learn(reading)
        self.async_set_updated_data(reading)
        for reading_callback in list(self._reading_callbacks):
            reading_callback(reading)

    @callback
    def set_unavailable(self, err: UpdateFailed) -> None:
        """Make the entities unavailable; the caller logs why, once, at the level it deserves.

        DataUpdateCoordinator.async_set_update_error would log every loss at ERROR, although
        a lost port or a silent meter is a condition this integration handles by itself.
        """
        self.last_exception = err
        if self.last_update_success:
            self.last_update_success = False
            self.async_update_listeners()

    @callback
    def _arm_watchdog(self, delay: float | None = None) -> None:
        """Arm anew: a whole timeout, or `delay`, the rest of one since a recent reading."""
        if self._unsub_watchdog is not None:
            self._unsub_watchdog()
        self._unsub_watchdog = async_call_later(
            self.hass, self.watchdog_timeout if delay is None else delay, self._watchdog_expired
        )

    @callback
    def _watchdog_expired(self, now: datetime) -> None:
        self._unsub_watchdog = None
        silent = (
            None if self.last_reading_at is None else (now - self.last_reading_at).total_seconds()
        )
        if silent is not None and silent < self.watchdog_timeout:
            # A reading came since the timer was armed: wait for the rest of the timeout.
            self._arm_watchdog(self.watchdog_timeout - silent)
            return
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
        self.set_unavailable(
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
        self.reader.reopen()
        self._arm_watchdog()
        if (
            self._unsub_no_data is None
            and silent is not None
            and ISSUE_NO_DATA not in self._open_issues
        ):
            # The first expiry of a silence arms the issue, NO_DATA_ISSUE_AFTER after the last
            # reading: re-arming it on every push as well would cost a timer per push.
            self._arm_no_data(max(0.0, NO_DATA_ISSUE_AFTER - silent))

    @callback
    def _arm_no_data(self, delay: float) -> None:
        if self._unsub_no_data is not None:
            self._unsub_no_data()
        self._unsub_no_data = async_call_later(self.hass, delay, self._no_data_expired)

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
        for unsub in (self._unsub_watchdog, self._unsub_no_data):
            if unsub is not None:
                unsub()
        self._unsub_watchdog = self._unsub_no_data = None
