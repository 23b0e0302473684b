"""Diagnostics: what the meter sent and what the decoder made of it, keys redacted."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.config_entries import ConfigEntryState
from serialx import redact_uri

from .const import CONF_AUTH_KEY, CONF_KEY, CONF_PORT, CONF_PROFILE
from .dlms import PROFILES
from .publish.options_mqtt import MQTT_REDACT

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

    from .coordinator import SmartMeterConfigEntry, SmartMeterRuntimeData
    from .dlms.models import Profile

TO_REDACT = {CONF_KEY, CONF_AUTH_KEY}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: SmartMeterConfigEntry
) -> dict[str, Any]:
    """Return the profile, port, decoder counters, last raw frames and the last reading.

    Works in every entry state: a meter that never came up (setup_retry) is exactly when a
    user needs them, and then only the entry and why it is not loaded are known.
    """
    profile = PROFILES.get(entry.data.get(CONF_PROFILE, ""))
    port = redact_uri(entry.data.get(CONF_PORT, ""))
    result: dict[str, Any] = {
        "entry": {
            "title": entry.title,
            "state": entry.state.value,
            "reason": entry.reason,
            # Serial-server URLs may carry passwords (esphome://...?password=).
            "data": async_redact_data({**entry.data, CONF_PORT: port}, TO_REDACT),
            "options": async_redact_data(dict(entry.options), MQTT_REDACT),
        },
        "profile": None if profile is None else _profile(profile),
    }
    if entry.state is not ConfigEntryState.LOADED:
        return result
    return result | _runtime(entry.runtime_data)


def _profile(profile: Profile) -> dict[str, Any]:
    return {
        "name": profile.name,
        "framing": profile.framing,
        "serial": str(profile.serial),
        "readout_serial": str(profile.readout_serial) if profile.readout_serial else None,
        "push_interval": profile.push_interval,
    }


def _runtime(runtime: SmartMeterRuntimeData) -> dict[str, Any]:
    coordinator = runtime.coordinator
    reader = coordinator.reader
    reading = coordinator.data
    return {
        "connection": {
            "port": reader.display_port,
            "connected": reader.connected,
            "reconnects": reader.reconnects,
            "last_port_error": reader.last_port_error,
            "reader_restarts": reader.reader_restarts,
            "last_reader_error": reader.last_reader_error,
            "watchdog_timeout": coordinator.watchdog_timeout,
            "quiet_gap": reader.quiet_gap,
            "last_reading_at": (
                coordinator.last_reading_at.isoformat() if coordinator.last_reading_at else None
            ),
            "available": coordinator.last_update_success,
        },
        "decoder": coordinator.decoder.stats.as_dict(),
        "publishers": [publisher.stats for publisher in runtime.publishers],
        # Frames are what arrived on the wire: ciphertext stays ciphertext, the keys are not here.
        "recent_frames": [frame.hex() for frame in coordinator.decoder.recent_frames],
        "last_reading": None
        if reading is None
        else {
            "meter_id": reading.meter_id,
            "manufacturer": reading.manufacturer,
            "system_title": reading.system_title,
            "timestamp": reading.timestamp.isoformat() if reading.timestamp else None,
            "values": {
                key: {"value": measurement.value, "unit": measurement.unit}
                for key, measurement in reading.values.items()
            },
        },
    }
