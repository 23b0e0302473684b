"""The OBIS table: what Home Assistant makes of each code (names, classes, units, defaults)."""

from __future__ import annotations

from datetime import datetime
import json
from pathlib import Path

from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.const import EntityCategory
import pytest

from custom_components.smartmeter_datacollector import obis_sensors
from custom_components.smartmeter_datacollector.compat import REACTIVE_ENERGY
from custom_components.smartmeter_datacollector.dlms.models import Measurement, Reading
from custom_components.smartmeter_datacollector.obis_sensors import (
    CLOCK,
    describe,
    describe_registered,
    ha_unit,
)
from custom_components.smartmeter_datacollector.obis_table import ABSTRACT, ELECTRICITY

PACKAGE = Path(obis_sensors.__file__).parent
STRINGS = json.loads((PACKAGE / "translations" / "en.json").read_text(encoding="utf-8"))
ICONS = json.loads((PACKAGE / "icons.json").read_text(encoding="utf-8"))


def test_every_sensor_name_is_translated_and_every_icon_names_a_sensor() -> None:
    names = STRINGS["entity"]["sensor"]
    keys = {row.translation_key for row in (*ELECTRICITY.values(), *ABSTRACT.values())}
    keys |= {CLOCK.translation_key, "mbus_value", "mbus_device_id", "mbus_disconnect_state"}
    keys.add("obis_code")
    assert keys <= set(names)
    assert set(ICONS["entity"]["sensor"]) <= set(names)


def test_placeholders_in_names_match_the_table() -> None:
    names = STRINGS["entity"]["sensor"]
    for row in (*ELECTRICITY.values(), *ABSTRACT.values()):
        for placeholder in row.placeholders:
            assert f"{{{placeholder}}}" in names[row.translation_key]["name"]


def test_active_energy_is_energy_total_increasing_in_kwh() -> None:
    description = describe("1-1:1.8.0", "Wh")
    assert description.device_class is SensorDeviceClass.ENERGY
    assert description.state_class is SensorStateClass.TOTAL_INCREASING
    assert description.suggested_unit_of_measurement == "kWh"
    assert description.restore
    assert description.entity_registry_enabled_default


@pytest.mark.parametrize("key", ["1-0:3.8.0", "1-0:4.8.1", "1-1:7.8.0"])
def test_reactive_energy_is_never_active_energy(key: str) -> None:
    description = describe(key, "varh")
    assert description.device_class is REACTIVE_ENERGY
    assert description.device_class is not SensorDeviceClass.ENERGY
    assert description.native_unit_of_measurement == "varh"


@pytest.mark.parametrize(
    ("key", "placeholders", "enabled"),
    [
        # Tariff totals start enabled: the Energy dashboard lists only enabled sensors.
        ("1-0:1.8.2", {"tariff": "2"}, True),
        # Per-phase values start disabled, as in core dsmr: each enabled value costs rows.
        ("1-0:52.7.0", {"phase": "L2"}, False),
        ("1-0:81.7.4", {"first": "U L1", "second": "I L1"}, False),
        ("1-0:81.7.62", {"first": "I L3", "second": "U L3"}, False),
        ("1-0:6.8.1", {"quadrant": "2", "tariff": "1"}, False),
        ("0-3:24.2.1", {"channel": "3"}, True),
    ],
)
def test_phases_tariffs_and_channels_share_one_name(
    key: str, placeholders: dict[str, str], enabled: bool
) -> None:
    description = describe(key)
    assert description.translation_placeholders == placeholders
    assert description.entity_registry_enabled_default is enabled


def test_power_factor_has_no_unit() -> None:
    description = describe("1-0:13.7.0")
    assert description.device_class is SensorDeviceClass.POWER_FACTOR
    assert description.native_unit_of_measurement is None


def test_identifiers_are_diagnostic_text() -> None:
    description = describe("0-0:42.0.0", None, "LGZ1030655933512")
    assert description.entity_category is EntityCategory.DIAGNOSTIC
    assert description.state_class is None
    assert description.native_unit_of_measurement is None
    # It repeats the device's serial number: off until someone wants it.
    assert description.entity_registry_enabled_default is False


