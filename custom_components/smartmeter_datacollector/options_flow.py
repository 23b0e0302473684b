"""Per-meter options: sensor update rate, re-publishing to MQTT, reading logs.

An external MQTT broker is saved only once it accepted us, as the setup saves a meter only once
it spoke.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from homeassistant.config_entries import ConfigFlowResult
from homeassistant.helpers import selector
import voluptuous as vol

from .compat import OptionsFlowBase
from .const import CONF_MIN_INTERVAL, DEFAULT_MIN_INTERVAL
from .publish.options_mqtt import (
    CONF_LOG_READINGS,
    CONF_MQTT_FORMAT,
    CONF_MQTT_MODE,
    CONF_MQTT_QOS,
    CONF_MQTT_RETAIN,
    CONF_MQTT_TOPIC_GROUP,
    CONF_MQTT_TOPIC_PREFIX,
    MODE_EXTERNAL,
    MODE_HOMEASSISTANT,
    MODE_OFF,
    async_validate_broker,
    broker_schema,
    publishing_schema,
    validate_homeassistant_mqtt,
    validate_topics,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

# Every field of the broker form, optional ones included.
_BROKER_KEYS: Final = frozenset(str(marker) for marker in broker_schema({}).schema)
_MAX_MIN_INTERVAL = 3600
# The publishing form split in two: what every user answers, and MQTT details when MQTT is on.
_INIT_KEYS: Final = (CONF_MQTT_MODE, CONF_LOG_READINGS)
_MQTT_KEYS: Final = (
    CONF_MQTT_FORMAT,
    CONF_MQTT_TOPIC_PREFIX,
    CONF_MQTT_TOPIC_GROUP,
    CONF_MQTT_RETAIN,
)


def _mqtt_schema(shown: Mapping[str, Any]) -> vol.Schema:
    """The MQTT details form; QoS is a choice of two, not a number to type."""
    fields = _fields(shown, _MQTT_KEYS)
    fields[vol.Required(CONF_MQTT_QOS, default=str(shown.get(CONF_MQTT_QOS, 0)))] = vol.All(
        selector.SelectSelector(
            selector.SelectSelectorConfig(
                options=["0", "1"],
                translation_key=CONF_MQTT_QOS,
                mode=selector.SelectSelectorMode.LIST,
            )
        ),
        vol.Coerce(int),
    )
    return vol.Schema(fields)


def _mqtt_values(shown: Mapping[str, Any]) -> dict[str, Any]:
    """The MQTT details as the form would save them unchanged."""
    return dict(_mqtt_schema(shown)({}))


def _fields(shown: Mapping[str, Any], keys: tuple[str, ...]) -> dict[vol.Marker, Any]:
    """The publishing form's fields named by keys, in the order given."""
    markers = publishing_schema(shown).schema
    by_key = {str(marker): marker for marker in markers}
    return {by_key[key]: markers[by_key[key]] for key in keys}


class SmartMeterOptionsFlow(OptionsFlowBase):
    """Per-meter options: sensor update rate, re-publishing to MQTT, reading logs.

    Options this version does not know (from a newer one, or a later step) are kept.
    """

    def __init__(self) -> None:
        # The first step's answers, saved together with the broker once it accepted us.
        self._pending: dict[str, Any] = {}

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the update rate, whether to re-publish to MQTT and whether to log readings."""
        current = self.config_entry.options
        errors: dict[str, str] = {}
        if user_input is not None:
            mode = user_input[CONF_MQTT_MODE]
            if mode == MODE_HOMEASSISTANT and (error := validate_homeassistant_mqtt(self.hass)):
                errors[CONF_MQTT_MODE] = error
            else:
                self._pending = {**current, **user_input}
                if mode == MODE_OFF:
                    # The MQTT details keep their values (or defaults) for when MQTT comes back.
                    return self.async_create_entry(data=_mqtt_values(self._pending) | self._pending)
                return await self.async_step_mqtt()
        # A form shown again after an error keeps what the user just entered.
        shown = {**current, **(user_input or {})}
        schema = vol.Schema(
            {
                vol.Required(
                    CONF_MIN_INTERVAL, default=shown.get(CONF_MIN_INTERVAL, DEFAULT_MIN_INTERVAL)
                ): vol.All(
                    selector.NumberSelector(
                        selector.NumberSelectorConfig(
                            min=0,
                            max=_MAX_MIN_INTERVAL,
                            step=1,
                            unit_of_measurement="s",
                            mode=selector.NumberSelectorMode.BOX,
                        )
                    ),
                    vol.Coerce(int),
                ),
                **_fields(shown, _INIT_KEYS),
            }
        )
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(schema, shown),
            errors=errors,
        )

    async def async_step_mqtt(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """MQTT details, asked only when re-publishing is on: format, topics, QoS, retain."""
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = validate_topics(user_input)
            if not errors:
                self._pending |= user_input
                if self._pending[CONF_MQTT_MODE] == MODE_EXTERNAL:
                    return await self.async_step_mqtt_broker()
                return self.async_create_entry(data=self._pending)
        shown = {**self._pending, **(user_input or {})}
        return self.async_show_form(step_id="mqtt", data_schema=_mqtt_schema(shown), errors=errors)

    async def async_step_mqtt_broker(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the external broker; save only once it accepted a connection."""
        errors: dict[str, str] = {}
        if user_input is not None:
            # The form owns every broker field: one the user cleared must not come back.
            kept = {k: v for k, v in self._pending.items() if k not in _BROKER_KEYS}
            self._pending = {**kept, **user_input}
            if error := await async_validate_broker(self.hass, self._pending):
                errors["base"] = error
            else:
                return self.async_create_entry(data=self._pending)
        return self.async_show_form(
            step_id="mqtt_broker", data_schema=broker_schema(self._pending), errors=errors
        )
