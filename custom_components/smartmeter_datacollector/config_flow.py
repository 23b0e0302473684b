"""Set up, reconfigure and re-key a meter in the UI; nothing is saved before the meter spoke.

Validation follows core dsmr's idea: open the port with the meter type's line settings and wait
for a real reading, then take the meter's own identity as the unique id. Listening runs as a
progress step so the dialog says what it is doing instead of freezing for up to 30 seconds.
The options follow the same rule: an external MQTT broker is saved only once it accepted us.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from homeassistant.config_entries import (
    SOURCE_REAUTH,
    SOURCE_RECONFIGURE,
    SOURCE_USER,
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
)
from homeassistant.core import callback
from homeassistant.data_entry_flow import EVENT_DATA_ENTRY_FLOW_PROGRESSED, AbortFlow, section
from homeassistant.helpers import selector
import voluptuous as vol

from .compat import OptionsFlowBase
from .connection import ListenResult, MeterPortError, MeterStream, listen_for_reading
from .const import (
    CONF_AUTH_KEY,
    CONF_KEY,
    CONF_MIN_INTERVAL,
    CONF_PORT,
    CONF_PROFILE,
    DEFAULT_MIN_INTERVAL,
    DOMAIN,
    FLAG_MANUFACTURERS,
)
from .dlms import PROFILES
from .errors import KeyFieldError, decode_error, entry_key
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
from .serial_ports import async_port_in_use, async_port_selector, async_stable_port

if TYPE_CHECKING:
    from collections.abc import Mapping

    from .dlms.models import Profile, Reading


# Listen for three push intervals, but never keep the user waiting longer than this (seconds).
LISTEN_TIMEOUT_MAX: float = 30.0

SECTION_ADVANCED: Final = "advanced"
# Meters that send neither a meter id nor a system title are known by their port.
PORT_UNIQUE_ID_PREFIX: Final = "port:"
GENERIC_PROFILE: Final = "generic"
# Opening a port is instant for a device path or a refused socket; a network serial server that
# does not answer must not keep the form waiting longer than this (seconds).
OPEN_TIMEOUT: Final = 10.0
# The 2025.4 frontend subscribes to a progress step's event only after rendering it, so a listen
# that ends within milliseconds ends unseen; the event is said again after these delays (seconds).
_PROGRESS_ECHO_DELAYS: Final = (0.5, 1.5, 4.0)
# Every field of the broker form, optional ones included.
_BROKER_KEYS: Final = frozenset(str(marker) for marker in broker_schema({}).schema)
_MAX_MIN_INTERVAL = 3600


@dataclass(frozen=True, slots=True)
class _Outcome:
    """What listening taught us: a reading, or the error to show with its placeholders."""

    reading: Reading | None = None
    error: str | None = None
    placeholders: dict[str, str] = field(default_factory=dict)


def _listen_timeout(profile: Profile) -> float:
    return min(3 * profile.push_interval, LISTEN_TIMEOUT_MAX)


def _classify(result: ListenResult, timeout: float) -> _Outcome:
    """Turn a listening attempt into the one message that tells the user what to fix."""
    if result.reading is not None:
        return _Outcome(reading=result.reading)
    if result.bytes_received == 0:
        return _Outcome(error="no_data", placeholders={"seconds": f"{timeout:g}"})
    if error := decode_error(result.stats):
        return _Outcome(error=error)
    return _Outcome(error="no_valid_frame", placeholders={"bytes": str(result.bytes_received)})


def _identity(reading: Reading) -> str | None:
    return reading.meter_id or reading.system_title


def _title(reading: Reading, profile: Profile) -> str:
    """Name the entry like the meter's nameplate: maker and meter id."""
    code = reading.manufacturer
    if code:
        maker = FLAG_MANUFACTURERS.get(code.upper(), code)
    elif profile.name == GENERIC_PROFILE:
        maker = profile.model
    else:
        maker = profile.manufacturer
    return f"{maker} {_identity(reading) or profile.model}"


def _keys_schema() -> dict[vol.Marker, Any]:
    return {
        vol.Optional(CONF_KEY): selector.TextSelector(),
        vol.Required(SECTION_ADVANCED): section(
            vol.Schema({vol.Optional(CONF_AUTH_KEY): selector.TextSelector()}),
            {"collapsed": True},
        ),
    }


def _form_values(data: Mapping[str, Any]) -> dict[str, Any]:
    """Entry data as the form shows it (the auth key lives in the collapsed section)."""
    values = {k: v for k, v in data.items() if k != CONF_AUTH_KEY and v is not None}
    auth_key = data.get(CONF_AUTH_KEY)
    values[SECTION_ADVANCED] = {CONF_AUTH_KEY: auth_key} if auth_key else {}
    return values


