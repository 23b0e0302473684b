"""Options for MQTT re-publishing and reading logs: keys, form schemas, validation.

The options flow composes these pieces into its steps; the publishers read the same keys.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from homeassistant.components import mqtt as ha_mqtt
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import voluptuous as vol

from .mqtt_external import BrokerError, BrokerSettings, async_probe
from .mqtt_format import DEFAULT_TOPIC_GROUP, DEFAULT_TOPIC_PREFIX

if TYPE_CHECKING:
    from collections.abc import Mapping

    from homeassistant.core import HomeAssistant

CONF_MQTT_MODE: Final = "mqtt_mode"
CONF_MQTT_FORMAT: Final = "mqtt_format"
CONF_MQTT_TOPIC_PREFIX: Final = "mqtt_topic_prefix"
CONF_MQTT_TOPIC_GROUP: Final = "mqtt_topic_group"
CONF_MQTT_QOS: Final = "mqtt_qos"
CONF_MQTT_RETAIN: Final = "mqtt_retain"
CONF_MQTT_HOST: Final = "mqtt_host"
CONF_MQTT_PORT: Final = "mqtt_port"
CONF_MQTT_TLS: Final = "mqtt_tls"
CONF_MQTT_CA_FILE: Final = "mqtt_ca_file"
CONF_MQTT_CHECK_HOSTNAME: Final = "mqtt_check_hostname"
CONF_MQTT_USERNAME: Final = "mqtt_username"
CONF_MQTT_PASSWORD: Final = "mqtt_password"  # noqa: S105 - an option key, not a secret
CONF_MQTT_CLIENT_CERT: Final = "mqtt_client_cert"
CONF_MQTT_CLIENT_KEY: Final = "mqtt_client_key"
CONF_MQTT_CLIENT_ID: Final = "mqtt_client_id"
CONF_LOG_READINGS: Final = "log_readings"

MODE_OFF: Final = "off"
MODE_HOMEASSISTANT: Final = "homeassistant"
MODE_EXTERNAL: Final = "external"
FORMAT_PER_VALUE: Final = "per_value"
FORMAT_RLDSP: Final = "rldsp"

DEFAULT_MQTT_MODE: Final = MODE_OFF
DEFAULT_MQTT_FORMAT: Final = FORMAT_PER_VALUE
DEFAULT_MQTT_PORT: Final = 1883

# Diagnostics must redact these (they identify or unlock the user's broker).
MQTT_REDACT: Final = frozenset({CONF_MQTT_USERNAME, CONF_MQTT_PASSWORD})


def publishing_schema(options: Mapping[str, Any]) -> vol.Schema:
    """Return the form for mode, format, topics, QoS, retain and reading logs."""

    def default(key: str, fallback: Any) -> Any:
        return options.get(key, fallback)

    return vol.Schema(
        {
            vol.Required(CONF_MQTT_MODE, default=default(CONF_MQTT_MODE, MODE_OFF)): SelectSelector(
                SelectSelectorConfig(
                    options=[MODE_OFF, MODE_HOMEASSISTANT, MODE_EXTERNAL],
                    translation_key=CONF_MQTT_MODE,
                    mode=SelectSelectorMode.LIST,
                )
            ),
            vol.Required(
                CONF_MQTT_FORMAT, default=default(CONF_MQTT_FORMAT, DEFAULT_MQTT_FORMAT)
            ): SelectSelector(
                SelectSelectorConfig(
                    options=[FORMAT_PER_VALUE, FORMAT_RLDSP],
                    translation_key=CONF_MQTT_FORMAT,
                    mode=SelectSelectorMode.LIST,
                )
            ),
            vol.Required(
                CONF_MQTT_TOPIC_PREFIX,
                default=default(CONF_MQTT_TOPIC_PREFIX, DEFAULT_TOPIC_PREFIX),
            ): TextSelector(),
            vol.Required(
                CONF_MQTT_TOPIC_GROUP, default=default(CONF_MQTT_TOPIC_GROUP, DEFAULT_TOPIC_GROUP)
            ): TextSelector(),
            vol.Required(CONF_MQTT_QOS, default=default(CONF_MQTT_QOS, 0)): vol.All(
                NumberSelector(
                    NumberSelectorConfig(min=0, max=1, step=1, mode=NumberSelectorMode.BOX)
                ),
                vol.Coerce(int),
            ),
            vol.Required(CONF_MQTT_RETAIN, default=default(CONF_MQTT_RETAIN, False)): (
                BooleanSelector()
            ),
            vol.Required(CONF_LOG_READINGS, default=default(CONF_LOG_READINGS, False)): (
                BooleanSelector()
            ),
        }
    )


def broker_schema(options: Mapping[str, Any]) -> vol.Schema:
    """Return the form for an external broker; optional fields can be cleared."""

    def suggested(key: str) -> dict[str, Any]:
        return {"suggested_value": options.get(key)}

    return vol.Schema(
        {
            vol.Required(CONF_MQTT_HOST, description=suggested(CONF_MQTT_HOST)): TextSelector(),
            vol.Required(CONF_MQTT_PORT, default=options.get(CONF_MQTT_PORT, DEFAULT_MQTT_PORT)): (
                vol.All(
                    NumberSelector(
                        NumberSelectorConfig(min=1, max=65535, mode=NumberSelectorMode.BOX)
                    ),
                    vol.Coerce(int),
                )
            ),
            vol.Required(CONF_MQTT_TLS, default=options.get(CONF_MQTT_TLS, False)): (
                BooleanSelector()
            ),
            vol.Optional(CONF_MQTT_CA_FILE, description=suggested(CONF_MQTT_CA_FILE)): (
                TextSelector()
            ),
            vol.Required(
                CONF_MQTT_CHECK_HOSTNAME, default=options.get(CONF_MQTT_CHECK_HOSTNAME, True)
            ): BooleanSelector(),
            vol.Optional(CONF_MQTT_USERNAME, description=suggested(CONF_MQTT_USERNAME)): (
                TextSelector()
            ),
            vol.Optional(CONF_MQTT_PASSWORD, description=suggested(CONF_MQTT_PASSWORD)): (
                TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))
            ),
            vol.Optional(CONF_MQTT_CLIENT_CERT, description=suggested(CONF_MQTT_CLIENT_CERT)): (
                TextSelector()
            ),
            vol.Optional(CONF_MQTT_CLIENT_KEY, description=suggested(CONF_MQTT_CLIENT_KEY)): (
                TextSelector()
            ),
            vol.Optional(CONF_MQTT_CLIENT_ID, description=suggested(CONF_MQTT_CLIENT_ID)): (
                TextSelector()
            ),
        }
    )


def validate_topics(options: Mapping[str, Any]) -> dict[str, str]:
    """Return form errors for topic parts MQTT cannot publish to ({} when fine)."""
    errors: dict[str, str] = {}
    for key in (CONF_MQTT_TOPIC_PREFIX, CONF_MQTT_TOPIC_GROUP):
        value = str(options.get(key, "x"))
        if not value.strip() or any(char in value for char in "+#\0"):
            errors[key] = "invalid_topic"
    return errors


def broker_settings(options: Mapping[str, Any]) -> BrokerSettings:
    """Return the connection settings stored in a config entry's options."""

    def text(key: str) -> str | None:
        value = options.get(key)
        return str(value).strip() or None if value is not None else None

    return BrokerSettings(
        host=str(options.get(CONF_MQTT_HOST, "")).strip(),
        port=int(options.get(CONF_MQTT_PORT, DEFAULT_MQTT_PORT)),
        tls=bool(options.get(CONF_MQTT_TLS, False)),
        ca_file=text(CONF_MQTT_CA_FILE),
        check_hostname=bool(options.get(CONF_MQTT_CHECK_HOSTNAME, True)),
        username=text(CONF_MQTT_USERNAME),
        # Passwords may legitimately begin or end with spaces.
        password=options.get(CONF_MQTT_PASSWORD) or None,
        client_cert=text(CONF_MQTT_CLIENT_CERT),
        client_key=text(CONF_MQTT_CLIENT_KEY),
        client_id=text(CONF_MQTT_CLIENT_ID) or "",
    )


async def async_validate_broker(hass: HomeAssistant, options: Mapping[str, Any]) -> str | None:
    """Connect to the broker once; return the options-flow error key, or None when it works.

    Keys: file_not_found, invalid_certificate, refused, cannot_connect, tls_verify_failed,
    tls_failed, invalid_auth.
    """
    try:
        await async_probe(hass, broker_settings(options))
    except BrokerError as err:
        return err.reason
    return None


def validate_homeassistant_mqtt(hass: HomeAssistant) -> str | None:
    """Return "mqtt_not_configured" when Home Assistant's MQTT integration is not set up."""
    if ha_mqtt.mqtt_config_entry_enabled(hass):
        return None
    return "mqtt_not_configured"
