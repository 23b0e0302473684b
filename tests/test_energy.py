"""The Energy dashboard accepts the meter's import/export totals as they are."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.components.energy import data as energy_data
from homeassistant.components.energy.validate import async_validate
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from meter_helpers import load_vector, mock_entry, push, setup_entry
import pytest
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
)

from custom_components.smartmeter_datacollector.const import DOMAIN

if TYPE_CHECKING:
    from homeassistant.components.recorder import Recorder
    from homeassistant.core import HomeAssistant
    from meter_helpers import PtyPort


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    recorder_mock: Recorder, enable_custom_integrations: None
) -> None:
    """The recorder must start before Home Assistant does (conftest's version needs hass first)."""


def _grid(stat_from: str, stat_to: str) -> dict[str, Any]:
    return {
        "energy_sources": [
            {
                "type": "grid",
                "flow_from": [
                    {
                        "stat_energy_from": stat_from,
                        "stat_cost": None,
                        "entity_energy_price": None,
                        "number_energy_price": None,
                    }
                ],
                "flow_to": [
                    {
                        "stat_energy_to": stat_to,
                        "stat_compensation": None,
                        "entity_energy_price": None,
                        "number_energy_price": None,
                    }
                ],
                "cost_adjustment_day": 0.0,
            }
        ]
    }


async def _recorded_meter(hass: HomeAssistant, port: PtyPort) -> dict[str, str]:
    """A meter whose totals have states and compiled statistics, as after a few minutes."""
    vector = load_vector("lge450-pushlist-1")
    entry = mock_entry(vector, port=port.path)
    await setup_entry(hass, entry)
    await push(hass, entry, port, vector.data)
    registry = er.async_get(hass)
    ids = {
        key: registry.async_get_entity_id("sensor", DOMAIN, f"{entry.unique_id}_{key}") or ""
        for key in ("1-1:1.8.0", "1-1:2.8.0", "1-1:8.8.0")
    }
    await async_wait_recording_done(hass)
    now = dt_util.utcnow()
    do_adhoc_statistics(
        hass, start=now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0)
    )
    await async_wait_recording_done(hass)
    return ids


async def test_import_and_export_pass_energy_validation(
    recorder_mock: Recorder, hass: HomeAssistant, pty_port: PtyPort
) -> None:
    ids = await _recorded_meter(hass, pty_port)
    manager = await energy_data.async_get_manager(hass)
    await manager.async_update(_grid(ids["1-1:1.8.0"], ids["1-1:2.8.0"]))

    validation = await async_validate(hass)

    assert validation.as_dict() == {"energy_sources": [[]], "device_consumption": []}


# Quadrant registers are disabled by default; a user may still enable and pick one.
@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_reactive_energy_is_refused_as_grid_energy(
    recorder_mock: Recorder, hass: HomeAssistant, pty_port: PtyPort
) -> None:
    ids = await _recorded_meter(hass, pty_port)
    manager = await energy_data.async_get_manager(hass)
    await manager.async_update(_grid(ids["1-1:8.8.0"], ids["1-1:2.8.0"]))

    issues = (await async_validate(hass)).as_dict()["energy_sources"][0]

    assert [issue["type"] for issue in issues] == ["entity_unexpected_device_class"]
