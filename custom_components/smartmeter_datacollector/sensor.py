"""Sensors: one per OBIS value the meter sends, created the first time the value shows up."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Final

from homeassistant.components.sensor import DOMAIN as SENSOR_DOMAIN, RestoreSensor
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er, restore_state
from homeassistant.util import dt as dt_util

from .const import CONF_MIN_INTERVAL, DEFAULT_MIN_INTERVAL, ENERGY_MAX_SILENCE, LOGGER
from .entity import SmartMeterEntity
from .obis_sensors import (
    CLOCK,
    CLOCK_KEY,
    ObisSensorEntityDescription,
    describe,
    describe_registered,
    ha_unit,
)

if TYPE_CHECKING:
    from datetime import datetime

    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
    from homeassistant.helpers.typing import StateType

    from .coordinator import SmartMeterConfigEntry, SmartMeterCoordinator
    from .dlms.models import Reading

# Entities only write state from coordinator callbacks; nothing to limit.
PARALLEL_UPDATES = 0
# A lower total must repeat this many readings in a row (a meter exchange or register reset)
# before it replaces the higher one; a single bad frame never drags a total down, which would
# make Home Assistant's statistics count the whole register again as new consumption.
DECREASE_CONFIRMATIONS: Final = 3


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartMeterConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Bring totals back at once (restored), then add a sensor for every new OBIS value."""
    coordinator = entry.runtime_data
    known: set[str] = set()

    restored = [
        SmartMeterSensor(coordinator, description)
        for description in _registered_totals(hass, entry, coordinator)
    ]
    known.update(sensor.entity_description.key for sensor in restored)
    if restored:
        async_add_entities(restored)

    @callback
    def add_new_values() -> None:
        reading = coordinator.data
        if reading is None:
            return
        descriptions: list[ObisSensorEntityDescription] = []
        if reading.timestamp is not None and CLOCK_KEY not in known:
            descriptions.append(CLOCK)
        descriptions.extend(
            describe(key, ha_unit(measurement.unit), measurement.value)
            for key, measurement in reading.values.items()
            if key not in known
        )
        if descriptions:
            known.update(description.key for description in descriptions)
            async_add_entities(
                SmartMeterSensor(coordinator, description) for description in descriptions
            )

    entry.async_on_unload(coordinator.async_add_listener(add_new_values))
    add_new_values()


def _registered_totals(
    hass: HomeAssistant, entry: SmartMeterConfigEntry, coordinator: SmartMeterCoordinator
) -> list[ObisSensorEntityDescription]:
    """Descriptions of the totals this meter had before the restart."""
    prefix = f"{coordinator.meter_id}_"
    descriptions = []
    for registered in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id):
        if registered.domain != SENSOR_DOMAIN or not registered.unique_id.startswith(prefix):
            continue
        key = registered.unique_id.removeprefix(prefix)
        description = describe_registered(key, _restored_unit(hass, registered.entity_id))
        if description.restore:
            descriptions.append(description)
    return descriptions


def _restored_unit(hass: HomeAssistant, entity_id: str) -> str | None:
    """The native unit a sensor had last run; M-Bus and unknown codes are classed by it."""
    stored = restore_state.async_get(hass).last_states.get(entity_id)
    if stored is None or stored.extra_data is None:
        return None
    unit = stored.extra_data.as_dict().get("native_unit_of_measurement")
    return unit if isinstance(unit, str) else None


class SmartMeterSensor(SmartMeterEntity, RestoreSensor):
    """One OBIS value; totals restore, guard against decreases, and all obey min_interval."""

    entity_description: ObisSensorEntityDescription

    def __init__(
        self, coordinator: SmartMeterCoordinator, description: ObisSensorEntityDescription
    ) -> None:
        super().__init__(coordinator, description.key)
        self.entity_description = description
        self._reading: Reading | None = None
        self._decrease_streak = 0
        self._last_write: datetime | None = None
        self._written_available: bool | None = None
        if coordinator.data is not None:
            self._take(coordinator.data)

    async def async_added_to_hass(self) -> None:
        """Restore a total's last value until the meter sends a new one."""
        await super().async_added_to_hass()
        # Adding the entity writes its first state; the throttle counts from there.
        self._last_write = dt_util.utcnow()
        self._written_available = self.available
        if not self.entity_description.restore or self._attr_native_value is not None:
            return
        last = await self.async_get_last_sensor_data()
        if last is None or last.native_unit_of_measurement != self.native_unit_of_measurement:
            return
        value = last.native_value
        if isinstance(value, Decimal):
            value = float(value)
        if isinstance(value, int | float):
            self._attr_native_value = value

    @callback
    def _handle_coordinator_update(self) -> None:
        reading = self.coordinator.data
        if reading is not None and reading is not self._reading:
            self._take(reading)
        if self._write_due():
            self._last_write = dt_util.utcnow()
            self._written_available = self.available
            self.async_write_ha_state()

    def _take(self, reading: Reading) -> None:
        self._reading = reading
        value = self.entity_description.value_fn(reading)
        if value is None:
            # Meters alternate lists (Aidon: 2.5 s, 10 s, hourly); absent means unchanged.
            return
        if self.entity_description.restore and isinstance(value, int | float):
            value = self._guard_decrease(value)
        self._attr_native_value = value

    def _guard_decrease(self, value: float) -> StateType:
        current = self._attr_native_value
        if not isinstance(current, int | float) or value >= current:
            self._decrease_streak = 0
            return value
        self._decrease_streak += 1
        if self._decrease_streak < DECREASE_CONFIRMATIONS:
            LOGGER.debug(
                "%s: ignoring a drop from %s to %s until it repeats", self.entity_id, current, value
            )
            return current
        self._decrease_streak = 0
        LOGGER.warning(
            "%s fell from %s to %s in %d readings in a row; treating it as a meter reset",
            self.entity_id,
            current,
            value,
            DECREASE_CONFIRMATIONS,
        )
        return value

    def _write_due(self) -> bool:
        if self._last_write is None or self.available != self._written_available:
            return True
        interval = float(
            self.coordinator.config_entry.options.get(CONF_MIN_INTERVAL, DEFAULT_MIN_INTERVAL)
        )
        if interval <= 0:
            return True
        if self.entity_description.restore:
            # Totals feed long-term statistics; keep them dense whatever the user throttles.
            interval = min(interval, ENERGY_MAX_SILENCE)
        return (dt_util.utcnow() - self._last_write).total_seconds() >= interval
