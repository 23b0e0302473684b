"""The MQTT option forms and how stored options turn into broker settings."""

from __future__ import annotations

import pytest
import voluptuous as vol

from custom_components.smartmeter_datacollector.publish.options_mqtt import (
    CONF_LOG_READINGS,
    CONF_MQTT_CA_FILE,
    CONF_MQTT_CLIENT_ID,
    CONF_MQTT_FORMAT,
    CONF_MQTT_HOST,
    CONF_MQTT_MODE,
    CONF_MQTT_PASSWORD,
    CONF_MQTT_PORT,
    CONF_MQTT_QOS,
    CONF_MQTT_RETAIN,
    CONF_MQTT_TLS,
    CONF_MQTT_TOPIC_GROUP,
    CONF_MQTT_TOPIC_PREFIX,
    CONF_MQTT_USERNAME,
    MQTT_REDACT,
    broker_schema,
    broker_settings,
    publishing_schema,
    validate_topics,
)


def test_publishing_defaults_are_off_and_seed_compatible() -> None:
    assert publishing_schema({})({}) == {
        CONF_MQTT_MODE: "off",
        CONF_MQTT_FORMAT: "per_value",
        CONF_MQTT_TOPIC_PREFIX: "smartmeter",
        CONF_MQTT_TOPIC_GROUP: "building",
        CONF_MQTT_QOS: 0,
        CONF_MQTT_RETAIN: False,
        CONF_LOG_READINGS: False,
    }


def test_publishing_form_keeps_current_choices() -> None:
    current = {CONF_MQTT_MODE: "external", CONF_MQTT_QOS: 1, CONF_LOG_READINGS: True}
    result = publishing_schema(current)({})
    assert result[CONF_MQTT_MODE] == "external"
    assert result[CONF_MQTT_QOS] == 1
    assert result[CONF_LOG_READINGS] is True
    with pytest.raises(vol.Invalid):
        publishing_schema({})({CONF_MQTT_QOS: 2})
    with pytest.raises(vol.Invalid):
        publishing_schema({})({CONF_MQTT_MODE: "carrier pigeon"})


def test_broker_form() -> None:
    result = broker_schema({})({CONF_MQTT_HOST: "broker.local", CONF_MQTT_PORT: 8883.0})
    assert result[CONF_MQTT_PORT] == 8883
    assert result[CONF_MQTT_TLS] is False
    with pytest.raises(vol.Invalid):
        broker_schema({})({})  # a host is required


@pytest.mark.parametrize(
    ("prefix", "group", "errors"),
    [
        ("smartmeter", "building", {}),
        ("home/meters", "building", {}),
        ("smart+meter", "building", {CONF_MQTT_TOPIC_PREFIX: "invalid_topic"}),
        ("smartmeter", "#", {CONF_MQTT_TOPIC_GROUP: "invalid_topic"}),
        (" ", "building", {CONF_MQTT_TOPIC_PREFIX: "invalid_topic"}),
    ],
)
def test_topics_must_be_publishable(prefix: str, group: str, errors: dict[str, str]) -> None:
    assert validate_topics({CONF_MQTT_TOPIC_PREFIX: prefix, CONF_MQTT_TOPIC_GROUP: group}) == errors


def test_stored_options_to_settings() -> None:
    settings = broker_settings(
        {
            CONF_MQTT_HOST: " broker.local ",
            CONF_MQTT_PORT: 8883,
            CONF_MQTT_TLS: True,
            CONF_MQTT_CA_FILE: "",
            CONF_MQTT_USERNAME: "meter",
            CONF_MQTT_PASSWORD: " secret ",
            CONF_MQTT_CLIENT_ID: None,
        }
    )
    assert (settings.host, settings.port, settings.tls) == ("broker.local", 8883, True)
    assert settings.ca_file is None  # a cleared field means "system CAs"
    assert settings.password == " secret "  # noqa: S105 - kept verbatim, spaces included
    assert settings.client_id == ""
    assert "secret" not in repr(settings)
    assert {CONF_MQTT_USERNAME, CONF_MQTT_PASSWORD} <= MQTT_REDACT
