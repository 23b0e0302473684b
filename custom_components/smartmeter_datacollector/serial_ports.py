"""Which port the user means: the port picker for the setup form and port identity checks.

Newer Home Assistant has a serial port selector (it lists local adapters, ESPHome serial proxies
and accepts free text); older versions get a drop-down of the local ports with free entry allowed,
so paths, socket://host:port and rfc2217://host:port work everywhere.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from homeassistant.helpers import selector
import serialx

if TYPE_CHECKING:
    from collections.abc import Iterable

    from homeassistant.core import HomeAssistant

# Only newer Home Assistant has the serial port selector; detected here and nowhere else.
SERIAL_PORT_SELECTOR: Final[type[selector.Selector[Any]] | None] = getattr(
    selector, "SerialPortSelector", None
)
# udev's stable names: they survive re-plugging and a changed USB enumeration order.
BY_ID_DIR = Path("/dev/serial/by-id")
_URL_MARK = "://"


def port_option(info: serialx.SerialPortInfo) -> selector.SelectOptionDict:
    """Describe one local port by its stable name plus what the adapter says about itself."""
    details = [text for text in (info.product, info.manufacturer) if text]
    if info.resolved_device != info.device:
        details.append(info.resolved_device)
    label = f"{info.device} ({', '.join(details)})" if details else info.device
    return selector.SelectOptionDict(value=info.device, label=label)


async def async_port_selector() -> selector.Selector[Any]:
    """Return the port picker this Home Assistant version supports best."""
    if SERIAL_PORT_SELECTOR is not None:
        return SERIAL_PORT_SELECTOR()
    ports = await serialx.async_list_serial_ports()
    return selector.SelectSelector(
        selector.SelectSelectorConfig(
            options=[port_option(info) for info in sorted(ports, key=lambda p: p.device)],
            custom_value=True,
            mode=selector.SelectSelectorMode.DROPDOWN,
        )
    )


def _first_adapter() -> str:
    try:
        return str(min(BY_ID_DIR.iterdir()))
    except (OSError, ValueError):
        return ""


async def async_default_port(hass: HomeAssistant) -> str:
    """What the port field starts with: the first /dev/serial/by-id adapter, else nothing.

    An onboard /dev/ttyS0 is rarely the meter's adapter, so no guess is better than that one.
    """
    return await hass.async_add_executor_job(_first_adapter)


def _is_url(port: str) -> bool:
    return _URL_MARK in port


def _stable_port(port: str) -> str:
    if _is_url(port) or BY_ID_DIR in Path(port).parents:
        return port
    target = os.path.realpath(port)
    try:
        links = sorted(BY_ID_DIR.iterdir())
    except OSError:
        return port
    for link in links:
        if os.path.realpath(link) == target:
            return str(link)
    return port


async def async_stable_port(hass: HomeAssistant, port: str) -> str:
    """Prefer the /dev/serial/by-id name of a local device, so the entry survives re-plugging."""
    return await hass.async_add_executor_job(_stable_port, port.strip())


def _identity(port: str) -> str:
    port = port.strip()
    if _is_url(port):
        return port.lower()
    return os.path.realpath(port)


def _ports_in_use(port: str, others: list[str]) -> bool:
    wanted = _identity(port)
    return any(_identity(other) == wanted for other in others)


async def async_port_in_use(hass: HomeAssistant, port: str, others: Iterable[str]) -> bool:
    """Tell whether port names the same device or server as any of the others."""
    return await hass.async_add_executor_job(_ports_in_use, port, list(others))
