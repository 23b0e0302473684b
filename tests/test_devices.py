"""An E450 that alternates its own push with its M-Bus channels' push keeps its name and serial.

Issue 9: the channels' push (0-11:25.9.0) names the gas meter on channel 1 (0-1:96.1.0). That id
belongs to the gas meter's device; the electricity meter's device, the entry's unique id and its
title stay the E450's, whichever push comes first. Real ptys, the dev package's encoder, a real
Home Assistant.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any
from unittest.mock import patch

from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import callback
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr, entity_registry as er
from meter_helpers import SimulatedMeter, push, setup_entry, state_of
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.smartmeter_datacollector import detection
from custom_components.smartmeter_datacollector.const import (
    CONF_AUTH_KEY,
    CONF_KEY,
    CONF_MIN_INTERVAL,
    CONF_PORT,
    CONF_PROFILE,
    DOMAIN,
)
from custom_components.smartmeter_datacollector.devices import sub_meter_identifier
from smartmeter_devtools.push_encode import MeterEncoder

if TYPE_CHECKING:
    from collections.abc import Iterator

    from homeassistant.config_entries import ConfigFlowResult
    from homeassistant.core import Event, HomeAssistant
    from meter_helpers import PtyPort

# Loop turns (with a short pause each) a test waits for the flow's background detection to
# have judged what arrived; it judges about every 0.3 s, so this only bounds a broken build.
_JUDGE_ROUNDS = 2000


class AlternatingE450(SimulatedMeter):
    """The simulated E450, pushing its own list and its M-Bus channels' list in turns."""

    def __init__(self) -> None:
        super().__init__("lge450")
        self.encoder = MeterEncoder("lge450", tz=self._tz, seed=11, channel_every=2)
        self.gas_id = next(
            text for item, text in self.encoder.texts.items() if item.obis == "0-1:96.1.0"
        )

    def own_push(self) -> bytes:
        """The E450's own list (push setup 0-8:25.9.0), named after the meter."""
        return self.message()

    def channel_push(self) -> bytes:
        """The channels' list (0-11:25.9.0), named after the gas meter."""
        data = self.message()
        assert self.expected is not None
        assert self.expected.meter_id == self.gas_id
        return data


@pytest.fixture
def no_setup() -> Iterator[None]:
    """Only the flow is under test: the created entry is stored, not started."""
    with patch("custom_components.smartmeter_datacollector.async_setup_entry", return_value=True):
        yield


async def test_channel_push_never_renames_the_meter_and_names_the_gas_meter(
    hass: HomeAssistant,
    pty_port: PtyPort,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    meter = AlternatingE450()
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=f"Landis+Gyr E450 {meter.meter_id}",
        unique_id=meter.meter_id,
        data={
            CONF_PROFILE: "lge450",
            CONF_PORT: pty_port.path,
            CONF_KEY: None,
            CONF_AUTH_KEY: None,
        },
        options={CONF_MIN_INTERVAL: 0},
    )
    await setup_entry(hass, entry)
    await push(hass, entry, pty_port, meter.own_push())
    own = device_registry.async_get_device(identifiers={(DOMAIN, meter.meter_id)})
    assert own is not None
    assert own.serial_number == meter.meter_id
    updates: list[str] = []

    @callback  # in the event loop, not the executor: the list is read right after the pushes
    def updated(event: Event[dr.EventDeviceRegistryUpdatedData]) -> None:
        if event.data["action"] == "update":
            updates.append(event.data["device_id"])

    hass.bus.async_listen(dr.EVENT_DEVICE_REGISTRY_UPDATED, updated)

    for _ in range(2):
        await push(hass, entry, pty_port, meter.channel_push())
        await push(hass, entry, pty_port, meter.own_push())

    own = device_registry.async_get_device(identifiers={(DOMAIN, meter.meter_id)})
    assert own is not None
    # The device page of the E450 never flickers to the gas meter's number.
    assert own.serial_number == meter.meter_id
    assert own.id not in updates
    assert (entry.unique_id, entry.title) == (meter.meter_id, f"Landis+Gyr E450 {meter.meter_id}")
    gas = device_registry.async_get_device(identifiers={sub_meter_identifier(meter.meter_id, 1)})
    assert gas is not None
    assert gas.serial_number == meter.gas_id
    assert gas.via_device_id == own.id
    gas_total = entity_registry.async_get_entity_id(
        "sensor", DOMAIN, f"{meter.meter_id}_0-1:24.2.1"
    )
    assert gas_total is not None
    assert entity_registry.async_get(gas_total).device_id == gas.id
    assert float(state_of(hass, gas_total).state) > 0

    # The utility exchanges the gas meter: its device shows the new id, the E450's stays.
    channel_id = next(item for item in meter.encoder.texts if item.obis == "0-1:96.1.0")
    meter.encoder.texts[channel_id] = meter.gas_id = "99000001"
    await push(hass, entry, pty_port, meter.channel_push())
    gas = device_registry.async_get(gas.id)
    assert gas is not None
    assert gas.serial_number == "99000001"
    assert own.id not in updates


