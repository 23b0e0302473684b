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
# Judge what arrived at most this often (seconds), and never more than this many bytes of it.
_JUDGE_EVERY: Final = 0.3
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


async def _listen_push(
    hass: HomeAssistant,
    streams: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    settings: SerialSettings,
    result: DetectResult,
) -> Detection | None:
    reader, writer = streams
    data = bytearray()
    deadline = time.monotonic() + PUSH_WINDOW
    judged = 0.0
    # An E450's push of its M-Bus channels names only its gas meter: listen on for a push that
    # names the meter itself, and settle for the channels' push only when none comes.
    channels_only: Detection | None = None
    try:
        while (left := deadline - time.monotonic()) > 0:
            try:
                async with asyncio.timeout(min(left, _JUDGE_EVERY)):
                    chunk = await reader.read(_READ_SIZE)
            except TimeoutError:
                chunk = None
            if chunk == b"":
                raise MeterPortError("the serial server closed the connection")
            if chunk:
                result.bytes_received += len(chunk)
                data += chunk[: max(0, _MAX_BYTES - len(data))]
            if data and time.monotonic() - judged >= _JUDGE_EVERY:
                judged = time.monotonic()
                found = await hass.async_add_executor_job(detect, bytes(data), settings)
                if found is not None and found.reading is not None:
                    result.data = bytes(data)
                    if not names_only_sub_meters(found.reading):
                        return found
                    channels_only = found
                elif found is not None and found.encrypted:
                    result.data = bytes(data)
                    return found
    finally:
        await close_meter_port(writer)
    return channels_only


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
        if (found := await _listen_push(hass, streams, settings, result)) is not None:
            result.detection, result.heard_at = found, settings
            return result
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
