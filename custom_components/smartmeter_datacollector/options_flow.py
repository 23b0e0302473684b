"""Per-meter options: sensor update rate, re-publishing to MQTT, reading logs.

An external MQTT broker is saved only once it accepted us, as the setup saves a meter only once
it spoke.
"""

from __future__ import annotations

from typing import Any, Final

from homeassistant.config_entries import ConfigFlowResult
from homeassistant.helpers import selector
import voluptuous as vol

from .compat import OptionsFlowBase
from .const import CONF_MIN_INTERVAL, DEFAULT_MIN_INTERVAL
from .options_mqtt import (
    CONF_MQTT_MODE,
    MODE_EXTERNAL,
    MODE_HOMEASSISTANT,
    async_validate_broker,
    broker_schema,
    publishing_schema,
    validate_homeassistant_mqtt,
    validate_topics,
)

# Every field of the broker form, optional ones included.
_BROKER_KEYS: Final = frozenset(str(marker) for marker in broker_schema({}).schema)
_MAX_MIN_INTERVAL = 3600


class SmartMeterOptionsFlow(OptionsFlowBase):
    """Per-meter options: sensor update rate, re-publishing to MQTT, reading logs.

    Options this version does not know (from a newer one, or a later step) are kept.
    """

    def __init__(self) -> None:
        # The first step's answers, saved together with the broker once it accepted us.
        self._pending: dict[str, Any] = {}

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the update rate and where readings go besides the sensors."""
        current = self.config_entry.options
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = validate_topics(user_input)
            mode = user_input[CONF_MQTT_MODE]
            if mode == MODE_HOMEASSISTANT and (error := validate_homeassistant_mqtt(self.hass)):
                errors[CONF_MQTT_MODE] = error
            if not errors:
                self._pending = {**current, **user_input}
                if mode == MODE_EXTERNAL:
                    return await self.async_step_mqtt_broker()
                return self.async_create_entry(data=self._pending)
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
                )
            }
        ).extend(publishing_schema(shown).schema)
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(schema, shown),
            errors=errors,
        )

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
