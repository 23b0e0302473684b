"""The seed tool's output format (smartmeter-datacollector 2.0.0), byte for byte.

Users feed Telegraf, InfluxDB or openHAB from the seed's MQTT topics and logger lines; switching
to this integration must not touch those pipelines. Everything here is pure: readings in, topics,
payloads and log text out (protocol-notes §7.2-§7.5).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
import json
import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ..dlms.models import Reading

DEFAULT_TOPIC_PREFIX = "smartmeter"
DEFAULT_TOPIC_GROUP = "building"
# The seed gives up waiting for an identifier object after this many messages (§7.3).
SOURCE_WAIT_MESSAGES = 3


@dataclass(frozen=True, slots=True)
class SeedRegister:
    """One row of the seed's register map: how a C.D.E code is named and scaled."""

    identifier: str
    name: str
    unit: str
    scaling: float = 1.0


def _register_map() -> dict[str, SeedRegister]:
    """Build the seed's default register map (§7.2), keyed by C.D.E."""
    rows: dict[str, SeedRegister] = {}

    def add(cde: str, identifier: str, name: str, unit: str, scaling: float = 1.0) -> None:
        rows[cde] = SeedRegister(identifier, name, unit, scaling)

    for sign, suffix in (("+", "P"), ("-", "N")):
        c = 1 if suffix == "P" else 2
        add(f"{c}.7.0", f"ACTIVE_POWER_{suffix}", f"Active Power {sign}", "W")
        add(f"{c + 2}.7.0", f"REACTIVE_POWER_{suffix}", f"Reactive Power {sign}", "VA")
        for e, tariff in ((0, ""), (1, "_T1"), (2, "_T2")):
            label = f" Tariff {e}" if e else ""
            add(
                f"{c}.8.{e}",
                f"ACTIVE_ENERGY_{suffix}{tariff}",
                f"Active Energy {sign}{label}",
                "Wh",
            )
            add(
                f"{c + 2}.8.{e}",
                f"REACTIVE_ENERGY_{suffix}{tariff}",
                f"Reactive Energy {sign}{label}",
                "VAh",
            )
    # Per phase, C = 20 * phase + quantity; the seed names the phase before the sign.
    for phase in (1, 2, 3):
        base, ph = 20 * phase, f"L{phase}"
        add(f"{base + 1}.7.0", f"ACTIVE_POWER_P_{ph}", f"Active Power {ph} +", "W")
        add(f"{base + 2}.7.0", f"ACTIVE_POWER_N_{ph}", f"Active Power {ph} -", "W")
        add(f"{base + 3}.7.0", f"REACTIVE_POWER_P_{ph}", f"Reactive Power {ph} +", "VA")
        add(f"{base + 4}.7.0", f"REACTIVE_POWER_N_{ph}", f"Reactive Power {ph} -", "VA")
        add(f"{base + 11}.7.0", f"CURRENT_{ph}", f"Current {ph}", "A", 0.01)
        add(f"{base + 12}.7.0", f"VOLTAGE_{ph}", f"Voltage {ph}", "V")
        add(f"{base + 13}.7.0", f"POWER_FACTOR_{ph}", f"Power Factor {ph}", "", 0.001)
        add(f"{base + 1}.8.0", f"ACTIVE_ENERGY_P_{ph}", f"Active Energy {ph} +", "Wh")
        add(f"{base + 2}.8.0", f"ACTIVE_ENERGY_N_{ph}", f"Active Energy {ph} -", "Wh")
        # Angle U(Lx)-I(Lx): E = 10 * a + b with a = phase + 3 (current), b = phase - 1 (voltage).
        angle_e = 10 * (phase + 3) + (phase - 1)
        # The seed labels the raw angle "rad" but never converts it (§7.2).
        add(f"81.7.{angle_e}", f"ANGLE_UI_{ph}", f"Angle U-I {ph}", "rad")
    add("13.7.0", "POWER_FACTOR", "Power Factor", "", 0.001)
    add("14.7.0", "NET_FREQUENCY", "Net Frequency any Phase", "Hz")
    for c, quadrant, label in ((5, 1, "+Ri"), (6, 2, "+Rc"), (7, 3, "-Ri"), (8, 4, "-Rc")):
        for e, tariff in ((0, ""), (1, "_T1"), (2, "_T2")):
            add(
                f"{c}.8.{e}",
                f"REACTIVE_ENERGY_Q{quadrant}{tariff}",
                f"Reactive Energy {label} Q{quadrant}" + (f" Tariff {e}" if e else ""),
                "VAh",
            )
    return rows


SEED_REGISTERS: Mapping[str, SeedRegister] = _register_map()

# Per-meter scaling overrides of the seed's readers; other profiles use the default map.
_SCALING_OVERRIDES: Mapping[str, Mapping[str, float]] = {
    "lge570": dict.fromkeys(("31.7.0", "51.7.0", "71.7.0"), 1.0),
    "lge360": dict.fromkeys(("32.7.0", "52.7.0", "72.7.0"), 0.1),
    "iskraam550": dict.fromkeys(("32.7.0", "52.7.0", "72.7.0"), 0.1),
}


@dataclass(frozen=True, slots=True)
class SeedValue:
    """One value as the seed would output it."""

    obis: str  # "A-B:C.D.E" as received
    cde: str
    register: SeedRegister
    value: float


