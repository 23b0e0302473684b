"""The Smart Meter Data Collector integration: a meter's push interface as Home Assistant sensors."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.const import Platform

from .compat import OPTIONS_FLOW_RELOADS
from .const import CONF_PROFILE
from .coordinator import SmartMeterConfigEntry, SmartMeterCoordinator, SmartMeterRuntimeData
from .publish import async_create_publishers

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine

    from homeassistant.core import HomeAssistant

PLATFORMS: list[Platform] = [Platform.SENSOR]


async def async_setup_entry(hass: HomeAssistant, entry: SmartMeterConfigEntry) -> bool:
    """Open the meter's port, set up sensors and re-publishers, then start reading."""
    coordinator = SmartMeterCoordinator(hass, entry)
    await coordinator.async_connect()
    # The port's display form: a serial-server URL may carry a password the topics must not.
    publishers = await async_create_publishers(
        hass,
        entry.options,
        coordinator.display_port,
        profile=entry.data[CONF_PROFILE],
        entry_id=entry.entry_id,
    )
    entry.runtime_data = SmartMeterRuntimeData(coordinator=coordinator, publishers=publishers)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    for publisher in publishers:
        await publisher.async_start()
        entry.async_on_unload(publisher.async_stop)
        entry.async_on_unload(coordinator.async_add_reading_callback(publisher.publish))
    if not OPTIONS_FLOW_RELOADS:
        entry.async_on_unload(entry.add_update_listener(_reload_on_new_options(entry)))
    coordinator.async_start()
    return True


def _reload_on_new_options(
    entry: SmartMeterConfigEntry,
) -> Callable[[HomeAssistant, SmartMeterConfigEntry], Coroutine[Any, Any, None]]:
    """Reload when the options changed, as newer Home Assistant does after an options flow.

    Update listeners also fire for new data, unique id or title; the flows that change those
    reload the entry themselves, and a second reload racing theirs would take the port from
    under a config flow that is listening on it.
    """
    applied = dict(entry.options)

    async def options_updated(hass: HomeAssistant, entry: SmartMeterConfigEntry) -> None:
        if dict(entry.options) != applied:
            await hass.config_entries.async_reload(entry.entry_id)

    return options_updated


async def async_unload_entry(hass: HomeAssistant, entry: SmartMeterConfigEntry) -> bool:
    """Unload the sensors; the coordinator's shutdown (registered on the entry) frees the port."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
