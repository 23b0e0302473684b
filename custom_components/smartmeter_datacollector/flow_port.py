"""The setup flow's hold on a serial port: opened by the form, or borrowed from the meter's entry.

The form opens the port before any progress step (fail fast: a wrong path or a refused socket is
named at once) and hands it to the listener, so no byte the meter sends in between is lost. A
reconfigure or re-key flow briefly unloads the running entry to listen on its port, and gives
the port back however the flow ends.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Final

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import callback

from .connection import MeterPortError, close_meter_port, open_meter_port
from .const import DOMAIN

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry
    from homeassistant.core import HomeAssistant

    from .dlms import SerialSettings

type Opened = tuple[asyncio.StreamReader, asyncio.StreamWriter]

# Opening a port is instant for a device path or a refused socket; a network serial server that
# does not answer must not keep the form waiting longer than this (seconds).
OPEN_TIMEOUT: Final = 10.0


class FlowPort:
    """One flow's port: the streams the form opened, and the entry it borrowed the port from."""

    def __init__(self) -> None:
        self._opened: Opened | None = None
        # An entry unloaded so its port is free for listening; reloaded when the flow ends.
        self._borrowed_entry_id: str | None = None

    async def async_open(self, port: str, settings: SerialSettings) -> dict[str, str] | None:
        """Open the port for the listener; None when it opened, else the form's placeholders."""
        try:
            async with asyncio.timeout(OPEN_TIMEOUT):
                self._opened = await open_meter_port(port, settings)
        except MeterPortError as err:
            reason = err.reason
        except TimeoutError:
            reason = f"no answer within {OPEN_TIMEOUT:g} seconds"
        else:
            return None
        return {"port": port, "reason": reason}

    def take(self) -> Opened | None:
        """The streams the form opened, once: whoever takes them closes them."""
        opened, self._opened = self._opened, None
        return opened

    async def async_borrow(self, hass: HomeAssistant, entry: ConfigEntry) -> None:
        """Unload the running entry: it holds the port exclusively, listening needs it a moment."""
        if entry.state in (ConfigEntryState.LOADED, ConfigEntryState.SETUP_RETRY):
            self._borrowed_entry_id = entry.entry_id
            # Shielded: a dialog closed mid-unload must not leave the entry half unloaded.
            await asyncio.shield(
                hass.async_create_task(hass.config_entries.async_unload(entry.entry_id))
            )

    def keep(self) -> None:
        """The entry is reloaded with its new data by the flow itself: nothing to give back."""
        self._borrowed_entry_id = None

    @callback
    def async_give_back(self, hass: HomeAssistant) -> None:
        """Reload the entry the port was borrowed from, if any."""
        if self._borrowed_entry_id is not None:
            hass.config_entries.async_schedule_reload(self._borrowed_entry_id)
            self._borrowed_entry_id = None

    @callback
    def async_release(self, hass: HomeAssistant, listening: asyncio.Task[object] | None) -> None:
        """The flow ended: close what the form opened, give the port back to its entry."""
        if (opened := self.take()) is not None:
            # Opened by the form but never listened on: the dialog closed in between.
            hass.async_create_background_task(close_meter_port(opened[1]), f"{DOMAIN} close port")
        if listening is not None and not listening.done():
            # Closed while listening: the cancelled listener still has to let go of the port.
            listening.add_done_callback(lambda _: self.async_give_back(hass))
            return
        self.async_give_back(hass)
