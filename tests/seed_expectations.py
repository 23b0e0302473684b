"""What the seed tool would output for a shared vector, computed from its sidecar alone.

An oracle independent of the code under test: its own copy of the register map written from
protocol-notes §7.2, exact decimal arithmetic to recover raw counts, and payloads assembled as
text rather than through json.dumps.
"""

from __future__ import annotations

from dataclasses import dataclass
import datetime as dt
from decimal import Decimal
import json
from pathlib import Path
import re
from typing import Any

import pytest

VECTORS = Path(__file__).resolve().parents[2] / "shared" / "vectors"

# C.D.E: (identifier, logger name, unit), protocol-notes §7.2.
REGISTERS: dict[str, tuple[str, str, str]] = {
    "1.7.0": ("ACTIVE_POWER_P", "Active Power +", "W"),
    "2.7.0": ("ACTIVE_POWER_N", "Active Power -", "W"),
    "3.7.0": ("REACTIVE_POWER_P", "Reactive Power +", "VA"),
    "4.7.0": ("REACTIVE_POWER_N", "Reactive Power -", "VA"),
    "21.7.0": ("ACTIVE_POWER_P_L1", "Active Power L1 +", "W"),
    "41.7.0": ("ACTIVE_POWER_P_L2", "Active Power L2 +", "W"),
    "61.7.0": ("ACTIVE_POWER_P_L3", "Active Power L3 +", "W"),
    "22.7.0": ("ACTIVE_POWER_N_L1", "Active Power L1 -", "W"),
    "42.7.0": ("ACTIVE_POWER_N_L2", "Active Power L2 -", "W"),
    "62.7.0": ("ACTIVE_POWER_N_L3", "Active Power L3 -", "W"),
    "23.7.0": ("REACTIVE_POWER_P_L1", "Reactive Power L1 +", "VA"),
    "43.7.0": ("REACTIVE_POWER_P_L2", "Reactive Power L2 +", "VA"),
    "63.7.0": ("REACTIVE_POWER_P_L3", "Reactive Power L3 +", "VA"),
    "24.7.0": ("REACTIVE_POWER_N_L1", "Reactive Power L1 -", "VA"),
    "44.7.0": ("REACTIVE_POWER_N_L2", "Reactive Power L2 -", "VA"),
    "64.7.0": ("REACTIVE_POWER_N_L3", "Reactive Power L3 -", "VA"),
    "31.7.0": ("CURRENT_L1", "Current L1", "A"),
    "51.7.0": ("CURRENT_L2", "Current L2", "A"),
    "71.7.0": ("CURRENT_L3", "Current L3", "A"),
    "32.7.0": ("VOLTAGE_L1", "Voltage L1", "V"),
    "52.7.0": ("VOLTAGE_L2", "Voltage L2", "V"),
    "72.7.0": ("VOLTAGE_L3", "Voltage L3", "V"),
    "13.7.0": ("POWER_FACTOR", "Power Factor", ""),
    "33.7.0": ("POWER_FACTOR_L1", "Power Factor L1", ""),
    "53.7.0": ("POWER_FACTOR_L2", "Power Factor L2", ""),
    "73.7.0": ("POWER_FACTOR_L3", "Power Factor L3", ""),
    "14.7.0": ("NET_FREQUENCY", "Net Frequency any Phase", "Hz"),
    "81.7.40": ("ANGLE_UI_L1", "Angle U-I L1", "rad"),
    "81.7.51": ("ANGLE_UI_L2", "Angle U-I L2", "rad"),
    "81.7.62": ("ANGLE_UI_L3", "Angle U-I L3", "rad"),
    "1.8.0": ("ACTIVE_ENERGY_P", "Active Energy +", "Wh"),
    "1.8.1": ("ACTIVE_ENERGY_P_T1", "Active Energy + Tariff 1", "Wh"),
    "1.8.2": ("ACTIVE_ENERGY_P_T2", "Active Energy + Tariff 2", "Wh"),
    "2.8.0": ("ACTIVE_ENERGY_N", "Active Energy -", "Wh"),
    "2.8.1": ("ACTIVE_ENERGY_N_T1", "Active Energy - Tariff 1", "Wh"),
    "2.8.2": ("ACTIVE_ENERGY_N_T2", "Active Energy - Tariff 2", "Wh"),
    "21.8.0": ("ACTIVE_ENERGY_P_L1", "Active Energy L1 +", "Wh"),
    "41.8.0": ("ACTIVE_ENERGY_P_L2", "Active Energy L2 +", "Wh"),
    "61.8.0": ("ACTIVE_ENERGY_P_L3", "Active Energy L3 +", "Wh"),
    "22.8.0": ("ACTIVE_ENERGY_N_L1", "Active Energy L1 -", "Wh"),
    "42.8.0": ("ACTIVE_ENERGY_N_L2", "Active Energy L2 -", "Wh"),
    "62.8.0": ("ACTIVE_ENERGY_N_L3", "Active Energy L3 -", "Wh"),
    "3.8.0": ("REACTIVE_ENERGY_P", "Reactive Energy +", "VAh"),
    "3.8.1": ("REACTIVE_ENERGY_P_T1", "Reactive Energy + Tariff 1", "VAh"),
    "3.8.2": ("REACTIVE_ENERGY_P_T2", "Reactive Energy + Tariff 2", "VAh"),
    "4.8.0": ("REACTIVE_ENERGY_N", "Reactive Energy -", "VAh"),
    "4.8.1": ("REACTIVE_ENERGY_N_T1", "Reactive Energy - Tariff 1", "VAh"),
    "4.8.2": ("REACTIVE_ENERGY_N_T2", "Reactive Energy - Tariff 2", "VAh"),
    "5.8.0": ("REACTIVE_ENERGY_Q1", "Reactive Energy +Ri Q1", "VAh"),
    "5.8.1": ("REACTIVE_ENERGY_Q1_T1", "Reactive Energy +Ri Q1 Tariff 1", "VAh"),
    "5.8.2": ("REACTIVE_ENERGY_Q1_T2", "Reactive Energy +Ri Q1 Tariff 2", "VAh"),
    "6.8.0": ("REACTIVE_ENERGY_Q2", "Reactive Energy +Rc Q2", "VAh"),
    "6.8.1": ("REACTIVE_ENERGY_Q2_T1", "Reactive Energy +Rc Q2 Tariff 1", "VAh"),
    "6.8.2": ("REACTIVE_ENERGY_Q2_T2", "Reactive Energy +Rc Q2 Tariff 2", "VAh"),
    "7.8.0": ("REACTIVE_ENERGY_Q3", "Reactive Energy -Ri Q3", "VAh"),
    "7.8.1": ("REACTIVE_ENERGY_Q3_T1", "Reactive Energy -Ri Q3 Tariff 1", "VAh"),
    "7.8.2": ("REACTIVE_ENERGY_Q3_T2", "Reactive Energy -Ri Q3 Tariff 2", "VAh"),
    "8.8.0": ("REACTIVE_ENERGY_Q4", "Reactive Energy -Rc Q4", "VAh"),
    "8.8.1": ("REACTIVE_ENERGY_Q4_T1", "Reactive Energy -Rc Q4 Tariff 1", "VAh"),
    "8.8.2": ("REACTIVE_ENERGY_Q4_T2", "Reactive Energy -Rc Q4 Tariff 2", "VAh"),
}
_CURRENTS = ("31.7.0", "51.7.0", "71.7.0")
_VOLTAGES = ("32.7.0", "52.7.0", "72.7.0")
DEFAULT_SCALING: dict[str, Decimal] = {
    **dict.fromkeys(_CURRENTS, Decimal("0.01")),
    **dict.fromkeys(("13.7.0", "33.7.0", "53.7.0", "73.7.0"), Decimal("0.001")),
}
PROFILE_SCALING: dict[str, dict[str, Decimal]] = {
    "lge570": dict.fromkeys(_CURRENTS, Decimal(1)),
    "lge360": dict.fromkeys(_VOLTAGES, Decimal("0.1")),
    "iskraam550": dict.fromkeys(_VOLTAGES, Decimal("0.1")),
}
_SOURCE_CODE = re.compile(r"^(\d+-\d+:42\.0\.0|0-\d+:96\.1\.\d|1-\d+:0\.0\.\d)$")


