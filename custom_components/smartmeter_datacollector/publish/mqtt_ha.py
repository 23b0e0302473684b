"""Publishing through Home Assistant's own MQTT integration.

Users who already run the MQTT integration need no second broker connection; Home Assistant's
client owns the connection, its reconnects and its repairs, so this side only waits for it.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from homeassistant.components import mqtt as ha_mqtt
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError

from ..const import DOMAIN, LOGGER
from .mqtt_external import BACKOFF_MAX, BACKOFF_START
from .options_mqtt import MODE_HOMEASSISTANT

if TYPE_CHECKING:
    from collections.abc import Callable


class HomeAssistantMqttTransport:
    """Home Assistant's own MQTT integration; it owns the broker connection and its repairs."""

    def __init__(self, hass: HomeAssistant) -> None:
        self._hass = hass
        self._available = False
        self._unsubscribe: CALLBACK_TYPE | None = None
        self._waiter: asyncio.Task[None] | None = None
        self._on_ready: Callable[[], None] = lambda: None
        self.stats: dict[str, Any] = {"mode": MODE_HOMEASSISTANT, "connected": False, "failures": 0}

    @property
    def ready(self) -> bool:
        """Whether Home Assistant's MQTT client is set up and connected."""
        if not self._available:
            return False
        try:
            return ha_mqtt.is_connected(self._hass)
        except KeyError:  # the MQTT integration was unloaded since
            return False

    async def async_start(self, on_ready: Callable[[], None]) -> None:
        """Wait for Home Assistant's MQTT client in the background, then follow its state."""
        self._on_ready = on_ready
        self._unsubscribe = ha_mqtt.async_subscribe_connection_status(
            self._hass, self._on_connection_change
        )
        self._waiter = self._hass.async_create_background_task(
            self._async_wait_for_client(), f"{DOMAIN} wait for MQTT"
        )

    async def async_stop(self) -> None:
        """Stop following Home Assistant's MQTT client."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._waiter is not None:
            self._waiter.cancel()
            try:
                await self._waiter
            except asyncio.CancelledError:
                if (current := asyncio.current_task()) and current.cancelling():
                    raise
            self._waiter = None

    async def async_send(self, topic: str, payload: bytes, qos: int, retain: bool) -> bool:
        """Publish through Home Assistant; its client queues and retries QoS 1 itself."""
        try:
            await ha_mqtt.async_publish(self._hass, topic, payload, qos, retain)
        except HomeAssistantError as err:
            self.stats["failures"] += 1
            LOGGER.debug("Publishing through Home Assistant's MQTT failed: %s", err)
            return False
        return True

    async def _async_wait_for_client(self) -> None:
        backoff = BACKOFF_START
        while not self._available and not await ha_mqtt.async_wait_for_mqtt_client(self._hass):
            if backoff == BACKOFF_START:
                LOGGER.warning(
                    "MQTT re-publishing waits for Home Assistant's MQTT integration to be set up"
                )
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX)
        self._available = True
        if ha_mqtt.is_connected(self._hass):
            self._on_connection_change(True)

    @callback
    def _on_connection_change(self, connected: bool) -> None:
        self.stats["connected"] = connected
        if connected:
            # Connected implies set up: no need to keep polling for the client.
            self._available = True
            self._on_ready()
