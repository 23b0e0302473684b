"""Re-publishing readings: to MQTT in the seed tool's format, and to the log.

The coordinator hands every reading to `ReadingPublisher.publish`, which only formats and queues;
a task per publisher does the network work, so a slow or dead broker never delays sensor updates.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from homeassistant.core import CALLBACK_TYPE, HassJob, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_call_later
from homeassistant.util import dt as dt_util

from ..const import DOMAIN, LOGGER
from ..issues import ISSUE_BROKER_UNREACHABLE
from ..tasks import async_cancel_task
from .mqtt_external import BACKOFF_MAX, BACKOFF_START, BrokerConnection, BrokerError, BrokerSettings
from .mqtt_format import (
    DEFAULT_TOPIC_GROUP,
    DEFAULT_TOPIC_PREFIX,
    SourceTracker,
    per_value_messages,
    rldsp_message,
    seed_values,
    utc_time,
)
from .options_mqtt import (
    MODE_EXTERNAL,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from ..dlms.models import Reading

# About 20 minutes of per-value messages from a 5 s push meter (hours in the bundle format).
QUEUE_SIZE = 5000
# A broker unreachable this long (seconds) becomes a repair issue.
UNREACHABLE_ISSUE_DELAY = 600
_YIELD_EVERY = 100


@dataclass(frozen=True, slots=True)
class MqttOutput:
    """What to publish: the seed's per-value topics or its RL-DSP bundle."""

    profile: str = "generic"  # the seed's per-meter scaling depends on it
    bundle: bool = False
    topic_prefix: str = DEFAULT_TOPIC_PREFIX
    topic_group: str = DEFAULT_TOPIC_GROUP
    qos: int = 0
    retain: bool = False


class Transport(Protocol):
    """Where the publisher's messages go; knows when it can take them."""

    stats: dict[str, Any]

    @property
    def ready(self) -> bool:
        """Whether a message handed over now would be sent."""

    async def async_start(self, on_ready: Callable[[], None]) -> None:
        """Start connecting; call `on_ready` whenever messages can flow again."""

    async def async_stop(self) -> None:
        """Disconnect and release everything."""

    async def async_send(self, topic: str, payload: bytes, qos: int, retain: bool) -> bool:
        """Send one message; False when it was not taken (keep it queued)."""


class MqttPublisher:
    """Formats readings as the seed did and sends them through a transport from a queue."""

    def __init__(
        self,
        hass: HomeAssistant,
        transport: Transport,
        output: MqttOutput,
        *,
        meter_id_fallback: str,
        queue_size: int = QUEUE_SIZE,
    ) -> None:
        self._hass = hass
        self._transport = transport
        self._output = output
        self._sources = SourceTracker(meter_id_fallback)
        self._queue: deque[tuple[str, bytes]] = deque()
        self._queue_size = queue_size
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._published = 0
        self._dropped = 0

    @property
    def stats(self) -> dict[str, Any]:
        """Counters for diagnostics; no hosts' credentials, no payloads."""
        return {
            "format": "rldsp" if self._output.bundle else "per_value",
            "queued": len(self._queue),
            "published": self._published,
            "dropped": self._dropped,
            **self._transport.stats,
        }

    async def async_start(self) -> None:
        """Start the transport and the task that drains the queue."""
        await self._transport.async_start(self._wake.set)
        self._task = self._hass.async_create_background_task(
            self._async_drain(), f"{DOMAIN} MQTT publisher"
        )

    async def async_stop(self) -> None:
        """Stop sending; whatever is still queued is dropped."""
        await async_cancel_task(self._task)
        self._task = None
        await self._transport.async_stop()

    @callback
    def publish(self, reading: Reading) -> None:
        """Queue the reading's messages; never waits."""
        output = self._output
        for source, item in self._sources.resolve(reading):
            when = utc_time(item.timestamp, dt_util.get_default_time_zone(), dt_util.utcnow())
            values = seed_values(item, output.profile)
            if output.bundle:
                message = rldsp_message(output.topic_group, source, values, when)
                messages = [message] if message else []
            else:
                messages = per_value_messages(output.topic_prefix, source, values, when)
            for message in messages:
                if len(self._queue) >= self._queue_size:
                    self._queue.popleft()
                    self._dropped += 1
                self._queue.append(message)
        self._wake.set()

    async def _async_drain(self) -> None:
        output = self._output
        backoff = BACKOFF_START
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue and self._transport.ready:
                topic, payload = self._queue.popleft()
                try:
                    sent = await self._transport.async_send(
                        topic, payload, output.qos, output.retain
                    )
                except ValueError as err:
                    # paho rejects topics with wildcards; the message can never go out.
                    self._dropped += 1
                    LOGGER.warning("Dropped MQTT message for topic %s: %s", topic, err)
                    continue
                if sent:
                    self._published += 1
                    backoff = BACKOFF_START
                    if self._published % _YIELD_EVERY == 0:
                        # A long backlog must not hold the event loop.
                        await asyncio.sleep(0)
                    continue
                if len(self._queue) >= self._queue_size:
                    # Readings kept arriving while this one was out: it is the oldest now.
                    self._dropped += 1
                else:
                    self._queue.appendleft((topic, payload))
                if self._transport.ready:
                    # Connected but refusing: do not spin.
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, BACKOFF_MAX)


