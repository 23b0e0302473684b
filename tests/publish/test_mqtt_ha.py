"""Re-publishing through Home Assistant's own MQTT integration, connected to a real Mosquitto."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import TYPE_CHECKING

from homeassistant.components import mqtt
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_PORT
from homeassistant.core import callback
from mosquitto import Mosquitto, Subscriber, requires_mosquitto
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from seed_expectations import bundle, decode, expected_time, reading_vectors

from custom_components.smartmeter_datacollector.dlms.models import Reading
from custom_components.smartmeter_datacollector.publish import async_create_publishers
from custom_components.smartmeter_datacollector.publish.options_mqtt import (
    CONF_MQTT_FORMAT,
    CONF_MQTT_MODE,
    CONF_MQTT_TOPIC_GROUP,
    FORMAT_RLDSP,
    MODE_HOMEASSISTANT,
    validate_homeassistant_mqtt,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from homeassistant.core import HomeAssistant

# Sockets are off in Home Assistant tests; the broker listens on 127.0.0.1 only. The MQTT
# integration reads configuration.yaml, which mock_hass_config provides.
pytestmark = [requires_mosquitto, pytest.mark.usefixtures("socket_enabled", "mock_hass_config")]
VECTORS = [p.values[0] for p in reading_vectors() if p.values[0] is not None]
OPTIONS = {
    CONF_MQTT_MODE: MODE_HOMEASSISTANT,
    CONF_MQTT_FORMAT: FORMAT_RLDSP,
    CONF_MQTT_TOPIC_GROUP: "house",
}


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """A plain broker for Home Assistant's MQTT integration to connect to."""
    mosquitto = Mosquitto(tmp_path / "broker")
    mosquitto.start()
    yield mosquitto
    mosquitto.kill()


async def _setup_mqtt(hass: HomeAssistant, port: int) -> MockConfigEntry:
    entry = MockConfigEntry(
        domain=mqtt.DOMAIN,
        data={mqtt.CONF_BROKER: "127.0.0.1", CONF_PORT: port},
        version=mqtt.CONFIG_ENTRY_VERSION,
        minor_version=mqtt.CONFIG_ENTRY_MINOR_VERSION,
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.LOADED
    return entry


async def test_through_home_assistants_mqtt(hass: HomeAssistant, broker: Mosquitto) -> None:
    """Users who already run the MQTT integration need no second broker connection."""
    if not VECTORS:
        pytest.skip("no shared vectors")
    vector = next(v for v in VECTORS if expected_time(v) is not None)
    when = expected_time(vector)
    assert when is not None
    reading = decode(vector)
    subscriber = await hass.async_add_executor_job(partial(Subscriber, broker.port))
    try:
        await hass.async_add_executor_job(subscriber.wait_subscribed)
        (publisher,) = await async_create_publishers(
            hass, OPTIONS, vector.name, profile=vector.profile, entry_id="entry"
        )
        # Readings before the MQTT integration is up wait in the queue.
        await publisher.async_start()
        for _ in range(3):
            publisher.publish(reading)
        assert publisher.stats["published"] == 0
        entry = await _setup_mqtt(hass, broker.port)

        expected = bundle(vector, when, vector.name, group="house") * 3
        messages = await hass.async_add_executor_job(
            subscriber.wait_for, lambda got: len([m for m in got if m[0].startswith("dt/")]) >= 3
        )
        assert [m for m in messages if m[0].startswith("dt/")] == expected
        assert publisher.stats["published"] == 3
        assert publisher.stats["mode"] == MODE_HOMEASSISTANT

        # The MQTT integration removed: readings wait in the queue, nothing breaks.
        assert await hass.config_entries.async_unload(entry.entry_id)
        publisher.publish(reading)
        await hass.async_block_till_done()
        assert publisher.stats["queued"] == 1
        await publisher.async_stop()
    finally:
        await hass.async_add_executor_job(subscriber.close)


async def test_mode_needs_the_mqtt_integration(hass: HomeAssistant, broker: Mosquitto) -> None:
    """The options flow refuses the mode until the MQTT integration is set up."""
    assert validate_homeassistant_mqtt(hass) == "mqtt_not_configured"
    await _setup_mqtt(hass, broker.port)
    assert validate_homeassistant_mqtt(hass) is None


async def test_stopping_before_mqtt_is_set_up(hass: HomeAssistant) -> None:
    """Unloading a meter whose MQTT integration never came up leaves nothing running."""
    (publisher,) = await async_create_publishers(hass, OPTIONS, "meter")
    await publisher.async_start()
    publisher.publish(Reading(meter_id=None, timestamp=None, values={}))
    await hass.async_block_till_done()
    assert publisher.stats["connected"] is False
    await publisher.async_stop()


async def test_mqtt_already_connected_when_the_meter_starts(
    hass: HomeAssistant, broker: Mosquitto
) -> None:
    """The usual case: the MQTT integration is up first, so readings go out from the start."""
    if not VECTORS:
        pytest.skip("no shared vectors")
    vector = next(v for v in VECTORS if expected_time(v) is not None)
    connected = asyncio.Event()

    # A callback, so it runs in the event loop: a plain function would run in the executor,
    # and setting the event from there (an asyncio.Event is not thread-safe) could leave this
    # test waiting for ever.
    @callback
    def status(up: bool) -> None:
        if up:
            connected.set()

    unsubscribe = mqtt.async_subscribe_connection_status(hass, status)
    await _setup_mqtt(hass, broker.port)
    async with asyncio.timeout(30):
        await connected.wait()
    unsubscribe()
    subscriber = await hass.async_add_executor_job(partial(Subscriber, broker.port))
    try:
        await hass.async_add_executor_job(subscriber.wait_subscribed)
        (publisher,) = await async_create_publishers(
            hass, OPTIONS, vector.name, profile=vector.profile, entry_id="entry"
        )
        await publisher.async_start()
        await hass.async_block_till_done()
        assert publisher.stats["connected"] is True
        publisher.publish(decode(vector))
        messages = await hass.async_add_executor_job(
            subscriber.wait_for, lambda got: any(m[0].startswith("dt/") for m in got)
        )
        assert [m for m in messages if m[0].startswith("dt/")] == bundle(
            vector, expected_time(vector), vector.name, group="house"
        )
        await publisher.async_stop()
    finally:
        await hass.async_add_executor_job(subscriber.close)