@dataclass(frozen=True)
class Vector:
    """One shared capture with its sidecar."""

    name: str
    sidecar: dict[str, Any]

    @property
    def profile(self) -> str:
        return str(self.sidecar["profile"])

    def data(self) -> bytes:
        return bytes.fromhex("".join((VECTORS / f"{self.name}.hex").read_text().split()))


def reading_vectors() -> list[Any]:
    """Vectors with a reading, as pytest params; one skipped param when the folder is absent."""
    if not VECTORS.is_dir():
        return [
            pytest.param(None, marks=pytest.mark.skip(reason=f"no shared vectors at {VECTORS}"))
        ]
    params = []
    for path in sorted(VECTORS.glob("*.json")):
        sidecar = json.loads(path.read_text())
        if sidecar["must_reject"] or not sidecar["readings"]:
            continue
        params.append(pytest.param(Vector(path.stem, sidecar), id=path.stem))
    return params


def decode(vector: Vector) -> Any:
    """Decode a vector with the real decoder (meter times read as UTC); return the last reading."""
    dlms = pytest.importorskip(
        "custom_components.smartmeter_datacollector.dlms",
        reason="decoder not available yet",
    )
    if not hasattr(dlms, "MeterDecoder"):
        pytest.skip("MeterDecoder not available yet")
    sidecar = vector.sidecar
    decoder = dlms.MeterDecoder(
        vector.profile, key=sidecar["key"], auth_key=sidecar["auth_key"], tz=dt.UTC
    )
    readings = decoder.feed(vector.data())
    assert len(readings) == sidecar["readings"]
    return readings[-1]


