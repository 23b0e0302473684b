"""Say again that a setup progress step ended, for a frontend that subscribed to it too late.

The 2025.4 frontend subscribes to a progress step's event only after rendering it, so a listen
that ends within milliseconds ends unseen and the dialog spins forever.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Final

from homeassistant.core import callback
from homeassistant.data_entry_flow import EVENT_DATA_ENTRY_FLOW_PROGRESSED

from .const import DOMAIN

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigFlow

# The event is said again after these delays (seconds), only for a step that ended this soon
# (seconds): the dialog keeps listening for the flow's events until it closes, and an echo
# arriving after the user's next submit would make it fetch a finished flow ("Invalid flow
# specified").
_ECHO_DELAYS: Final = (0.5, 1.5)
_ECHO_WITHIN: Final = 2.0


class ProgressEcho:
    """The echo of one flow's progress steps: started with a step, repeated once it ends."""

    def __init__(self, flow: ConfigFlow) -> None:
        # The flow, not its hass and id: the flow manager sets those after the flow is made.
        self._flow = flow
        self._started = 0.0
        self._task: asyncio.Task[None] | None = None

    def started(self) -> None:
        """A progress step began: its end is echoed only if it comes soon."""
        self._started = time.monotonic()

    @callback
    def ended(self) -> None:
        """The step ended: say so again in the background if the frontend may have missed it."""
        self.cancel()
        if time.monotonic() - self._started > _ECHO_WITHIN:
            return
        self._task = self._flow.hass.async_create_background_task(
            self._async_echo(), f"{DOMAIN} config flow progress echo"
        )

    @callback
    def cancel(self) -> None:
        """Stop echoing: the flow moved on or closed."""
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _async_echo(self) -> None:
        waited = 0.0
        for delay in _ECHO_DELAYS:
            await asyncio.sleep(delay - waited)
            waited = delay
            self._flow.hass.bus.async_fire(
                EVENT_DATA_ENTRY_FLOW_PROGRESSED,
                {"handler": self._flow.handler, "flow_id": self._flow.flow_id, "refresh": True},
            )
