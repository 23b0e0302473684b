"""Set up, reconfigure and re-key a meter in the UI; nothing is saved before the meter spoke.

Validation follows core dsmr's idea: open the port and wait for a real reading
(`flow_listen.py`), then take the meter's own identity as the unique id. The port is opened
before any progress step, so a wrong path or a refused socket is named at once (`flow_port.py`).
With the meter type left at "Detect automatically" the flow tries the line settings meters use
until the decoder recognises one (`detection.py` drives the port, `dlms.detect` judges the
bytes), asks for a key only when the data is encrypted, and shows what it found before saving.
This module holds the steps and what they remember between them; the forms' fields and texts
are in `flow_forms.py`.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Final

from homeassistant.config_entries import (
    SOURCE_REAUTH,
    SOURCE_RECONFIGURE,
    SOURCE_USER,
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
)
from homeassistant.core import callback
from homeassistant.data_entry_flow import AbortFlow
import voluptuous as vol

from .connection import MeterPortError
from .const import CONF_AUTH_KEY, CONF_KEY, CONF_PORT, CONF_PROFILE, DOMAIN
from .detection import DetectResult, async_detect
from .dlms.detect import PUSH_LINE_SETTINGS, detect
from .errors import KeyFieldError, entry_key, key_error
from .flow_forms import (
    PROFILE_AUTO,
    SECTION_ADVANCED,
    confirm_placeholders,
    form_values,
    identity,
    keys_schema,
    port_field,
    profile_field,
    title,
)
from .flow_listen import ListenOutcome, async_listen, listen_timeout
from .flow_port import FlowPort
from .flow_progress import ProgressEcho
from .line_settings import profile_for, settings_data, settings_from
from .options_flow import SmartMeterOptionsFlow
from .serial_ports import (
    async_default_port,
    async_port_in_use,
    async_port_selector,
    async_stable_port,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from .dlms import Reading, SerialSettings
    from .dlms.detect import Detection

# Meters that send neither a meter id nor a system title are known by their port.
PORT_UNIQUE_ID_PREFIX: Final = "port:"


class SmartMeterConfigFlow(ConfigFlow, domain=DOMAIN):
    """One config entry per meter, created only after the meter sent a complete reading."""

    VERSION = 1
    # Set by the listen (or detect) step right before it hands over to the finish (or confirm) step.
    _reading: Reading
    # What detection heard and found, for the key step to try keys on.
    _heard: tuple[bytes, SerialSettings, Detection]

    def __init__(self) -> None:
        self._input: dict[str, Any] = {}
        self._candidate: dict[str, Any] = {}
        self._errors: dict[str, str] = {}
        self._placeholders: dict[str, str] = {}
        self._listen_task: asyncio.Task[ListenOutcome] | None = None
        self._port = FlowPort()
        self._echo = ProgressEcho(self)
        self._detect_task: asyncio.Task[DetectResult] | None = None
        self._trying: str | None = None

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> SmartMeterOptionsFlow:
        """Return the options flow."""
        return SmartMeterOptionsFlow()

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the port; meter type (detected by default), keys and line settings optional."""
        if user_input is not None and await self._async_accept(user_input):
            if self._candidate[CONF_PROFILE] == PROFILE_AUTO:
                return await self.async_step_detect()
            return await self.async_step_listen()
        schema = vol.Schema(
            {
                **port_field(await async_port_selector()),
                **profile_field(),
                **keys_schema(line=True),
            }
        )
        # The frontend shows an optional field's default only as a suggested value.
        shown = self._input or {
            CONF_PORT: await async_default_port(self.hass),
            CONF_PROFILE: PROFILE_AUTO,
        }
        return self._show_form("user", schema, shown)

    async def async_step_detect(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Try each line setting in the background; the progress text names the one tried."""
        if self._detect_task is None:
            self._detect_task = self.hass.async_create_task(
                self._async_detect(), f"{DOMAIN} config flow detect"
            )
            self._echo.started()
        if not self._detect_task.done():
            return self.async_show_progress(
                step_id="detect",
                progress_action="detect",
                progress_task=self._detect_task,
                description_placeholders={
                    "port": self._candidate[CONF_PORT],
                    "setting": self._trying or str(PUSH_LINE_SETTINGS[0]),
                },
            )
        result = self._detect_task.result()
        self._detect_task = None
        self._echo.ended()
        found = result.detection
        if found is None:
            if not self._errors:
                self._errors = {"base": "not_detected" if result.bytes_received else "no_data_any"}
                self._placeholders = {
                    "bytes": str(result.bytes_received),
                    "settings": ", ".join(result.tried),
                }
            return self.async_show_progress_done(next_step_id="user")
        self._heard = (result.data, result.heard_at or found.profile.serial, found)
        self._use(found)
        if found.reading is None:
            return self.async_show_progress_done(next_step_id="keys")
        return self.async_show_progress_done(next_step_id="confirm")

    async def async_step_keys(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """The meter encrypts: ask for the keys and try them on the messages already received."""
        data, heard_at, first = self._heard
        if user_input is not None:
            self._input, self._errors = user_input, {}
            try:
                key = entry_key(user_input.get(CONF_KEY), "invalid_key_format")
                auth_key = entry_key(
                    user_input.get(SECTION_ADVANCED, {}).get(CONF_AUTH_KEY),
                    "invalid_auth_key_format",
                )
            except KeyFieldError as err:
                self._errors = {"base": err.error}
            else:
                found = await self.hass.async_add_executor_job(
                    detect, data, heard_at, key, auth_key
                )
                if found is not None and found.reading is not None:
                    self._candidate |= {CONF_KEY: key, CONF_AUTH_KEY: auth_key}
                    self._use(found)
                    return await self.async_step_confirm()
                stats = (found or first).stats
                self._errors = {"base": key_error(stats) or "invalid_key"}
        self._placeholders = {"maker": first.manufacturer or "-"}
        return self._show_form("keys", vol.Schema(keys_schema(line=False)), self._input)

    async def async_step_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show what was found (maker, model, meter id, line settings, values) before saving."""
        profile = profile_for(self._candidate)
        await self.async_set_unique_id(
            identity(self._reading) or f"{PORT_UNIQUE_ID_PREFIX}{self._candidate[CONF_PORT]}"
        )
        self._abort_if_unique_id_configured()
        if user_input is not None:
            return self.async_create_entry(
                title=title(self._reading, profile), data=self._candidate
            )
        return self.async_show_form(
            step_id="confirm",
            data_schema=vol.Schema({}),
            description_placeholders=confirm_placeholders(
                self._reading, profile, self._candidate[CONF_PORT]
            ),
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change port or keys of a meter; the same meter must answer on the new settings."""
        entry = self._get_reconfigure_entry()
        if user_input is not None and await self._async_accept(
            {CONF_PROFILE: entry.data[CONF_PROFILE], **user_input}
        ):
            return await self.async_step_listen()
        schema = vol.Schema({**port_field(await async_port_selector()), **keys_schema(line=True)})
        return self._show_form("reconfigure", schema, self._input or form_values(entry.data))

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
        schema = vol.Schema(keys_schema(line=False))
        return self._show_form("reauth_confirm", schema, self._input)

    async def async_step_listen(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Listen to the meter in the background while the dialog shows a progress message."""
        if self._listen_task is None:
            self._listen_task = self.hass.async_create_task(
                self._async_listen(), f"{DOMAIN} config flow listen"
            )
            self._echo.started()
        if not self._listen_task.done():
            profile = profile_for(self._candidate)
            return self.async_show_progress(
                # The form steps hand over here directly; name the step the task returns to.
                step_id="listen",
                progress_action="listen",
                progress_task=self._listen_task,
                description_placeholders={
                    "port": self._candidate[CONF_PORT],
                    "seconds": f"{listen_timeout(profile):g}",
                },
            )
        outcome = self._listen_task.result()
        self._listen_task = None
        self._echo.ended()
        if outcome.reading is None:
            self._port.async_give_back(self.hass)
            self._errors = {"base": outcome.error or "no_data"}
            self._placeholders = outcome.placeholders
            return self.async_show_progress_done(next_step_id=self._form_step)
        self._reading = outcome.reading
        return self.async_show_progress_done(next_step_id="finish")

    async def async_step_finish(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Save what was proven to work, under the identity the meter itself reported."""
        data = self._candidate
        meter = identity(self._reading)
        unique_id = meter or f"{PORT_UNIQUE_ID_PREFIX}{data[CONF_PORT]}"
        if self.source == SOURCE_USER:
            await self.async_set_unique_id(unique_id)
            self._abort_if_unique_id_configured()
            return self.async_create_entry(title=title(self._reading, profile_for(data)), data=data)
        entry = self._get_entry()
        if meter is None and (entry.unique_id or "").startswith(PORT_UNIQUE_ID_PREFIX):
            # A meter without identity keeps the id it got at setup, so its entities stay.
            unique_id = entry.unique_id or unique_id
        await self.async_set_unique_id(unique_id, raise_on_progress=False)
        self._abort_if_unique_id_mismatch(reason="wrong_meter")
        self._port.keep()
        return self.async_update_reload_and_abort(entry, data=data)

    @callback
    def async_remove(self) -> None:
        """Give a borrowed port back to its entry however the flow ended."""
        self._echo.cancel()
        if self._detect_task is not None:
            self._detect_task.cancel()
        self._port.async_release(self.hass, self._listen_task)

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
        name = user_input.get(CONF_PROFILE) or PROFILE_AUTO
        settings = (
            PUSH_LINE_SETTINGS[0]
            if name == PROFILE_AUTO
            else settings_from(advanced, profile_for({CONF_PROFILE: name}).serial)
        )
        if not await self._async_port_opens(port, settings):
            return False
        self._candidate = {
            CONF_PROFILE: name,
            CONF_PORT: port,
            CONF_KEY: key,
            CONF_AUTH_KEY: auth_key,
            **({} if name == PROFILE_AUTO else settings_data(settings)),
        }
        return True

    def _use(self, found: Detection) -> None:
        """Take the detected type and line settings into the entry to be."""
        self._candidate |= {CONF_PROFILE: found.profile.name, **settings_data(found.profile.serial)}
        if found.reading is not None:
            self._reading = found.reading

    async def _async_port_opens(self, port: str, settings: SerialSettings) -> bool:
        """Fail fast: a port that cannot be opened is named on the form, before any listening.

        The port our own entry holds (reauth, reconfigure keeping it) opens once it is borrowed.
        """
        if self.source != SOURCE_USER and await async_port_in_use(
            self.hass, port, [self._get_entry().data[CONF_PORT]]
        ):
            return True
        if (placeholders := await self._port.async_open(port, settings)) is None:
            return True
        self._errors = {"base": "cannot_open"}
        self._placeholders = placeholders
        return False

    async def _async_listen(self) -> ListenOutcome:
        """Free the port if our own entry holds it, then wait for one complete reading."""
        if self.source in (SOURCE_REAUTH, SOURCE_RECONFIGURE):
            await self._port.async_borrow(self.hass, self._get_entry())
        return await async_listen(self._candidate, self._port.take())

    async def _async_detect(self) -> DetectResult:
        """Try the line settings meters use until one is recognised; name what went wrong."""
        port = self._candidate[CONF_PORT]
        try:
            return await async_detect(self.hass, port, self._port.take(), self._async_trying)
        except MeterPortError as err:
            self._errors = {"base": "cannot_open"}
            self._placeholders = {"port": port, "reason": err.reason}
            return DetectResult()

    @callback
    def _async_trying(self, settings: SerialSettings) -> None:
        """Show the line setting being tried: re-running the step updates the progress text."""
        first = self._trying is None
        self._trying = str(settings)
        if not first:
            self.hass.async_create_task(
                self.hass.config_entries.flow.async_configure(self.flow_id),
                f"{DOMAIN} config flow progress text",
            )