@pytest.mark.parametrize(
    ("key", "unit", "device_class", "state_class"),
    [
        ("1-0:99.7.0", "W", SensorDeviceClass.POWER, SensorStateClass.MEASUREMENT),
        ("1-0:15.8.0", "Wh", SensorDeviceClass.ENERGY, SensorStateClass.TOTAL_INCREASING),
        ("7-0:3.0.0", "m³", SensorDeviceClass.GAS, SensorStateClass.TOTAL_INCREASING),
        ("8-0:1.0.0", "m³", SensorDeviceClass.WATER, SensorStateClass.TOTAL_INCREASING),
        ("1-0:1.7.0", "kW", None, SensorStateClass.MEASUREMENT),  # a unit the table does not expect
        ("1-0:0.9.9", None, None, SensorStateClass.MEASUREMENT),
    ],
)
def test_unknown_codes_get_a_generic_sensor_named_by_the_code(
    key: str,
    unit: str | None,
    device_class: SensorDeviceClass | None,
    state_class: SensorStateClass,
) -> None:
    description = describe(key, unit, 1.0)
    assert description.translation_key == "obis_code"
    assert description.translation_placeholders == {"obis": key}
    assert description.device_class is device_class
    assert description.state_class is state_class
    assert description.native_unit_of_measurement == unit


def test_text_under_a_numeric_code_becomes_a_text_sensor() -> None:
    description = describe("1-0:1.7.0", None, "n/a")
    assert description.translation_key == "obis_code"
    assert description.entity_category is EntityCategory.DIAGNOSTIC


def test_malformed_key_still_gets_a_sensor() -> None:
    assert describe("not-obis", "W").translation_key == "obis_code"


def test_mbus_channel_is_classed_by_unit() -> None:
    # m³ on an abstract channel (A=0, the E450) is gas by the documented default.
    assert describe("0-1:24.2.1", "m³").device_class is SensorDeviceClass.GAS
    assert describe("0-1:24.2.1", "GJ").device_class is SensorDeviceClass.ENERGY
    assert describe("0-1:24.2.1", "kWh").device_class is SensorDeviceClass.ENERGY
    assert describe("0-1:24.2.1", None).device_class is None
    assert describe("0-2:96.1.0", None, "24521662").translation_key == "mbus_device_id"


def test_registered_sensor_keeps_the_table_unless_the_unit_classes_it() -> None:
    assert describe_registered("1-1:1.8.0", "kWh").device_class is SensorDeviceClass.ENERGY
    assert describe_registered("0-1:24.2.1", "m³").device_class is SensorDeviceClass.GAS
    assert describe_registered("8-1:1.0.0", "m³").device_class is SensorDeviceClass.WATER


def test_decoder_units_are_spelled_as_home_assistant_does() -> None:
    assert ha_unit("deg") == "°"
    assert ha_unit("m3") == "m³"
    assert ha_unit("W") == "W"
    assert ha_unit("") is None
    assert ha_unit(None) is None


def test_clock_is_a_disabled_diagnostic_timestamp() -> None:
    assert describe(obis_sensors.CLOCK_KEY) is CLOCK
    assert CLOCK.device_class is SensorDeviceClass.TIMESTAMP
    assert not CLOCK.entity_registry_enabled_default


def test_text_where_a_number_belongs_is_no_value() -> None:
    # A later message may carry text under a code first seen as a number: unknown, not a crash.
    reading = Reading(meter_id=None, timestamp=None, values={"1-0:1.7.0": Measurement("--", None)})
    assert describe("1-0:1.7.0", "W").value_fn(reading) is None


def test_naive_meter_clock_is_not_shown() -> None:
    naive = Reading(meter_id=None, timestamp=datetime(2024, 1, 1, 12), values={})  # noqa: DTZ001
    assert CLOCK.value_fn(naive) is None


@pytest.mark.parametrize(
    ("key", "unit", "device_class"),
    [
        ("7-1:3.0.0", "m³", SensorDeviceClass.GAS),
        ("8-2:1.0.0", "m³", SensorDeviceClass.WATER),
        ("9-1:1.0.0", "L", SensorDeviceClass.WATER),
        ("6-1:1.0.0", "MWh", SensorDeviceClass.ENERGY),
        ("6-1:1.0.0", "GJ", SensorDeviceClass.ENERGY),
        ("6-1:2.0.0", "m³", SensorDeviceClass.VOLUME),
        ("0-3:24.2.1", "kWh", SensorDeviceClass.ENERGY),
        ("0-3:24.2.1", None, None),
    ],
)
def test_sub_meter_total_is_classed_by_medium_and_unit(
    key: str, unit: str | None, device_class: SensorDeviceClass | None
) -> None:
    """OBIS A names the medium where it can (IEC 62056-6-1 7.3.1); the unit decides the rest."""
    description = describe(key, unit)
    assert description.translation_key == "mbus_value"
    assert description.device_class is device_class
    assert description.state_class is SensorStateClass.TOTAL_INCREASING


def test_sub_meter_reading_that_is_no_total_stays_a_measurement() -> None:
    # A gas meter's temperature on channel 1 is a measurement, not a growing total.
    description = describe("7-1:41.0.0", "°C")
    assert description.translation_key == "obis_code"
    assert description.state_class is SensorStateClass.MEASUREMENT
