"""The setup forms' fields and what they show: one place for the user, reconfigure and key steps."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from homeassistant.data_entry_flow import section
from homeassistant.helpers import selector
import voluptuous as vol

from .const import CONF_AUTH_KEY, CONF_KEY, CONF_PORT, CONF_PROFILE, FLAG_MANUFACTURERS
from .dlms import PROFILES
from .dlms.identity import own_meter_id
from .line_settings import LINE_KEYS, form_values as line_form_values, line_schema, profile_for

if TYPE_CHECKING:
    from collections.abc import Mapping

    from .dlms import Profile, Reading

SECTION_ADVANCED: Final = "advanced"
# The meter-type choice that lets the flow find the type itself.
PROFILE_AUTO: Final = "auto"
GENERIC_PROFILE: Final = "generic"
# How many of the values a meter sent the confirm step lists.
_VALUES_SHOWN: Final = 8


def _password() -> selector.TextSelector:
    return selector.TextSelector(
        selector.TextSelectorConfig(type=selector.TextSelectorType.PASSWORD)
    )


def profile_field() -> dict[vol.Marker, Any]:
    """The optional meter type: "Detect automatically" first, labels from the translations."""
    return {
        vol.Optional(CONF_PROFILE, default=PROFILE_AUTO): selector.SelectSelector(
            selector.SelectSelectorConfig(
                options=[PROFILE_AUTO, *PROFILES],
                mode=selector.SelectSelectorMode.DROPDOWN,
                translation_key=CONF_PROFILE,
            )
        )
    }


def keys_schema(*, line: bool) -> dict[vol.Marker, Any]:
    """Key fields (as passwords); the advanced section adds line settings where they apply."""
    advanced: dict[vol.Marker, Any] = {vol.Optional(CONF_AUTH_KEY): _password()}
    if line:
        advanced |= line_schema()
    return {
        vol.Optional(CONF_KEY): _password(),
        # Optional: a REST client may send only the port.
        vol.Optional(SECTION_ADVANCED, default={}): section(
            vol.Schema(advanced), {"collapsed": True}
        ),
    }


def form_values(data: Mapping[str, Any]) -> dict[str, Any]:
    """Entry data as the form shows it (auth key and line settings live in the section)."""
    hidden = {CONF_AUTH_KEY, *LINE_KEYS}
    values = {k: v for k, v in data.items() if k not in hidden and v is not None}
    advanced: dict[str, Any] = {}
    if auth_key := data.get(CONF_AUTH_KEY):
        advanced[CONF_AUTH_KEY] = auth_key
    if CONF_PROFILE in data and data[CONF_PROFILE] in PROFILES:
        advanced |= form_values_of_line(profile_for(data))
    values[SECTION_ADVANCED] = advanced
    return values


def form_values_of_line(profile: Profile) -> dict[str, str]:
    """The line settings of a profile as the section's fields show them."""
    return line_form_values(profile.serial)


def identity(reading: Reading) -> str | None:
    """The meter's own id (never a sub-meter's), or its system title when it sends none."""
    return own_meter_id(reading) or reading.system_title


def maker_name(reading: Reading | None, profile: Profile) -> str:
    """The maker as a nameplate says it: from the FLAG id the meter sent, else its type's."""
    code = reading.manufacturer if reading else None
    if code:
        return FLAG_MANUFACTURERS.get(code.upper(), code)
    if profile.name == GENERIC_PROFILE:
        return profile.model
    return profile.manufacturer


def title(reading: Reading, profile: Profile) -> str:
    """Name the entry like the meter's nameplate: maker and meter id."""
    return f"{maker_name(reading, profile)} {identity(reading) or profile.model}"


def confirm_placeholders(reading: Reading, profile: Profile, port: str) -> dict[str, str]:
    """What the confirm step shows: maker, model, meter id, line settings and values seen."""
    values = [
        f"{code} = {m.value}{f' {m.unit}' if m.unit else ''}"
        for code, m in list(reading.values.items())[:_VALUES_SHOWN]
    ]
    more = len(reading.values) - len(values)
    return {
        "maker": maker_name(reading, profile),
        "model": profile.model,
        "meter_id": identity(reading) or "-",
        "settings": str(profile.serial),
        "port": port,
        "count": str(len(reading.values)),
        "values": "\n".join(f"- {line}" for line in values)
        + (f"\n- ... ({more} more)" if more else ""),
    }


def port_field(selector_: selector.Selector[Any]) -> dict[vol.Marker, Any]:
    """The port field (its suggested value comes from the form values)."""
    return {vol.Required(CONF_PORT): selector_}
