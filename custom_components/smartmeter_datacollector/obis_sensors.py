"""What Home Assistant should make of each OBIS code (IEC 62056-6-1): the lookup over the table.

Keys in the table are C.D.E; A and B only decide the medium (A=0 abstract/M-Bus channel, A=1
electricity, A=6..9 heat/gas/water) and, for a sub-meter, the channel placeholder. Codes not in the table still become a
sensor, named by the code, classed by the unit the meter sends.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    DEGREE,
    EntityCategory,
    UnitOfTemperature,
    UnitOfVolume,
    UnitOfVolumeFlowRate,
)

from .dlms.obis import parse_obis
from .obis_table import (
    ABSTRACT,
    ELECTRICITY,
    ENERGY_UNITS,
    GENERIC_BY_UNIT,
    SUB_METER_MEDIA,
    VOLUME_UNITS,
    ObisRow,
    sub_meter_class,
    text_row,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from datetime import datetime

    from homeassistant.helpers.typing import StateType

    from .dlms.models import Reading

CLOCK_KEY: Final = "0-0:1.0.0"
MBUS_TRANSLATION_KEY: Final = "mbus_value"
GENERIC_TRANSLATION_KEY: Final = "obis_code"

# Decoder units (COSEM unit names) -> Home Assistant unit strings.
HA_UNITS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "deg": DEGREE,
        "m3": UnitOfVolume.CUBIC_METERS,
        "m3/h": UnitOfVolumeFlowRate.CUBIC_METERS_PER_HOUR,
        "l": UnitOfVolume.LITERS,
        "°C": UnitOfTemperature.CELSIUS,
        "K": UnitOfTemperature.KELVIN,
    }
)


def ha_unit(unit: str | None) -> str | None:
    """Home Assistant's spelling of a decoder unit."""
    if unit is None or unit == "":
        return None
    return HA_UNITS.get(unit, unit)


@dataclass(frozen=True, kw_only=True)
class ObisSensorEntityDescription(SensorEntityDescription):
    """A sensor for one OBIS key; value_fn picks its value out of a reading."""

    value_fn: Callable[[Reading], StateType | datetime]
    # Totals restore across restarts and refuse to go backwards on a single odd reading.
    restore: bool = False


def _measurement_value(key: str, numeric: bool, reading: Reading) -> StateType:
    measurement = reading.values.get(key)
    if measurement is None:
        return None
    value = measurement.value
    if numeric and isinstance(value, str):
        return None
    return value


def _clock_value(reading: Reading) -> datetime | None:
    timestamp = reading.timestamp
    # A timestamp sensor needs an aware time; naive meter clocks stay out of the state machine.
    if timestamp is None or timestamp.tzinfo is None:
        return None
    return timestamp


CLOCK: Final = ObisSensorEntityDescription(
    key=CLOCK_KEY,
    translation_key="meter_clock",
    device_class=SensorDeviceClass.TIMESTAMP,
    entity_category=EntityCategory.DIAGNOSTIC,
    entity_registry_enabled_default=False,
    value_fn=_clock_value,
)


def _value_fn(key: str, numeric: bool) -> Callable[[Reading], StateType]:
    def value(reading: Reading) -> StateType:
        return _measurement_value(key, numeric, reading)

    return value


def _from_row(
    key: str, row: ObisRow, placeholders: Mapping[str, str]
) -> ObisSensorEntityDescription:
    numeric = row.state_class is not None or row.device_class is not None
    return ObisSensorEntityDescription(
        key=key,
        translation_key=row.translation_key,
        translation_placeholders={**row.placeholders, **placeholders} or None,
        device_class=row.device_class,
        state_class=row.state_class,
        native_unit_of_measurement=row.unit,
        suggested_unit_of_measurement=row.suggested_unit,
        suggested_display_precision=row.precision,
        entity_registry_enabled_default=row.enabled,
        entity_category=row.category,
        value_fn=_value_fn(key, numeric),
        restore=row.state_class == SensorStateClass.TOTAL_INCREASING,
    )


def _generic(
    key: str, unit: str | None, text: bool, medium: int | None = None
) -> ObisSensorEntityDescription:
    placeholders = {"obis": key}
    if text:
        return _from_row(key, text_row(GENERIC_TRANSLATION_KEY), placeholders)
    device_class, state_class = GENERIC_BY_UNIT.get(
        unit or "", (None, SensorStateClass.MEASUREMENT)
    )
    if medium is not None and (medium == 0 or medium in SUB_METER_MEDIA) and unit in VOLUME_UNITS:
        device_class = sub_meter_class(medium, unit)
    return _from_row(
        key,
        ObisRow(
            translation_key=GENERIC_TRANSLATION_KEY,
            unit=unit,
            device_class=device_class,
            state_class=state_class,
        ),
        placeholders,
    )


def _mbus(key: str, channel: str, unit: str | None, medium: int) -> ObisSensorEntityDescription:
    device_class = sub_meter_class(medium, unit)
    return _from_row(
        key,
        ObisRow(
            translation_key=MBUS_TRANSLATION_KEY,
            unit=unit,
            device_class=device_class,
            state_class=SensorStateClass.TOTAL_INCREASING,
            precision=3 if unit in VOLUME_UNITS else None,
        ),
        {"channel": channel},
    )


def describe(
    key: str, unit: str | None = None, value: object = None
) -> ObisSensorEntityDescription:
    """Describe the sensor for OBIS key "A-B:C.D.E"; unit is the Home Assistant unit if known.

    A unit that contradicts the table (a meter sending kW where the table says W) wins: the
    sensor then gets the generic description of that unit instead of a wrong scale.
    """
    if key == CLOCK_KEY:
        return CLOCK
    text = isinstance(value, str)
    obis = parse_obis(key)
    if obis is None:
        return _generic(key, unit, text)
    a, b, c, d, e = obis[:5]
    cde = f"{c}.{d}.{e}"
    total = unit is None or unit in VOLUME_UNITS or unit in ENERGY_UNITS
    if b > 0 and not text and total and (a in SUB_METER_MEDIA or (a == 0 and cde == "24.2.1")):
        # A sub-meter's total: an M-Bus channel's extended register, or any value of a meter
        # of another medium reached through channel B (IEC 62056-6-1 7.3.2).
        return _mbus(key, str(b), unit, a)
    if a == 0 and b > 0 and cde in ("96.1.0", "96.3.10"):
        row = text_row(
            "mbus_device_id" if cde == "96.1.0" else "mbus_disconnect_state",
            enabled=cde == "96.1.0",
        )
        return _from_row(key, row, {"channel": str(b)})
    table = ELECTRICITY if a == 1 else ABSTRACT if a == 0 else {}
    known = table.get(cde)
    if (
        known is None
        or (unit is not None and known.unit is not None and unit != known.unit)
        # The table expects a number; a text here is some other object under a familiar code.
        or (text and known.state_class is not None)
    ):
        return _generic(key, unit, text, a)
    return _from_row(key, known, {})


def describe_registered(key: str, restored_unit: str | None) -> ObisSensorEntityDescription:
    """Describe a sensor known from the last run, before the meter has said anything.

    The table decides for known codes; the restored unit only classes M-Bus channel values and
    codes the table does not know, exactly as the meter's unit did when they were first seen.
    """
    known = describe(key)
    if known.translation_key in (MBUS_TRANSLATION_KEY, GENERIC_TRANSLATION_KEY):
        return describe(key, restored_unit)
    return known