class SmartMeterConfigFlow(ConfigFlow, domain=DOMAIN):
    """One config entry per meter, created only after the meter sent a complete reading."""

    VERSION = 1
    # Set by the listen step right before it hands over to the finish step.
    _reading: Reading

    def __init__(self) -> None:
        self._input: dict[str, Any] = {}
        self._candidate: dict[str, Any] = {}
        self._errors: dict[str, str] = {}
        self._placeholders: dict[str, str] = {}
        self._listen_task: asyncio.Task[_Outcome] | None = None
        # An entry unloaded so its port is free for listening; reloaded when the flow ends.
        self._borrowed_entry_id: str | None = None
        self._echo: asyncio.Task[None] | None = None
        # The port as the form opened it, handed to the listener so no byte is lost in between.
        self._stream: MeterStream | None = None

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> SmartMeterOptionsFlow:
        """Return the options flow."""
        return SmartMeterOptionsFlow()

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for meter type, port and keys."""
        if user_input is not None and await self._async_accept(user_input):
            return await self.async_step_listen()
        profiles = [
            selector.SelectOptionDict(value=name, label=profile.title)
            for name, profile in PROFILES.items()
        ]
        schema = vol.Schema(
            {
                vol.Required(CONF_PROFILE): selector.SelectSelector(
                    selector.SelectSelectorConfig(
                        options=profiles, mode=selector.SelectSelectorMode.DROPDOWN
                    )
                ),
                vol.Required(CONF_PORT): await async_port_selector(),
                **_keys_schema(),
            }
        )
        return self._show_form("user", schema, self._input)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change port or keys of a meter; the same meter must answer on the new settings."""
        entry = self._get_reconfigure_entry()
        if user_input is not None and await self._async_accept(
            {CONF_PROFILE: entry.data[CONF_PROFILE], **user_input}
        ):
            return await self.async_step_listen()
        schema = vol.Schema(
            {vol.Required(CONF_PORT): await async_port_selector(), **_keys_schema()}
        )
        return self._show_form("reconfigure", schema, self._input or _form_values(entry.data))

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """Decryption started failing: the operator changed the keys."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the new keys."""
        entry = self._get_reauth_entry()
        if user_input is not None and await self._async_accept(
            {CONF_PROFILE: entry.data[CONF_PROFILE], CONF_PORT: entry.data[CONF_PORT], **user_input}
        ):
            return await self.async_step_listen()
        self._placeholders.setdefault("title", entry.title)
        return self._show_form("reauth_confirm", vol.Schema(_keys_schema()), self._input)

    async def async_step_listen(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Listen to the meter in the background while the dialog shows a progress message."""
        if self._listen_task is None:
            self._listen_task = self.hass.async_create_task(
                self._async_listen(), f"{DOMAIN} config flow listen"
            )
        if not self._listen_task.done():
            profile = PROFILES[self._candidate[CONF_PROFILE]]
            return self.async_show_progress(
                # The form steps hand over here directly; name the step the task returns to.
                step_id="listen",
                progress_action="listen",
                progress_task=self._listen_task,
                description_placeholders={
                    "port": self._candidate[CONF_PORT],
                    "seconds": f"{_listen_timeout(profile):g}",
                },
            )
        outcome = self._listen_task.result()
        self._listen_task = None
        self._async_echo_progress()
        if outcome.reading is None:
            self._async_return_port()
            self._errors = {"base": outcome.error or "no_data"}
            self._placeholders = outcome.placeholders
            return self.async_show_progress_done(next_step_id=self._form_step)
        self._reading = outcome.reading
        return self.async_show_progress_done(next_step_id="finish")

    async def async_step_finish(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Save what was proven to work, under the identity the meter itself reported."""
        data = self._candidate
        identity = _identity(self._reading)
        unique_id = identity or f"{PORT_UNIQUE_ID_PREFIX}{data[CONF_PORT]}"
        if self.source == SOURCE_USER:
            await self.async_set_unique_id(unique_id)
            self._abort_if_unique_id_configured()
            title = _title(self._reading, PROFILES[data[CONF_PROFILE]])
            return self.async_create_entry(title=title, data=data)
        entry = self._get_entry()
        if identity is None and (entry.unique_id or "").startswith(PORT_UNIQUE_ID_PREFIX):
            # A meter without identity keeps the id it got at setup, so its entities stay.
            unique_id = entry.unique_id or unique_id
        await self.async_set_unique_id(unique_id, raise_on_progress=False)
        self._abort_if_unique_id_mismatch(reason="wrong_meter")
        self._borrowed_entry_id = None
        return self.async_update_reload_and_abort(entry, data=data)

    @callback
    def async_remove(self) -> None:
        """Give a borrowed port back to its entry however the flow ended."""
        self._async_cancel_echoes()
        if (stream := self._take_stream()) is not None:
            # Opened by the form but never listened on: the dialog closed in between.
            self.hass.async_create_background_task(stream.close(), f"{DOMAIN} close port")
        task = self._listen_task
        if task is not None and not task.done():
            # Closed while listening: the cancelled listener still has to let go of the port.
            task.add_done_callback(lambda _: self._async_return_port())
            return
        self._async_return_port()

    @property
    def _form_step(self) -> str:
        if self.source == SOURCE_REAUTH:
            return "reauth_confirm"
        if self.source == SOURCE_RECONFIGURE:
            return "reconfigure"
        return "user"

    def _get_entry(self) -> ConfigEntry:
        if self.source == SOURCE_REAUTH:
            return self._get_reauth_entry()
        return self._get_reconfigure_entry()

    def _show_form(
        self, step_id: str, schema: vol.Schema, values: Mapping[str, Any]
    ) -> ConfigFlowResult:
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(schema, values),
            errors=self._errors,
            description_placeholders=self._placeholders,
        )

    async def _async_accept(self, user_input: dict[str, Any]) -> bool:
        """Check the form; keep the input for the next form either way; abort on a taken port."""
        self._input = user_input
        self._errors = {}
        self._placeholders = {}
        advanced = user_input.get(SECTION_ADVANCED, {})
        try:
            key = entry_key(user_input.get(CONF_KEY), "invalid_key_format")
            auth_key = entry_key(advanced.get(CONF_AUTH_KEY), "invalid_auth_key_format")
        except KeyFieldError as err:
            self._errors = {"base": err.error}
            return False
        port = await async_stable_port(self.hass, user_input[CONF_PORT])
        others = [
            entry.data[CONF_PORT]
            for entry in self._async_current_entries(include_ignore=False)
            # Reauth and reconfigure may keep the port their own entry already has.
            if entry.entry_id != self.context.get("entry_id")
        ]
        if await async_port_in_use(self.hass, port, others):
            raise AbortFlow("port_in_use")
        profile = PROFILES[user_input[CONF_PROFILE]]
        if not await self._async_port_opens(port, profile):
            return False
        self._candidate = {
            CONF_PROFILE: user_input[CONF_PROFILE],
            CONF_PORT: port,
            CONF_KEY: key,
            CONF_AUTH_KEY: auth_key,
        }
        return True

    async def _async_port_opens(self, port: str, profile: Profile) -> bool:
        """Fail fast: a port that cannot be opened is named on the form, before any listening.

        The port our own entry holds (reauth, reconfigure keeping it) opens once it is borrowed.
        """
        if self.source != SOURCE_USER and await async_port_in_use(
            self.hass, port, [self._get_entry().data[CONF_PORT]]
        ):
            return True
        try:
            async with asyncio.timeout(OPEN_TIMEOUT):
                self._stream = await MeterStream.open(port, profile)
        except MeterPortError as err:
            reason = err.reason
        except TimeoutError:
            reason = f"no answer within {OPEN_TIMEOUT:g} seconds"
        else:
            return True
        self._errors = {"base": "cannot_open"}
        self._placeholders = {"port": port, "reason": reason}
        return False

    @callback
    def _async_echo_progress(self) -> None:
        """Say again that the progress step ended, for a frontend that subscribed too late."""
        self._async_cancel_echoes()
        self._echo = self.hass.async_create_background_task(
            self._async_echo(), f"{DOMAIN} config flow progress echo"
        )

    async def _async_echo(self) -> None:
        waited = 0.0
        for delay in _PROGRESS_ECHO_DELAYS:
            await asyncio.sleep(delay - waited)
            waited = delay
            self.hass.bus.async_fire(
                EVENT_DATA_ENTRY_FLOW_PROGRESSED,
                {"handler": self.handler, "flow_id": self.flow_id, "refresh": True},
            )

    @callback
    def _async_cancel_echoes(self) -> None:
        if self._echo is not None:
            self._echo.cancel()
            self._echo = None

    async def _async_listen(self) -> _Outcome:
        """Free the port if our own entry holds it, then wait for one complete reading."""
        data = self._candidate
        if self.source in (SOURCE_REAUTH, SOURCE_RECONFIGURE):
            await self._async_borrow_port(self._get_entry())
        timeout = _listen_timeout(PROFILES[data[CONF_PROFILE]])
        try:
            result = await listen_for_reading(
                data[CONF_PORT],
                data[CONF_PROFILE],
                data[CONF_KEY],
                data[CONF_AUTH_KEY],
                timeout,
                self._take_stream(),
            )
        except MeterPortError as err:
            return _Outcome(
                error="cannot_open", placeholders={"port": data[CONF_PORT], "reason": err.reason}
            )
        return _classify(result, timeout)

    def _take_stream(self) -> MeterStream | None:
        stream, self._stream = self._stream, None
        return stream

    async def _async_borrow_port(self, entry: ConfigEntry) -> None:
        # The running entry holds the port exclusively; listening needs it for a moment.
        if entry.state in (ConfigEntryState.LOADED, ConfigEntryState.SETUP_RETRY):
            self._borrowed_entry_id = entry.entry_id
            # Shielded: a dialog closed mid-unload must not leave the entry half unloaded.
            await asyncio.shield(
                self.hass.async_create_task(self.hass.config_entries.async_unload(entry.entry_id))
            )

    @callback
    def _async_return_port(self) -> None:
        if self._borrowed_entry_id is not None:
            self.hass.config_entries.async_schedule_reload(self._borrowed_entry_id)
            self._borrowed_entry_id = None


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