class ExternalBrokerTransport:
    """A broker of the user's own: reconnect with backoff, repair issue after 10 minutes."""

    def __init__(self, hass: HomeAssistant, settings: BrokerSettings, issue_id: str) -> None:
        self._hass = hass
        self._settings = settings
        self._issue_id = issue_id
        self._connection = BrokerConnection(hass, settings, on_lost=self._on_lost)
        self._lost = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._on_ready: Callable[[], None] = lambda: None
        self._issue_timer: CALLBACK_TYPE | None = None
        self._failing_since: datetime | None = None
        self.stats: dict[str, Any] = {
            "mode": MODE_EXTERNAL,
            "connected": False,
            "connects": 0,
            "failures": 0,
            "last_error": None,
            "failing_since": None,
        }

    @property
    def ready(self) -> bool:
        """Whether the broker connection is up."""
        return self._connection.connected

    async def async_start(self, on_ready: Callable[[], None]) -> None:
        """Start the connect loop in the background."""
        self._on_ready = on_ready
        self._task = self._hass.async_create_background_task(
            self._async_connect_loop(), f"{DOMAIN} MQTT broker connection"
        )

    async def async_stop(self) -> None:
        """Stop reconnecting, disconnect, drop the repair issue."""
        await async_cancel_task(self._task)
        self._task = None
        self._connection.close()
        self.stats["connected"] = False
        self._cancel_issue_timer()
        ir.async_delete_issue(self._hass, DOMAIN, self._issue_id)

    async def async_send(self, topic: str, payload: bytes, qos: int, retain: bool) -> bool:
        """Hand the message to paho; it goes out as soon as the socket is writable."""
        return self._connection.publish(topic, payload, qos, retain)

    async def _async_connect_loop(self) -> None:
        backoff = BACKOFF_START
        while True:
            self._lost.clear()
            try:
                await self._connection.async_connect()
            except BrokerError as err:
                self._failed(err.reason, str(err))
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)
                continue
            backoff = BACKOFF_START
            self._connected()
            await self._lost.wait()
            self._failed("connection_lost", "connection lost")

    @callback
    def _on_lost(self) -> None:
        self.stats["connected"] = False
        self._lost.set()

    def _connected(self) -> None:
        self.stats["connected"] = True
        self.stats["connects"] += 1
        if self._failing_since is not None:
            LOGGER.info("MQTT broker %s:%s is reachable again", *self._broker)
        self._failing_since = None
        self.stats["failing_since"] = None
        self._cancel_issue_timer()
        ir.async_delete_issue(self._hass, DOMAIN, self._issue_id)
        self._on_ready()

    def _failed(self, reason: str, detail: str) -> None:
        self.stats["failures"] += 1
        self.stats["last_error"] = reason
        if self._failing_since is None:
            self._failing_since = dt_util.utcnow()
            self.stats["failing_since"] = self._failing_since.isoformat()
            # Once per outage; the details (never credentials) say what to fix.
            LOGGER.warning(
                "MQTT broker %s:%s unavailable (%s); readings are queued and sent on reconnect",
                *self._broker,
                detail,
            )
            self._issue_timer = async_call_later(
                self._hass,
                UNREACHABLE_ISSUE_DELAY,
                HassJob(self._raise_issue, cancel_on_shutdown=True),
            )

    @property
    def _broker(self) -> tuple[str, int]:
        return self._settings.host, self._settings.port

    @callback
    def _raise_issue(self, _now: datetime) -> None:
        self._issue_timer = None
        ir.async_create_issue(
            self._hass,
            DOMAIN,
            self._issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_BROKER_UNREACHABLE,
            translation_placeholders={"broker": "{}:{}".format(*self._broker)},
        )

    def _cancel_issue_timer(self) -> None:
        if self._issue_timer is not None:
            self._issue_timer()
            self._issue_timer = None
