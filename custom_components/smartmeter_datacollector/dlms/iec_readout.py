"""IEC 62056-21 mode C readouts (Siemens TD-3511): ASCII data lines to a Reading.

A readout is `/ident CR LF STX data-lines ! CR LF ETX BCC`; the data lines look like
`1.8.0(31550.191*kWh)`. Only codes in the map below become values, as in the seed tool: the
meter's other lines (status words, error registers, edited codes) are not physical readings.
Units with a k prefix are converted to base units so consumers see what DLMS meters send.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from decimal import Decimal, InvalidOperation
import re

from .models import Measurement, Reading

STX, ETX = 0x02, 0x03
_END_OF_DATA = "!"
_MAX_LINE = 256
_MAX_LINES = 512
_LINE = re.compile(r"^(?P<code>[0-9A-Za-z:.\-*]+)\((?P<value>[^()*]*)(?:\*(?P<unit>[^()]*))?\)")
_UNITS: dict[str, tuple[str, int]] = {
    "kwh": ("Wh", 1000),
    "wh": ("Wh", 1),
    "kvarh": ("varh", 1000),
    "varh": ("varh", 1),
    "kw": ("W", 1000),
    "w": ("W", 1),
    "kvar": ("var", 1000),
    "var": ("var", 1),
    "kva": ("VA", 1000),
    "va": ("VA", 1),
    "v": ("V", 1),
    "a": ("A", 1),
    "hz": ("Hz", 1),
    "deg": ("deg", 1),
}
# C.D.E codes this meter family reports (the seed's TD-3511 map plus the angle registers).
_MAPPED = frozenset(
    [f"{c}.8.{e}" for c in (1, 2, 3, 4) for e in (0, 1, 2)]
    + [f"{c}.7.0" for c in (1, 2, 3, 4, 14, 31, 32, 51, 52, 71, 72)]
    + ["81.7.4", "81.7.15", "81.7.26", "13.7.0"]
)
_METER_ID_CODES = ("0.0.0", "C.1.0")


def _normalise_code(code: str) -> str:
    """Expand two-part codes ("32.7" to "32.7.0"); drop an A-B: prefix and a *F suffix."""
    code = code.rsplit(":", maxsplit=1)[-1].split("*", maxsplit=1)[0]
    parts = code.split(".")
    while len(parts) < 3:
        parts.append("0")
    return ".".join(parts[:3])


def _number(text: str) -> Decimal | None:
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


class ReadoutParser:
    """Collects data lines until the end-of-data line, then emits one reading."""

    def __init__(self, local_zone: tzinfo | None) -> None:
        """Start with an empty readout."""
        self._zone = local_zone
        self._pending = bytearray()
        self._lines: list[re.Match[str]] = []
        self.last_readout = b""

    @property
    def buffered(self) -> int:
        """Bytes of an unfinished line."""
        return len(self._pending)

    def feed(self, data: bytes) -> tuple[list[Reading], int]:
        """Parse what arrived; returns readings and how many bytes were discarded as garbage."""
        readings: list[Reading] = []
        discarded = 0
        self._pending += data
        while (end := self._pending.find(b"\n")) >= 0:
            raw = bytes(self._pending[:end])
            del self._pending[: end + 1]
            # ETX and the block check character end a readout; the next one's STX follows them
            # on the same "line", before its first data line.
            if (etx := raw.find(ETX)) >= 0:
                raw = raw[etx + 2 :]
            if (stx := raw.find(STX)) >= 0:
                raw = raw[stx + 1 :]
            line = raw.strip(b"\r ")
            try:
                text = line.decode("ascii")
            except UnicodeDecodeError:
                discarded += len(raw) + 1
                continue
            if text.startswith(_END_OF_DATA):
                reading = self._finish()
                if reading is not None:
                    readings.append(reading)
                continue
            match = _LINE.match(text)
            if match and len(self._lines) < _MAX_LINES:
                self._lines.append(match)
            elif text and not text.startswith("/"):
                discarded += len(raw) + 1
        if len(self._pending) > _MAX_LINE:
            discarded += len(self._pending)
            self._pending.clear()
        return readings, discarded

    def _finish(self) -> Reading | None:
        lines, self._lines = self._lines, []
        self.last_readout = "\r\n".join(match.string for match in lines).encode()
        values: dict[str, Measurement] = {}
        meter_id: str | None = None
        time_text = date_text = None
        for match in lines:
            code = _normalise_code(match["code"])
            value, unit = match["value"], (match["unit"] or "").strip()
            if code in _METER_ID_CODES and meter_id is None:
                meter_id = value
            elif code == "0.9.1":
                time_text = time_text or value
            elif code == "0.9.2":
                date_text = date_text or value
            elif code in _MAPPED and f"1-0:{code}" not in values:
                measurement = self._measurement(value, unit)
                if measurement is not None:
                    values[f"1-0:{code}"] = measurement
        if meter_id is None and not values:
            return None
        return Reading(
            meter_id=meter_id,
            timestamp=self._timestamp(date_text, time_text),
            values=values,
        )

    @staticmethod
    def _measurement(value: str, unit: str) -> Measurement | None:
        number = _number(value)
        if number is None:
            return None
        base_unit, factor = _UNITS.get(unit.lower(), (unit or None, 1))
        scaled = number * factor
        return Measurement(
            int(scaled) if scaled == scaled.to_integral_value() else float(scaled), base_unit
        )

    def _timestamp(self, date_text: str | None, time_text: str | None) -> datetime | None:
        if not date_text or not time_text:
            return None
        try:
            # The meter's wall time; the zone is the caller's, attached below.
            naive = datetime.strptime(f"{date_text} {time_text}", "%y-%m-%d %H:%M:%S")  # noqa: DTZ007
        except ValueError:
            return None
        return naive if self._zone is None else naive.replace(tzinfo=self._zone)
