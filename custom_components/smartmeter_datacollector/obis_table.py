"""The OBIS table (IEC 62056-6-1 codes, C.D.E): names, classes, units and defaults as data.

obis_sensors.py turns a row into a sensor description; nothing here knows about readings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.const import (
    DEGREE,
    PERCENTAGE,
    EntityCategory,
    UnitOfApparentPower,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfFrequency,
    UnitOfPower,
    UnitOfReactivePower,
    UnitOfTemperature,
    UnitOfVolume,
)

from .compat import REACTIVE_ENERGY

VAH: Final = "VAh"
VARH: Final = "varh"
# Clause 7.5.3.3 of IEC 62056-6-1: angle code E = 10a + b with a, b naming these quantities.
_ANGLE_QUANTITIES: Final = ("U L1", "U L2", "U L3", "", "I L1", "I L2", "I L3", "I N")


@dataclass(frozen=True, kw_only=True)
class ObisRow:
    """One line of the table: everything but the key and the value function."""

    translation_key: str
    unit: str | None
    device_class: SensorDeviceClass | None = None
    state_class: SensorStateClass | None = SensorStateClass.MEASUREMENT
    suggested_unit: str | None = None
    precision: int | None = None
    enabled: bool = True
    category: EntityCategory | None = None
    placeholders: Mapping[str, str] = field(default_factory=dict)


def _energy(key: str, *, enabled: bool = True, **placeholders: str) -> ObisRow:
    return ObisRow(
        translation_key=key,
        unit=UnitOfEnergy.WATT_HOUR,
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        suggested_unit=UnitOfEnergy.KILO_WATT_HOUR,
        precision=3,
        enabled=enabled,
        placeholders=placeholders,
    )


def _counter(key: str, unit: str, *, enabled: bool, **placeholders: str) -> ObisRow:
    # Reactive energy (while HA lacks REACTIVE_ENERGY) and apparent energy: no device class, so
    # they never count as active energy in the Energy dashboard.
    device_class = REACTIVE_ENERGY if unit == VARH else None
    return ObisRow(
        translation_key=key,
        unit=unit,
        device_class=device_class,
        state_class=SensorStateClass.TOTAL_INCREASING,
        precision=0,
        enabled=enabled,
        placeholders=placeholders,
    )


def _instant(
    key: str,
    unit: str | None,
    device_class: SensorDeviceClass | None,
    precision: int,
    *,
    enabled: bool = True,
    **placeholders: str,
) -> ObisRow:
    return ObisRow(
        translation_key=key,
        unit=unit,
        device_class=device_class,
        precision=precision,
        enabled=enabled,
        placeholders=placeholders,
    )


def text_row(key: str, *, enabled: bool = True, **placeholders: str) -> ObisRow:
    """A diagnostic text row (identifiers, states): no unit, no state class."""
    return ObisRow(
        translation_key=key,
        unit=None,
        state_class=None,
        enabled=enabled,
        category=EntityCategory.DIAGNOSTIC,
        placeholders=placeholders,
    )


def _electricity_rows() -> dict[str, ObisRow]:
    rows: dict[str, ObisRow] = {
        "1.8.0": _energy("energy_import"),
        "2.8.0": _energy("energy_export"),
        "3.8.0": _counter("reactive_energy_import", VARH, enabled=False),
        "4.8.0": _counter("reactive_energy_export", VARH, enabled=False),
        "9.8.0": _counter("apparent_energy_import", VAH, enabled=False),
        "10.8.0": _counter("apparent_energy_export", VAH, enabled=False),
        "1.7.0": _instant("power_import", UnitOfPower.WATT, SensorDeviceClass.POWER, 0),
        "2.7.0": _instant("power_export", UnitOfPower.WATT, SensorDeviceClass.POWER, 0),
        "16.7.0": _instant("power_net", UnitOfPower.WATT, SensorDeviceClass.POWER, 0),
        "3.7.0": _instant(
            "reactive_power_import",
            UnitOfReactivePower.VOLT_AMPERE_REACTIVE,
            SensorDeviceClass.REACTIVE_POWER,
            0,
            enabled=False,
        ),
        "4.7.0": _instant(
            "reactive_power_export",
            UnitOfReactivePower.VOLT_AMPERE_REACTIVE,
            SensorDeviceClass.REACTIVE_POWER,
            0,
            enabled=False,
        ),
        "9.7.0": _instant(
            "apparent_power_import",
            UnitOfApparentPower.VOLT_AMPERE,
            SensorDeviceClass.APPARENT_POWER,
            0,
            enabled=False,
        ),
        "10.7.0": _instant(
            "apparent_power_export",
            UnitOfApparentPower.VOLT_AMPERE,
            SensorDeviceClass.APPARENT_POWER,
            0,
            enabled=False,
        ),
        "13.7.0": _instant("power_factor", None, SensorDeviceClass.POWER_FACTOR, 3, enabled=False),
        "14.7.0": _instant(
            "frequency", UnitOfFrequency.HERTZ, SensorDeviceClass.FREQUENCY, 2, enabled=False
        ),
        "91.7.0": _instant(
            "current_neutral",
            UnitOfElectricCurrent.AMPERE,
            SensorDeviceClass.CURRENT,
            2,
            enabled=False,
        ),
    }
    for tariff in range(1, 10):
        t = str(tariff)
        # Tariff totals start enabled: the Energy dashboard lists only enabled sensors, and their
        # statistics must start with the first reading (core dsmr enables both tariffs too).
        rows[f"1.8.{t}"] = _energy("energy_import_tariff", tariff=t)
        rows[f"2.8.{t}"] = _energy("energy_export_tariff", tariff=t)
        rows[f"3.8.{t}"] = _counter("reactive_energy_import_tariff", VARH, enabled=False, tariff=t)
        rows[f"4.8.{t}"] = _counter("reactive_energy_export_tariff", VARH, enabled=False, tariff=t)
    for quadrant, c in enumerate((5, 6, 7, 8), start=1):
        q = str(quadrant)
        rows[f"{c}.8.0"] = _counter("reactive_energy_quadrant", VARH, enabled=False, quadrant=q)
        for tariff in range(1, 10):
            rows[f"{c}.8.{tariff}"] = _counter(
                "reactive_energy_quadrant_tariff",
                VARH,
                enabled=False,
                quadrant=q,
                tariff=str(tariff),
            )
    # Per phase, quantity C + 20 (L1), + 40 (L2), + 60 (L3) (IEC 62056-6-1 table of C codes).
    # The Energy dashboard needs the meter's totals and power; per-phase values start disabled,
    # as in core dsmr, so that a default entry writes no more recorder rows than dsmr's does
    # (README "Updates and the recorder"). Users enable the ones they watch.
    for offset, phase in ((20, "L1"), (40, "L2"), (60, "L3")):
        rows[f"{offset + 1}.8.0"] = _energy("energy_import_phase", enabled=False, phase=phase)
        rows[f"{offset + 2}.8.0"] = _energy("energy_export_phase", enabled=False, phase=phase)
        rows[f"{offset + 1}.7.0"] = _instant(
            "power_import_phase",
            UnitOfPower.WATT,
            SensorDeviceClass.POWER,
            0,
            enabled=False,
            phase=phase,
        )
        rows[f"{offset + 2}.7.0"] = _instant(
            "power_export_phase",
            UnitOfPower.WATT,
            SensorDeviceClass.POWER,
            0,
            enabled=False,
            phase=phase,
        )
        rows[f"{offset + 3}.7.0"] = _instant(
            "reactive_power_import_phase",
            UnitOfReactivePower.VOLT_AMPERE_REACTIVE,
            SensorDeviceClass.REACTIVE_POWER,
            0,
            enabled=False,
            phase=phase,
        )
        rows[f"{offset + 4}.7.0"] = _instant(
            "reactive_power_export_phase",
            UnitOfReactivePower.VOLT_AMPERE_REACTIVE,
            SensorDeviceClass.REACTIVE_POWER,
            0,
            enabled=False,
            phase=phase,
        )
        rows[f"{offset + 11}.7.0"] = _instant(
            "current_phase",
            UnitOfElectricCurrent.AMPERE,
            SensorDeviceClass.CURRENT,
            2,
            enabled=False,
            phase=phase,
        )
        rows[f"{offset + 12}.7.0"] = _instant(
            "voltage_phase",
            UnitOfElectricPotential.VOLT,
            SensorDeviceClass.VOLTAGE,
            1,
            enabled=False,
            phase=phase,
        )
        rows[f"{offset + 13}.7.0"] = _instant(
            "power_factor_phase",
            None,
            SensorDeviceClass.POWER_FACTOR,
            3,
            enabled=False,
            phase=phase,
        )
    for first, first_name in enumerate(_ANGLE_QUANTITIES):
        for second, second_name in enumerate(_ANGLE_QUANTITIES):
            if first_name and second_name and first != second:
                rows[f"81.7.{10 * first + second}"] = ObisRow(
                    translation_key="angle",
                    unit=DEGREE,
                    state_class=SensorStateClass.MEASUREMENT_ANGLE,
                    precision=1,
                    enabled=False,
                    category=EntityCategory.DIAGNOSTIC,
                    placeholders={"first": first_name, "second": second_name},
                )
    # Identifiers some meters file under A=1 (Kamstrup meter number, GS1 number, list version).
    # They repeat what the device page shows as serial number: diagnostic and off by default.
    for index in range(10):
        rows[f"0.0.{index}"] = text_row("device_id", enabled=False, index=str(index))
    rows["0.2.129"] = text_row("list_version", enabled=False)
    rows["96.1.1"] = text_row("device_id", enabled=False, index="1")
    return rows


def _abstract_rows() -> dict[str, ObisRow]:
    rows: dict[str, ObisRow] = {
        # The logical device name and serial number name the device (its serial number); as
        # sensors they only repeat it, so they start disabled.
        "42.0.0": text_row("logical_device_name", enabled=False),
        "96.1.0": text_row("meter_serial_number", enabled=False),
        "96.14.0": ObisRow(translation_key="active_tariff", unit=None, state_class=None),
        "96.3.10": text_row("disconnect_state", enabled=False),
        "17.0.0": text_row("limiter", enabled=False),
    }
    for index in range(1, 10):
        rows[f"96.1.{index}"] = text_row("device_id", enabled=False, index=str(index))
    return rows


ELECTRICITY: Final[Mapping[str, ObisRow]] = MappingProxyType(_electricity_rows())
ABSTRACT: Final[Mapping[str, ObisRow]] = MappingProxyType(_abstract_rows())

# Value group A names the medium (IEC 62056-6-1 7.3.1, table 2): 6 heat / cooling, 7 gas,
# 8 cold water, 9 hot water; 0 is abstract (an M-Bus channel of the L+G E450, "0-n:24.2.1").
HEAT_MEDIUM: Final = 6
GAS_MEDIUM: Final = 7
WATER_MEDIA: Final = (8, 9)
SUB_METER_MEDIA: Final = (HEAT_MEDIUM, GAS_MEDIUM, *WATER_MEDIA)
VOLUME_UNITS: Final = frozenset({UnitOfVolume.CUBIC_METERS, UnitOfVolume.LITERS})
# Energy of a heat meter comes in Wh or joules (EN 1434); electricity sub-meters in Wh.
ENERGY_UNITS: Final = frozenset(
    {
        UnitOfEnergy.WATT_HOUR,
        UnitOfEnergy.KILO_WATT_HOUR,
        UnitOfEnergy.MEGA_WATT_HOUR,
        UnitOfEnergy.GIGA_WATT_HOUR,
        UnitOfEnergy.JOULE,
        UnitOfEnergy.KILO_JOULE,
        UnitOfEnergy.MEGA_JOULE,
        UnitOfEnergy.GIGA_JOULE,
    }
)
# The documented default for a volume on an abstract channel (A=0): gas, because the Swiss and
# Austrian utilities whose E450s push M-Bus channels mostly wire a gas meter to them (README,
# "Sub-meters"). A meter whose OBIS A names water (8, 9) or gas (7) is never overruled.
CHANNEL_VOLUME_CLASS: Final = SensorDeviceClass.GAS


def sub_meter_class(medium: int, unit: str | None) -> SensorDeviceClass | None:
    """The device class of a sub-meter's total from its medium (OBIS A) and its unit.

    No unit (a pushed attribute 2 without its scaler/unit) means no class: a gas or water
    sensor must state m³ or L, and a raw count is neither.
    """
    if unit in ENERGY_UNITS:
        return SensorDeviceClass.ENERGY
    if unit not in VOLUME_UNITS:
        return None
    if medium in WATER_MEDIA:
        return SensorDeviceClass.WATER
    if medium == HEAT_MEDIUM:
        # The water that passed a heat meter is a volume, not water the household used.
        return SensorDeviceClass.VOLUME
    if medium == GAS_MEDIUM:
        return SensorDeviceClass.GAS
    return CHANNEL_VOLUME_CLASS


# Fallback classes for codes the table does not know, by unit.
GENERIC_BY_UNIT: Final[Mapping[str, tuple[SensorDeviceClass | None, SensorStateClass]]] = (
    MappingProxyType(
        {
            UnitOfPower.WATT: (SensorDeviceClass.POWER, SensorStateClass.MEASUREMENT),
            UnitOfReactivePower.VOLT_AMPERE_REACTIVE: (
                SensorDeviceClass.REACTIVE_POWER,
                SensorStateClass.MEASUREMENT,
            ),
            UnitOfApparentPower.VOLT_AMPERE: (
                SensorDeviceClass.APPARENT_POWER,
                SensorStateClass.MEASUREMENT,
            ),
            UnitOfElectricPotential.VOLT: (SensorDeviceClass.VOLTAGE, SensorStateClass.MEASUREMENT),
            UnitOfElectricCurrent.AMPERE: (SensorDeviceClass.CURRENT, SensorStateClass.MEASUREMENT),
            UnitOfFrequency.HERTZ: (SensorDeviceClass.FREQUENCY, SensorStateClass.MEASUREMENT),
            UnitOfTemperature.CELSIUS: (
                SensorDeviceClass.TEMPERATURE,
                SensorStateClass.MEASUREMENT,
            ),
            PERCENTAGE: (None, SensorStateClass.MEASUREMENT),
            DEGREE: (None, SensorStateClass.MEASUREMENT_ANGLE),
            UnitOfEnergy.WATT_HOUR: (SensorDeviceClass.ENERGY, SensorStateClass.TOTAL_INCREASING),
            VARH: (REACTIVE_ENERGY, SensorStateClass.TOTAL_INCREASING),
            VAH: (None, SensorStateClass.TOTAL_INCREASING),
            UnitOfVolume.CUBIC_METERS: (SensorDeviceClass.WATER, SensorStateClass.TOTAL_INCREASING),
        }
    )
)
