"""Say again that a setup progress step ended, for a frontend that subscribed to it too late.

The 2025.4 frontend subscribes to a progress step's event only after rendering it, so a listen
that ends within milliseconds ends unseen and the dialog spins forever. The dialog stays
subscribed until it closes and redraws the flow's current step on every event, so an echo is
said only while nobody has fetched the step that followed the progress (once the dialog shows
that step, a key form say, an echo would redraw it and clear what the user typed), and only to
a subscriber that came after the end (a dialog subscribed in time got the end and is fetching).
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Final

from homeassistant.core import callback
from homeassistant.data_entry_flow import EVENT_DATA_ENTRY_FLOW_PROGRESSED, FlowResultType

from .const import DOMAIN

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigFlow

# Only a step that ended this soon (seconds) is echoed: a longer one was on screen, and
# subscribed to, well before it ended.
_ECHO_WITHIN: Final = 2.0
# A late subscriber is looked for every _ECHO_POLL seconds; after _ECHO_TICKS of them the end is
# said once more to a dialog that has fetched nothing yet, in case its subscription could not be
# counted (another dialog closed as it subscribed).
_ECHO_POLL: Final = 0.25
_ECHO_TICKS: Final = 12


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
            self._async_echo(self._subscribers()), f"{DOMAIN} config flow progress echo"
        )

    @callback
    def cancel(self) -> None:
        """Stop echoing: the flow moved on or closed."""
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def _unfetched(self) -> bool:
        """Whether the flow still rests on the progress's end, the step after it not yet shown.

        The flow manager leaves a flow at "progress done" when the task ends, and any fetch of
        the flow (the dialog's after an event, or a submit) runs on to the next step; so this
        is true exactly while a dialog that missed the event has nothing newer to draw.
        """
        step = self._flow.cur_step
        return step is not None and step["type"] == FlowResultType.SHOW_PROGRESS_DONE

    def _subscribers(self) -> int:
        """How many listen for progress events: each dialog showing a progress step is one."""
        listeners = self._flow.hass.bus.async_listeners()
        return listeners.get(EVENT_DATA_ENTRY_FLOW_PROGRESSED, 0)

    async def _async_echo(self, heard_by: int) -> None:
        """Say the end again to a subscriber that came after it, while nothing fetched the flow."""
        for tick in range(1, _ECHO_TICKS + 1):
            await asyncio.sleep(_ECHO_POLL)
            if not self._unfetched():
                return
            subscribers = self._subscribers()
            if subscribers <= heard_by and tick < _ECHO_TICKS:
                # One that left lowers the mark, so one that comes after it still counts.
                heard_by = subscribers
                continue
            heard_by = subscribers
            self._flow.hass.bus.async_fire(
                EVENT_DATA_ENTRY_FLOW_PROGRESSED,
                {"handler": self._flow.handler, "flow_id": self._flow.flow_id, "refresh": True},
            )
