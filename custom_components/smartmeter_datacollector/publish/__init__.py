"""Re-publishing readings: to MQTT (Home Assistant's or an external broker) and to the log.

The coordinator hands every reading to each `ReadingPublisher` (the protocol lives with its
consumer, coordinator.py); publishers only format and queue, so a slow or dead broker never
delays sensor updates. The entry's options say which publishers exist (options_mqtt.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..issues import ISSUE_BROKER_UNREACHABLE, issue_id
from .mqtt import ExternalBrokerTransport, MqttOutput, MqttPublisher, Transport
from .mqtt_format import DEFAULT_TOPIC_GROUP, DEFAULT_TOPIC_PREFIX
from .mqtt_ha import HomeAssistantMqttTransport
from .options_mqtt import (
    CONF_LOG_READINGS,
    CONF_MQTT_FORMAT,
    CONF_MQTT_MODE,
    CONF_MQTT_QOS,
    CONF_MQTT_RETAIN,
    CONF_MQTT_TOPIC_GROUP,
    CONF_MQTT_TOPIC_PREFIX,
    DEFAULT_MQTT_FORMAT,
    FORMAT_RLDSP,
    MODE_EXTERNAL,
    MODE_HOMEASSISTANT,
    MODE_OFF,
    broker_settings,
)
from .reading_log import ReadingLogPublisher

if TYPE_CHECKING:
    from collections.abc import Mapping

    from homeassistant.core import HomeAssistant

    from ..coordinator import ReadingPublisher


async def async_create_publishers(
    hass: HomeAssistant,
    entry_options: Mapping[str, Any],
    meter_id_fallback: str,
    *,
    profile: str = "generic",
    entry_id: str | None = None,
) -> list[ReadingPublisher]:
    """Build the publishers a config entry's options ask for (none by default)."""
    publishers: list[ReadingPublisher] = []
    mode = entry_options.get(CONF_MQTT_MODE, MODE_OFF)
    transport: Transport | None = None
    if mode == MODE_HOMEASSISTANT:
        transport = HomeAssistantMqttTransport(hass)
    elif mode == MODE_EXTERNAL:
        issue = issue_id(ISSUE_BROKER_UNREACHABLE, entry_id or meter_id_fallback)
        transport = ExternalBrokerTransport(hass, broker_settings(entry_options), issue)
    if transport is not None:
        output = MqttOutput(
            profile=profile,
            bundle=entry_options.get(CONF_MQTT_FORMAT, DEFAULT_MQTT_FORMAT) == FORMAT_RLDSP,
            topic_prefix=entry_options.get(CONF_MQTT_TOPIC_PREFIX) or DEFAULT_TOPIC_PREFIX,
            topic_group=entry_options.get(CONF_MQTT_TOPIC_GROUP) or DEFAULT_TOPIC_GROUP,
            qos=int(entry_options.get(CONF_MQTT_QOS, 0)),
            retain=bool(entry_options.get(CONF_MQTT_RETAIN, False)),
        )
        publishers.append(
            MqttPublisher(
                hass,
                transport,
                output,
                meter_id_fallback=meter_id_fallback,
            )
        )
    if entry_options.get(CONF_LOG_READINGS, False):
        publishers.append(ReadingLogPublisher(profile=profile, meter_id_fallback=meter_id_fallback))
    return publishers