def seed_number(value: float, scaling: float) -> float:
    """Return the number the seed prints for a physical value: float(raw) * scaling.

    The seed multiplies the raw integer by a binary float (2347 * 0.1 = 234.70000000000002);
    the decoder already applied the scaler, so the raw count is recovered first. Values that
    are no whole multiple of the seed's step (a finer scaler from the frame) stay as they are,
    since there the seed would have been wrong anyway.
    """
    if scaling == 1.0:
        return float(value)
    raw = round(value / scaling)
    if math.isclose(raw * scaling, value, rel_tol=1e-9, abs_tol=scaling * 1e-6):
        return float(raw) * scaling
    return float(value)


def seed_values(reading: Reading, profile: str) -> list[SeedValue]:
    """Return the reading's values the seed would publish, in payload order.

    Only numeric objects whose C.D.E is in the register map count; the first object per C.D.E
    wins, whatever its A-B channel (§7.2).
    """
    overrides = _SCALING_OVERRIDES.get(profile, {})
    result: list[SeedValue] = []
    seen: set[str] = set()
    for obis, measurement in reading.values.items():
        cde = obis.partition(":")[2]
        register = SEED_REGISTERS.get(cde)
        if register is None or cde in seen:
            continue
        raw = measurement.value
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            continue
        seen.add(cde)
        scaling = overrides.get(cde, register.scaling)
        result.append(SeedValue(obis, cde, register, seed_number(raw, scaling)))
    return result


def _is_source_code(obis: str) -> bool:
    """Whether an OBIS key is one the seed takes the meter id from (§7.3)."""
    ab, _, cde = obis.partition(":")
    a, _, _b = ab.partition("-")
    parts = cde.split(".")
    if len(parts) != 3:
        return False
    c, d, e = parts
    if (c, d, e) == ("42", "0", "0"):
        return True
    single_digit = e.isdigit() and int(e) <= 9
    return single_digit and ((a, c, d) == ("0", "96", "1") or (a, c, d) == ("1", "0", "0"))


def seed_meter_id(reading: Reading) -> str | None:
    """Return the seed's meter id ("source") from a reading's identifier objects, if any."""
    for obis, measurement in reading.values.items():
        if _is_source_code(obis) and measurement.value not in ("", None):
            return str(measurement.value)
    return None


class SourceTracker:
    """The seed's sticky meter id: the first identifier seen, else the fallback after 3 messages.

    Where the identifier is no OBIS object (positional Kaifa lists, the Siemens readout, the
    Netz NÖ trailing number), the decoder's meter id stands in, as the seed's own readers for
    those formats did rather than falling back to the port. Readings that arrive before the id
    is settled are held back (at most 3) and released with it, so every topic of a run names
    the same meter.
    """

    def __init__(self, fallback: str) -> None:
        self._fallback = fallback
        self._source: str | None = None
        self._held: list[Reading] = []

    @property
    def source(self) -> str | None:
        """The settled meter id, or None while still waiting."""
        return self._source

    def resolve(self, reading: Reading) -> list[tuple[str, Reading]]:
        """Return the readings that can be output now, each with its meter id."""
        if self._source is None:
            self._source = seed_meter_id(reading) or reading.meter_id or None
            if self._source is None:
                self._held.append(reading)
                if len(self._held) < SOURCE_WAIT_MESSAGES:
                    return []
                self._source = self._fallback
            else:
                self._held.append(reading)
            held, self._held = self._held, []
            return [(self._source, item) for item in held]
        return [(self._source, reading)]


def utc_time(timestamp: datetime | None, default_tz: tzinfo, now: datetime) -> datetime:
    """Return the reading's time in UTC; naive meter times are local to `default_tz` (§5)."""
    if timestamp is None:
        return now.astimezone(UTC)
    if timestamp.tzinfo is None:
        timestamp = timestamp.replace(tzinfo=default_tz)
    return timestamp.astimezone(UTC)


def clean_topic_group(group: str) -> str:
    """Return the RL-DSP topic group; the seed keeps it only if alphanumeric after strip."""
    stripped = group.strip()
    return stripped if stripped.isalnum() else DEFAULT_TOPIC_GROUP


def per_value_messages(
    prefix: str, source: str, values: list[SeedValue], when: datetime
) -> list[tuple[str, bytes]]:
    """Return the seed's `mqtt` sink messages: one topic and JSON payload per value."""
    epoch = int(when.timestamp())
    return [
        (
            f"{prefix}/{source}/{item.register.identifier}",
            json.dumps({"value": item.value, "timestamp": epoch, "obis": item.cde}).encode(),
        )
        for item in values
    ]


def rldsp_message(
    group: str, source: str, values: list[SeedValue], when: datetime
) -> tuple[str, bytes] | None:
    """Return the seed's `mqttrldsp` sink message for one reading, or None with no values."""
    if not values:
        return None
    meter: dict[str, str | float] = {"ts": when.astimezone(UTC).isoformat()}
    for item in values:
        meter[item.cde] = item.value
    return f"dt/{clean_topic_group(group)}/{source}/ds", json.dumps({"meter": meter}).encode()


def log_text(source: str, values: list[SeedValue], when: datetime) -> str:
    """Return the seed's logger record for one reading (§7.5), without the logger prefix."""
    lines = [f"{source} - {when.astimezone(UTC).isoformat()}:"]
    lines.extend(
        f"  {item.register.name} - {item.obis}*255: {item.value} {item.register.unit}"
        for item in values
    )
    return "\n".join(lines)
