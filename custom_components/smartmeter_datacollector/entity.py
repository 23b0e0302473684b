"""Base entity: one device per meter, unique ids from the meter id and the OBIS key."""

from __future__ import annotations

from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .coordinator import SmartMeterCoordinator


class SmartMeterEntity(CoordinatorEntity[SmartMeterCoordinator]):
    """An entity of one meter; its unique id never depends on names or translations."""

    _attr_has_entity_name = True

    def __init__(self, coordinator: SmartMeterCoordinator, key: str) -> None:
        super().__init__(coordinator)
        self._attr_unique_id = f"{coordinator.meter_id}_{key}"
        self._attr_device_info = coordinator.device_info
