"""Fix flows for the coordinator's repair issues: a new port for a silent meter, new keys."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.components.repairs import RepairsFlow
from homeassistant.config_entries import ConfigEntryState
import voluptuous as vol

from .connection import MeterPortError, close_meter_port, open_meter_port
from .const import CONF_AUTH_KEY, CONF_KEY, CONF_PORT, CONF_PROFILE
from .dlms import PROFILES, MeterDecoder
from .errors import KeyFieldError, entry_key, key_error
from .issues import ISSUE_DECRYPTION
from .serial_ports import async_port_in_use

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.data_entry_flow import FlowResult

    from .coordinator import SmartMeterConfigEntry


class _EntryFixFlow(RepairsFlow):
    """A fix flow that ends by saving new entry data and reloading the entry."""

    def __init__(self, entry: SmartMeterConfigEntry) -> None:
        self._entry = entry

    def _placeholders(self) -> dict[str, str]:
        placeholders = {"title": self._entry.title, "port": self._entry.data[CONF_PORT]}
        if self._entry.state is ConfigEntryState.LOADED:
            coordinator = self._entry.runtime_data.coordinator
            placeholders["port"] = coordinator.display_port
            stats = coordinator.decoder.stats
            placeholders |= {
                "bytes": str(stats.bytes_received),
                "frames": str(stats.frames),
                "crc_errors": str(stats.crc_errors),
            }
        return placeholders

    def _save(self, changes: dict[str, Any]) -> FlowResult:
        self.hass.config_entries.async_update_entry(
            self._entry, data={**self._entry.data, **changes}
        )
        self.hass.config_entries.async_schedule_reload(self._entry.entry_id)
        return self.async_create_entry(data={})


class PortFixFlow(_EntryFixFlow):
    """The meter has been silent for ten minutes: keep or change the port, then reconnect."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> FlowResult:
        """Start with the port form (the repairs API passes the issue id as input here)."""
        return await self.async_step_port()

    async def async_step_port(self, user_input: dict[str, Any] | None = None) -> FlowResult:
        """Ask for the port; the current one is prefilled."""
        errors: dict[str, str] = {}
        placeholders = self._placeholders()
        if user_input is not None:
            port = user_input[CONF_PORT].strip()
            if await async_port_in_use(self.hass, port, [self._entry.data[CONF_PORT]]):
                return self._save({})
            if await self._port_taken(port):
                errors[CONF_PORT] = "port_in_use"
            else:
                try:
                    _, writer = await open_meter_port(
                        port, PROFILES[self._entry.data[CONF_PROFILE]].serial
                    )
                except MeterPortError as err:
                    errors[CONF_PORT] = "cannot_open_port"
                    placeholders["reason"] = err.reason
                else:
                    await close_meter_port(writer)
                    return self._save({CONF_PORT: port})
        return self.async_show_form(
            step_id="port",
            data_schema=vol.Schema(
                {vol.Required(CONF_PORT, default=self._entry.data[CONF_PORT]): str}
            ),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def _port_taken(self, port: str) -> bool:
        others = [
            entry.data[CONF_PORT]
            for entry in self.hass.config_entries.async_entries(self._entry.domain)
            if entry.entry_id != self._entry.entry_id and CONF_PORT in entry.data
        ]
        return await async_port_in_use(self.hass, port, others)


class KeyFixFlow(_EntryFixFlow):
    """Decryption keeps failing: ask for the keys and try them on the frames already received."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> FlowResult:
        """Start with the key form (the repairs API passes the issue id as input here)."""
        return await self.async_step_keys()

    async def async_step_keys(self, user_input: dict[str, Any] | None = None) -> FlowResult:
        """Ask for the encryption key and the optional authentication key."""
        errors: dict[str, str] = {}
        if user_input is not None:
            try:
                key = entry_key(user_input.get(CONF_KEY), "invalid_key_format")
                auth_key = entry_key(user_input.get(CONF_AUTH_KEY), "invalid_auth_key_format")
            except KeyFieldError as err:
                errors["base"] = err.error
            else:
                if error := self._try_keys(key, auth_key):
                    errors["base"] = error
                else:
                    return self._save({CONF_KEY: key, CONF_AUTH_KEY: auth_key})
        return self.async_show_form(
            step_id="keys",
            data_schema=vol.Schema({vol.Optional(CONF_KEY): str, vol.Optional(CONF_AUTH_KEY): str}),
            errors=errors,
            description_placeholders=self._placeholders(),
        )

    def _try_keys(self, key: str | None, auth_key: str | None) -> str | None:
        """Decode the frames kept for diagnostics with the new keys; name what still fails."""
        if self._entry.state is not ConfigEntryState.LOADED:
            return None
        coordinator = self._entry.runtime_data.coordinator
        frames = coordinator.decoder.recent_frames
        if not frames:
            return None
        trial = MeterDecoder(coordinator.profile.name, key=key, auth_key=auth_key)
        if trial.feed(b"".join(frames)):
            return None
        return key_error(trial.stats)


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    """Pick the fix flow for one of the coordinator's issues."""
    entry_id = str((data or {}).get("entry_id"))
    entry: SmartMeterConfigEntry | None = hass.config_entries.async_get_entry(entry_id)
    if entry is None:
        raise ValueError(f"no config entry {entry_id} for issue {issue_id}")
    if issue_id.startswith(ISSUE_DECRYPTION):
        return KeyFixFlow(entry)
    return PortFixFlow(entry)
