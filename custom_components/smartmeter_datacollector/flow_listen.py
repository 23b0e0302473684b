"""Listen to a meter for one complete reading, and say what to fix when none came.

Validation follows core dsmr's idea: nothing is saved before the meter spoke. The outcome is a
reading or the one form error (with its placeholders) that names the fault; what the decoder
counted becomes that error through `errors.decode_error`, the map the repairs share.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .connection import MeterPortError, MeterStream, listen_for_reading, open_meter_port
from .const import CONF_AUTH_KEY, CONF_KEY, CONF_PORT, CONF_PROFILE
from .errors import decode_error
from .line_settings import profile_for

if TYPE_CHECKING:
    from collections.abc import Mapping

    from .connection import ListenResult
    from .dlms import Profile, Reading
    from .flow_port import Opened

# Listen for three push intervals, but never keep the user waiting longer than this (seconds).
LISTEN_TIMEOUT_MAX: float = 30.0


@dataclass(frozen=True, slots=True)
class ListenOutcome:
    """What listening taught us: a reading, or the error to show with its placeholders."""

    reading: Reading | None = None
    error: str | None = None
    placeholders: dict[str, str] = field(default_factory=dict)


def listen_timeout(profile: Profile) -> float:
    """How long to listen for a meter of this type (the progress text says it too)."""
    return min(3 * profile.push_interval, LISTEN_TIMEOUT_MAX)


def classify(result: ListenResult, timeout: float) -> ListenOutcome:
    """Turn a listening attempt into the one message that tells the user what to fix."""
    if result.reading is not None:
        return ListenOutcome(reading=result.reading)
    if result.bytes_received == 0:
        return ListenOutcome(error="no_data", placeholders={"seconds": f"{timeout:g}"})
    if error := decode_error(result.stats):
        return ListenOutcome(error=error)
    return ListenOutcome(error="no_valid_frame", placeholders={"bytes": str(result.bytes_received)})


async def async_listen(data: Mapping[str, Any], opened: Opened | None) -> ListenOutcome:
    """Wait for one complete reading with the entry data to be, on the port the form opened."""
    profile = profile_for(data)
    timeout = listen_timeout(profile)
    try:
        streams = opened or await open_meter_port(data[CONF_PORT], profile.serial)
        result = await listen_for_reading(
            data[CONF_PORT],
            data[CONF_PROFILE],
            data[CONF_KEY],
            data[CONF_AUTH_KEY],
            timeout,
            MeterStream(*streams, profile),
        )
    except MeterPortError as err:
        return ListenOutcome(
            error="cannot_open", placeholders={"port": data[CONF_PORT], "reason": err.reason}
        )
    return classify(result, timeout)
