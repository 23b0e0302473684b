"""The publisher's queue: never blocks, drops oldest first, counts, keeps refused messages.

The transport here is a small in-test implementation of the publisher's Transport interface, so
the policy can be driven precisely; real brokers are in test_mqtt_external and test_mqtt_ha.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from typing import TYPE_CHECKING, Any

import pytest

from custom_components.smartmeter_datacollector.dlms.models import Measurement, Reading
from custom_components.smartmeter_datacollector.publish.mqtt import MqttOutput, MqttPublisher

if TYPE_CHECKING:
    from collections.abc import Callable

    from homeassistant.core import HomeAssistant


class ScriptedTransport:
    """Takes or refuses messages as the test says."""

    def __init__(self) -> None:
        self.stats: dict[str, Any] = {"mode": "test"}
        self.ready = False
        self.refuse = 0
        self.sent: list[tuple[str, bytes]] = []
        self.attempts = 0
        self._on_ready: Callable[[], None] = lambda: None

    async def async_start(self, on_ready: Callable[[], None]) -> None:
        self._on_ready = on_ready

    async def async_stop(self) -> None:
        self.ready = False

    async def async_send(self, topic: str, payload: bytes, qos: int, retain: bool) -> bool:
        self.attempts += 1
        if "+" in topic:
            raise ValueError("Publish topic cannot contain wildcards.")
        if self.refuse:
            self.refuse -= 1
            return False
        self.sent.append((topic, payload))
        return True

    def come_up(self) -> None:
        self.ready = True
        self._on_ready()


def _reading(second: int, meter_id: str = "LGZ1") -> Reading:
    return Reading(
        meter_id=meter_id,
        timestamp=dt.datetime(2024, 1, 1, 0, 0, second, tzinfo=dt.UTC),
        values={"0-0:42.0.0": Measurement(meter_id, None), "1-0:1.7.0": Measurement(second, "W")},
    )


def _second(payload: bytes) -> str:
    return str(json.loads(payload)["meter"]["ts"][17:19])


async def _drained(transport: ScriptedTransport, count: int) -> None:
    async with asyncio.timeout(10):
        while len(transport.sent) < count:  # noqa: ASYNC110 - the publisher task drains
            await asyncio.sleep(0)


async def test_full_queue_drops_oldest_and_counts(hass: HomeAssistant) -> None:
    transport = ScriptedTransport()
    publisher = MqttPublisher(
        hass, transport, MqttOutput(bundle=True), meter_id_fallback="x", queue_size=3
    )
    await publisher.async_start()
    for second in range(5):
        publisher.publish(_reading(second))
    assert publisher.stats == {
        "format": "rldsp",
        "queued": 3,
        "published": 0,
        "dropped": 2,
        "mode": "test",
    }
    transport.come_up()
    await _drained(transport, 3)
    assert [_second(payload) for _, payload in transport.sent] == ["02", "03", "04"]
    assert publisher.stats["published"] == 3
    await publisher.async_stop()


async def test_refused_message_is_retried_in_order(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Make the publisher's pause after a refusal instant; the order is what matters here.
    monkeypatch.setattr("custom_components.smartmeter_datacollector.publish.mqtt.BACKOFF_START", 0)
    transport = ScriptedTransport()
    transport.ready, transport.refuse = True, 2
    publisher = MqttPublisher(hass, transport, MqttOutput(bundle=True), meter_id_fallback="x")
    await publisher.async_start()
    publisher.publish(_reading(1))
    publisher.publish(_reading(2))
    await _drained(transport, 2)
    assert [_second(payload) for _, payload in transport.sent] == ["01", "02"]
    assert transport.attempts == 4
    assert publisher.stats["dropped"] == 0
    await publisher.async_stop()


async def test_unpublishable_topic_is_dropped_not_retried(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    transport = ScriptedTransport()
    transport.ready = True
    output = MqttOutput(topic_prefix="smart+meter")
    publisher = MqttPublisher(hass, transport, output, meter_id_fallback="x")
    await publisher.async_start()
    publisher.publish(_reading(1))
    async with asyncio.timeout(10):
        while publisher.stats["dropped"] < 1:  # noqa: ASYNC110 - the publisher task drains
            await asyncio.sleep(0)
    assert transport.attempts == 1
    assert "smart+meter/LGZ1/ACTIVE_POWER_P" in caplog.text
    assert caplog.records[-1].levelno == logging.WARNING
    await publisher.async_stop()
