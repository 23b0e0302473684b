"""Drive a port through the line settings meters use until the decoder recognises one.

The bytes are judged by `dlms.detect`; this module only opens, listens and closes, bounded by
time, so the whole detection stays within about a minute.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
import time
from typing import TYPE_CHECKING, Final

from .connection import MeterPortError, close_meter_port, listen_for_reading, open_meter_port
from .dlms import PROFILES
from .dlms.detect import (
    PUSH_LINE_SETTINGS,
    READOUT_LINE_SETTING,
    READOUT_PROFILE,
    Detection,
    detect,
)
from .dlms.identity import names_only_sub_meters

if TYPE_CHECKING:
    from collections.abc import Callable

    from homeassistant.core import HomeAssistant

    from .dlms import SerialSettings

# Seconds per push line setting: the slowest push meters send every 10 s, so one whole message
# falls inside. Four settings and the readout stay within about 60 s.
PUSH_WINDOW: Final = 11.0
READOUT_WINDOW: Final = 12.0
# A push meter is quiet between its messages: bytes heard with this much silence (seconds)
# before and after them are one whole message. A whole message in which no meter is found was
# sent at another speed (a UART at the wrong one reads noise), so the next setting is tried at
# once rather than after the rest of the window. A meter that pushes more often, or pauses this
# long inside a message, is listened to for the whole window as before.
QUIET_GAP: Final = 1.0
# Judge what arrived at most this often (seconds), and never more than this many bytes of it.
_JUDGE_EVERY: Final = 0.3
# A read that found nothing proves silence only if it ended on time: when the event loop was
# held up longer than this (seconds), bytes may be waiting unread.
_LATE: Final = 0.2
_MAX_BYTES: Final = 16384
_READ_SIZE: Final = 4096


@dataclass(slots=True)
class DetectResult:
    """What detection found, and what it heard on the way (for the error when it found nothing)."""

    detection: Detection | None = None
    heard_at: SerialSettings | None = None
    data: bytes = b""
    bytes_received: int = 0
    tried: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Line:
    """What the reads proved about silence on the line: whether a burst of bytes is whole."""

    quiet_from: float | None = None  # start of the current run of reads that found nothing
    quiet_to: float = 0.0  # and its end
    burst: bool = False  # bytes came after the last quiet gap
    whole: bool = False  # and a quiet gap came before them

    def empty(self, started: float, waited: float) -> None:
        """A read found nothing for `waited` seconds."""
        ended = time.monotonic()
        if ended - started > waited + _LATE:
            self.quiet_from = None
            return
        if self.quiet_from is None:
            self.quiet_from = started
        self.quiet_to = ended

    def heard(self) -> None:
        """Bytes arrived."""
        if not self.burst:
            self.burst, self.whole = True, self.quiet_for() >= QUIET_GAP
        self.quiet_from = None

    def quiet_for(self) -> float:
        """How long the line has been proven silent, up to the last read."""
        return 0.0 if self.quiet_from is None else self.quiet_to - self.quiet_from

    def whole_burst_ended(self) -> bool:
        """A burst with a quiet gap before and after it just ended: one whole message."""
        if not self.burst or self.quiet_for() < QUIET_GAP:
            return False
        self.burst = False
        return self.whole


async def _listen_push(
    hass: HomeAssistant,
    streams: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    settings: SerialSettings,
    result: DetectResult,
) -> tuple[Detection | None, bool]:
    """What was found at one setting, and whether the line was proven silent all along."""
    reader, writer = streams
    data = bytearray()
    deadline = time.monotonic() + PUSH_WINDOW
    judged = 0.0
    fresh = False  # bytes arrived that detect() has not judged yet
    found: Detection | None = None
    line = _Line()
    # An E450's push of its M-Bus channels names only its gas meter: listen on for a push that
    # names the meter itself, and settle for the channels' push only when none comes.
    channels_only: Detection | None = None
    try:
        while (left := deadline - time.monotonic()) > 0:
            started, waited = time.monotonic(), min(left, _JUDGE_EVERY)
            try:
                async with asyncio.timeout(waited):
                    chunk = await reader.read(_READ_SIZE)
            except TimeoutError:
                chunk = None
            if chunk == b"":
                raise MeterPortError("the serial server closed the connection")
            if chunk:
                line.heard()
                result.bytes_received += len(chunk)
                data += chunk[: max(0, _MAX_BYTES - len(data))]
                fresh = True
            else:
                line.empty(started, waited)
            if fresh and time.monotonic() - judged >= _JUDGE_EVERY:
                judged, fresh = time.monotonic(), False
                found = await hass.async_add_executor_job(detect, bytes(data), settings)
                if found is not None and found.reading is not None:
                    result.data = bytes(data)
                    if not names_only_sub_meters(found.reading):
                        return found, False
                    channels_only = found
                elif found is not None and found.encrypted:
                    result.data = bytes(data)
                    return found, False
            if line.whole_burst_ended() and not fresh and found is None:
                return None, False
    finally:
        await close_meter_port(writer)
    # Silent for the whole window (less one read's wait), every read on time.
    return channels_only, not data and line.quiet_for() >= PUSH_WINDOW - 2 * _JUDGE_EVERY


async def async_detect(
    hass: HomeAssistant,
    port: str,
    opened: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None,
    on_try: Callable[[SerialSettings], None],
) -> DetectResult:
    """Listen at each push line setting, then ask for a readout; stop at the first meter found.

    `opened` is the port as the form opened it at the first setting (nothing heard is lost).
    Raises MeterPortError when the port fails on the way.
    """
    result = DetectResult()
    for settings in PUSH_LINE_SETTINGS:
        on_try(settings)
        result.tried.append(str(settings))
        streams = opened or await open_meter_port(port, settings)
        opened = None
        found, silent = await _listen_push(hass, streams, settings, result)
        if found is not None:
            result.detection, result.heard_at = found, settings
            return result
        if silent:
            # A push meter at any speed would have sent something (noise at the wrong one):
            # only a meter that waits to be asked can be there.
            break
    on_try(READOUT_LINE_SETTING)
    result.tried.append(str(READOUT_LINE_SETTING))
    listened = await listen_for_reading(port, READOUT_PROFILE, None, None, READOUT_WINDOW)
    result.bytes_received += listened.bytes_received
    if listened.reading is not None:
        result.heard_at = READOUT_LINE_SETTING
        result.detection = Detection(
            profile=PROFILES[READOUT_PROFILE],
            encrypted=False,
            manufacturer=listened.reading.manufacturer,
            reading=listened.reading,
            stats=listened.stats,
        )
    return result