async def _submit(hass: HomeAssistant, user_input: dict[str, Any]) -> ConfigFlowResult:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    return await hass.config_entries.flow.async_configure(result["flow_id"], user_input)


async def _follow(hass: HomeAssistant, result: ConfigFlowResult) -> ConfigFlowResult:
    while result["type"] is FlowResultType.SHOW_PROGRESS:
        await hass.async_block_till_done()
        result = await hass.config_entries.flow.async_configure(result["flow_id"])
    return result


@pytest.mark.usefixtures("no_setup")
async def test_meter_type_chosen_and_channel_push_first_names_the_entry_after_the_meter(
    hass: HomeAssistant, pty_port: PtyPort
) -> None:
    meter = AlternatingE450()
    own, channels = meter.own_push(), meter.channel_push()
    result = await _submit(hass, {CONF_PORT: pty_port.path, CONF_PROFILE: "lge450"})
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    await pty_port.write(channels + own)

    result = await _follow(hass, result)

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == meter.meter_id
    assert result["title"] == f"Landis+Gyr {meter.meter_id}"


@pytest.mark.usefixtures("no_setup")
async def test_detection_hearing_the_channel_push_alone_waits_for_the_meter(
    hass: HomeAssistant, pty_port: PtyPort, monkeypatch: pytest.MonkeyPatch
) -> None:
    meter = AlternatingE450()
    own, channels = meter.own_push(), meter.channel_push()
    judged: list[bytes] = []
    detect = detection.detect

    def judge(data: bytes, *args: Any) -> Any:
        judged.append(data)
        return detect(data, *args)

    monkeypatch.setattr(detection, "detect", judge)
    result = await _submit(hass, {CONF_PORT: pty_port.path})
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    await pty_port.write(channels)
    # Detection has judged the gas meter's push on its own (and must not stop there).
    for _ in range(_JUDGE_ROUNDS):
        if judged and judged[-1] == channels:
            break
        await asyncio.sleep(0.01)
    assert judged[-1] == channels
    await pty_port.write(own)

    result = await _follow(hass, result)

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "confirm"
    placeholders = result["description_placeholders"] or {}
    assert placeholders["meter_id"] == meter.meter_id
    assert placeholders["maker"] == "Landis+Gyr"
    assert placeholders["model"] == "E450"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == meter.meter_id
    assert result["title"] == f"Landis+Gyr {meter.meter_id}"


@pytest.mark.usefixtures("no_setup")
async def test_detection_hearing_the_meter_then_its_channels_names_the_meter(
    hass: HomeAssistant, pty_port: PtyPort
) -> None:
    meter = AlternatingE450()
    own, channels = meter.own_push(), meter.channel_push()
    result = await _submit(hass, {CONF_PORT: pty_port.path})
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    await pty_port.write(own + channels)

    result = await _follow(hass, result)

    assert result["step_id"] == "confirm"
    placeholders = result["description_placeholders"] or {}
    assert (placeholders["meter_id"], placeholders["model"]) == (meter.meter_id, "E450")