@dataclass(frozen=True)
class SeedLine:
    """One value the seed outputs."""

    obis: str
    cde: str
    identifier: str
    name: str
    unit: str
    value: float


def _seed_float(value: float, scaling: Decimal) -> float:
    if scaling == 1:
        return float(value)
    raw = Decimal(str(value)) / scaling
    if raw == raw.to_integral_value():
        return float(int(raw)) * float(scaling)
    return float(value)


def expected_lines(vector: Vector) -> list[SeedLine]:
    """The values the seed outputs for a vector, in payload order, first per C.D.E."""
    overrides = PROFILE_SCALING.get(vector.profile, {})
    lines: list[SeedLine] = []
    seen: set[str] = set()
    for obis, item in vector.sidecar["values"].items():
        cde = obis.split(":")[1]
        if cde not in REGISTERS or cde in seen or isinstance(item["value"], str):
            continue
        seen.add(cde)
        scaling = overrides.get(cde, DEFAULT_SCALING.get(cde, Decimal(1)))
        identifier, name, unit = REGISTERS[cde]
        lines.append(
            SeedLine(obis, cde, identifier, name, unit, _seed_float(item["value"], scaling))
        )
    return lines


def expected_source(vector: Vector, fallback: str) -> str:
    """The seed's meter id: the first identifier object in payload order, else the id the
    message carries without an OBIS code (sidecar `meter_id`), else the fallback."""
    for obis, item in vector.sidecar["values"].items():
        if _SOURCE_CODE.match(obis) and item["value"] not in ("", None):
            return str(item["value"])
    return vector.sidecar["meter_id"] or fallback


def expected_time(vector: Vector) -> dt.datetime | None:
    """The reading's time in UTC (naive meter times were decoded as UTC); None: host time."""
    stamp = vector.sidecar["timestamp"]
    if stamp is None:
        return None
    when = dt.datetime.fromisoformat(stamp)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC)


def per_value(
    vector: Vector, when: dt.datetime, fallback: str, prefix: str = "smartmeter"
) -> list[tuple[str, bytes]]:
    """The seed's `mqtt` sink messages for a vector."""
    source = expected_source(vector, fallback)
    epoch = int(when.timestamp())
    return [
        (
            f"{prefix}/{source}/{line.identifier}",
            f'{{"value": {line.value!r}, "timestamp": {epoch}, "obis": "{line.cde}"}}'.encode(),
        )
        for line in expected_lines(vector)
    ]


def bundle(
    vector: Vector, when: dt.datetime, fallback: str, group: str = "building"
) -> list[tuple[str, bytes]]:
    """The seed's `mqttrldsp` sink message for a vector (none without values)."""
    lines = expected_lines(vector)
    if not lines:
        return []
    source = expected_source(vector, fallback)
    stamp = when.astimezone(dt.UTC)
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%S")
    if stamp.microsecond:
        iso += f".{stamp.microsecond:06d}"
    fields = ", ".join(
        [f'"ts": "{iso}+00:00"', *(f'"{line.cde}": {line.value!r}' for line in lines)]
    )
    return [(f"dt/{group}/{source}/ds", f'{{"meter": {{{fields}}}}}'.encode())]


def log_record(vector: Vector, when: dt.datetime, fallback: str) -> str:
    """The seed's logger record for a vector (§7.5)."""
    stamp = when.astimezone(dt.UTC)
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%S") + (
        f".{stamp.microsecond:06d}" if stamp.microsecond else ""
    )
    header = f"{expected_source(vector, fallback)} - {iso}+00:00:"
    body = [
        f"  {line.name} - {line.obis}*255: {line.value!r} {line.unit}"
        for line in expected_lines(vector)
    ]
    return "\n".join([header, *body])
