"""Sensors: one per OBIS value the meter sends, created the first time the value shows up."""

from __future__ import annotations

from decimal import Decimal
import time
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from homeassistant.components.sensor import (
    DOMAIN as SENSOR_DOMAIN,
    RestoreSensor,
    SensorDeviceClass,
    SensorStateClass,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er, restore_state

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
from .update_policy import SLOW_INTERVAL, MeanWriter, SampleWriter, aligned_interval

if TYPE_CHECKING:
    from collections.abc import Mapping
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
_TOTALS: Final = (SensorStateClass.TOTAL, SensorStateClass.TOTAL_INCREASING)
# A typical magnitude per unit: power jumps are judged against it, and it bounds how far the
# recorded integral may stray from the pushes (update_policy.RESIDUAL_SECONDS of it).
_SCALES: Final[Mapping[str | None, float]] = MappingProxyType(
    {"W": 200.0, "kW": 0.2, "MW": 0.0002, "var": 200.0, "kvar": 0.2, "VA": 200.0, "kVA": 0.2}
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartMeterConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Bring totals back at once (restored), then add a sensor for every new OBIS value."""
    coordinator = entry.runtime_data.coordinator
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
        # Runs on every push: almost always every value already has its sensor.
        if reading is None or (
            reading.values.keys() <= known and (reading.timestamp is None or CLOCK_KEY in known)
        ):
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


def writer_for(
    description: ObisSensorEntityDescription, min_interval: float
) -> MeanWriter | SampleWriter:
    """The update policy of one sensor (README "Updates and the recorder").

    Live power: the option's interval, corrected samples, jumps at once. Totals: at most
    ENERGY_MAX_SILENCE apart. Other measurements: a corrected sample per statistics period.
    Everything else: the option's interval. An option of 0 writes every push that changes a
    value.
    """
    every = aligned_interval(min_interval)
    state_class = description.state_class
    if every <= 0:
        return SampleWriter(0.0)
    if state_class in _TOTALS:
        return SampleWriter(min(every, aligned_interval(ENERGY_MAX_SILENCE)))
    if state_class is not SensorStateClass.MEASUREMENT:
        # Texts, clocks, angles (a plain mean of 359 and 1 degrees is wrong): the latest value.
        slow = state_class is SensorStateClass.MEASUREMENT_ANGLE
        return SampleWriter(max(every, SLOW_INTERVAL) if slow else every)
    digits = description.suggested_display_precision
    digits = 3 if digits is None else digits + 1
    scale = _SCALES.get(description.native_unit_of_measurement)
    if description.device_class is SensorDeviceClass.POWER:
        return MeanWriter(every, digits, scale, jumps=True)
    return MeanWriter(max(every, SLOW_INTERVAL), digits, scale, jumps=False)


class SmartMeterSensor(SmartMeterEntity, RestoreSensor):
    """One OBIS value; totals restore and guard against decreases; writes follow the policy."""

    entity_description: ObisSensorEntityDescription

    def __init__(
        self, coordinator: SmartMeterCoordinator, description: ObisSensorEntityDescription
    ) -> None:
        super().__init__(coordinator, description.key)
        self.entity_description = description
        self._value_fn = description.value_fn
        self._restore = description.restore
        self._writer = writer_for(
            description,
            float(coordinator.config_entry.options.get(CONF_MIN_INTERVAL, DEFAULT_MIN_INTERVAL)),
        )
        self._reading: Reading | None = None
        self._decrease_streak = 0
        self._total: float | None = None  # the latest total accepted, written or not
        self._written_available: bool | None = None
        if (reading := coordinator.data) is not None:
            self._reading = reading
            self._attr_native_value = self._value(reading)

    async def async_added_to_hass(self) -> None:
        """Restore a total's last value until the meter sends a new one."""
        await super().async_added_to_hass()
        # Adding the entity wrote its first state; the policy counts from there.
        self._written_available = self.available
        self._writer.shown(self._attr_native_value)
        if not self._restore or self._attr_native_value is not None:
            return
        last = await self.async_get_last_sensor_data()
        if last is None or last.native_unit_of_measurement != self.native_unit_of_measurement:
            return
        value = last.native_value
        if isinstance(value, Decimal):
            value = float(value)
        if isinstance(value, int | float):
            self._attr_native_value = self._total = value
            self._writer.shown(value)

    @callback
    def _handle_coordinator_update(self) -> None:
        # Runs for every push and every sensor: keep it to a lookup and a comparison or two.
        reading = self.coordinator.data
        if self.coordinator.last_update_success != self._written_available:
            self._write_availability(reading)
            return
        if reading is None or reading is self._reading:
            return
        self._reading = reading
        value = self._value(reading)
        if value is None:
            # Meters alternate lists (Aidon: 2.5 s, 10 s, hourly); absent means unchanged.
            return
        written = self._writer.offer(value, time.time())  # type: ignore[arg-type]
        if written is not None:
            self._attr_native_value = written
            self.async_write_ha_state()

    def _write_availability(self, reading: Reading | None) -> None:
        """Unavailable, or back: show it at once, with the latest value when back."""
        available = self.coordinator.last_update_success
        self._written_available = available
        if available and reading is not None and reading is not self._reading:
            self._reading = reading
            if (value := self._value(reading)) is not None:
                self._attr_native_value = value
        self._writer.shown(self._attr_native_value)
        self.async_write_ha_state()

    def _value(self, reading: Reading) -> StateType | datetime:
        value = self._value_fn(reading)
        if self._restore and isinstance(value, int | float):
            return self._guard_decrease(value)
        return value

    def _guard_decrease(self, value: float) -> float:
        current = self._total
        if current is None or value >= current:
            self._decrease_streak = 0
            self._total = value
            return value
        self._decrease_streak += 1
        if self._decrease_streak < DECREASE_CONFIRMATIONS:
            LOGGER.debug(
                "%s: ignoring a drop from %s to %s until it repeats", self.entity_id, current, value
            )
            return current
        self._decrease_streak = 0
        self._total = value
        LOGGER.warning(
            "%s fell from %s to %s in %d readings in a row; treating it as a meter reset",
            self.entity_id,
            current,
            value,
            DECREASE_CONFIRMATIONS,
        )
        return value
