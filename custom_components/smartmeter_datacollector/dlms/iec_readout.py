"""IEC 62056-21 mode C readouts (Siemens TD-3511): ASCII data lines to a Reading.

A readout is `/ident CR LF STX data-lines ! CR LF ETX BCC` (IEC 62056-21 6.3); the data lines look
like `1.8.0(31550.191*kWh)`. Only codes in the map below become values, as in the seed tool: the
meter's other lines (status words, error registers, edited codes) are not physical readings.
Units with a k prefix are converted to base units so consumers see what DLMS meters send.

Nothing in a readout is trusted until all of it checks out: the block check character when the
readout comes framed (STX ... ETX BCC, clause 6.3.2), and the syntax of every line (clause 6.5
data sets; a mapped register must hold a number with a known unit, date and time must be real).
One bad line rejects the whole readout: a reading with a value missing or garbled would be
wrong, not merely late. Text without STX/ETX (what the session hands on after checking each
block's BCC itself) can only be checked line by line.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from decimal import Decimal, InvalidOperation
import re

from .models import DecoderStats, Measurement, Reading

# IEC 62056-21 6.3 control characters: the one home of these bytes (the session and the
# development encoders import them from here).
SOH, STX, ETX, EOT, ACK, NAK = 0x01, 0x02, 0x03, 0x04, 0x06, 0x15
_LF = 0x0A
_END_OF_DATA = "!"
# Clause 6.3.2 identification message: "/", manufacturer (3 letters), baud rate character, ident.
_IDENTIFICATION_LINE = re.compile(r"/[A-Za-z]{3}[0-9A-Z\\][\x20-\x7e]{1,16}")
_MAX_LINE = 256
_MAX_LINES = 512
# Clause 6.5: address (OBIS value groups, optionally A-B: and *F), then one or more "(value*unit)".
_LINE = re.compile(
    r"(?P<code>(?:\d{1,3}-\d{1,3}:)?(?:\d{1,3}|[A-Z])(?:\.(?:\d{1,3}|[A-Z])){1,2}(?:\*\d{1,3})?)"
    r"\((?P<value>[\x20\x22-\x27\x2b-\x2e\x30-\x7e]{0,128})(?:\*(?P<unit>[A-Za-z]{1,8}))?\)"
    r"(?:\([\x20\x22-\x27\x2b-\x2e\x30-\x7e]{0,128}(?:\*[A-Za-z]{1,8})?\))*"
)
_NUMBER = re.compile(r"-?\d{1,15}(?:\.\d{1,9})?")
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
_METER_ID = re.compile(r"[0-9A-Za-z\-]{1,32}")
_TIME, _DATE = "0.9.1", "0.9.2"


def _normalise_code(code: str) -> str:
    """Expand two-part codes ("32.7" to "32.7.0"); drop an A-B: prefix and a *F suffix."""
    code = code.rsplit(":", maxsplit=1)[-1].split("*", maxsplit=1)[0]
    parts = code.split(".")
    while len(parts) < 3:
        parts.append("0")
    return ".".join(parts[:3])


def _measurement(value: str, unit: str) -> Measurement | None:
    """A mapped register's value in base units; None when it is not a number with a known unit."""
    if not _NUMBER.fullmatch(value) or unit.lower() not in _UNITS:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None
    base_unit, factor = _UNITS[unit.lower()]
    scaled = number * factor
    return Measurement(
        int(scaled) if scaled == scaled.to_integral_value() else float(scaled), base_unit
    )


class _Readout:
    """The lines of one readout so far, interpreted as they arrive."""

    def __init__(self) -> None:
        self.values: dict[str, Measurement] = {}
        self.meter_id: str | None = None
        self.time_text: str | None = None
        self.date_text: str | None = None
        self.lines: list[str] = []
        self.bad = False

    def add(self, text: str) -> None:
        """Interpret one data line; any line that does not check out spoils the readout."""
        match = _LINE.fullmatch(text)
        if match is None or len(self.lines) >= _MAX_LINES:
            self.bad = True
            return
        self.lines.append(text)
        code = _normalise_code(match["code"])
        value, unit = match["value"], match["unit"] or ""
        if code in _METER_ID_CODES:
            if not _METER_ID.fullmatch(value):
                self.bad = True
            self.meter_id = self.meter_id or value
        elif code == _TIME:
            self.time_text = self.time_text or value
        elif code == _DATE:
            self.date_text = self.date_text or value
        elif code in _MAPPED:
            key = f"1-0:{code}"
            measurement = _measurement(value, unit)
            if measurement is None or key in self.values:
                self.bad = True
            else:
                self.values[key] = measurement

    def reading(self, zone: tzinfo | None) -> Reading | None:
        # The meter number opens every readout of these meters: without it, the first line was
        # lost and what follows may belong to another readout.
        if self.bad or self.meter_id is None or not (self.values or self.time_text):
            return None
        timestamp = None
        if self.date_text or self.time_text:
            try:
                # The meter's wall time; the zone is the caller's, attached below.
                naive = datetime.strptime(  # noqa: DTZ007
                    f"{self.date_text} {self.time_text}", "%y-%m-%d %H:%M:%S"
                )
            except ValueError:
                return None
            timestamp = naive if zone is None else naive.replace(tzinfo=zone)
        return Reading(meter_id=self.meter_id, timestamp=timestamp, values=self.values)


class ReadoutParser:
    """Collects data lines until the end-of-data line, then emits one reading if it checks out."""

    def __init__(self, local_zone: tzinfo | None, stats: DecoderStats) -> None:
        """Start outside any readout."""
        self._zone = local_zone
        self._stats = stats
        self._line = bytearray()
        self._readout: _Readout | None = None
        self._framed = False  # inside STX ... ETX
        self._bcc = 0
        self._await_bcc = False
        self._finished: _Readout | None = None  # "!" seen in a framed readout: waiting for BCC
        self._garbage = False  # a bad line since the last readout ended: the next one is suspect
        # A meter that frames its readouts (STX ... ETX BCC) always does: once one block checked
        # out, text without STX is a block whose STX was lost (damaged, or taken for the BCC of
        # a block cut short before it), and it is trusted only if ETX and a BCC over every byte
        # since the last block ended follow.
        self._meter_frames = False
        self._unframed_bcc = 0
        self.last_readout = b""

    @property
    def buffered(self) -> int:
        """Bytes of an unfinished line."""
        return len(self._line)

    def feed(self, data: bytes) -> list[Reading]:
        """Parse what arrived; returns the readings of readouts that checked out."""
        readings: list[Reading] = []
        for byte in data:
            if self._await_bcc:
                self._await_bcc = False
                self._end_block(byte == self._bcc, readings)
                continue
            if self._finished is not None and byte != ETX:
                # ETX must follow the end-of-data line at once (clause 6.3.3): this STX was noise.
                self._finished = None
                self._framed = False
                self._stats.dropped_messages += 1
            if self._framed:
                self._bcc ^= byte
            else:
                self._unframed_bcc ^= byte
            if byte == STX:
                self._start(framed=True)
            elif byte == ETX and self._framed:
                self._await_bcc = True
            elif byte == _LF:
                self._on_line(readings)
            elif len(self._line) < _MAX_LINE:
                self._line.append(byte)
            else:
                self._stats.bytes_discarded += 1
                self._spoil()
        return readings

    def _start(self, *, framed: bool) -> None:
        """A new readout begins; an unfinished one before it is dropped."""
        if self._readout is not None and self._readout.lines:
            self._stats.dropped_messages += 1
        self._readout = _Readout()
        self._finished = None
        self._framed = framed
        self._bcc = 0
        self._unframed_bcc = 0
        self._garbage = False
        self._line.clear()

    def _spoil(self) -> None:
        if self._readout is not None:
            self._readout.bad = True
        else:
            self._garbage = True

    def _on_line(self, readings: list[Reading]) -> None:
        raw = bytes(self._line)
        self._line.clear()
        text = raw.rstrip(b"\r").decode("ascii", "replace")
        if not text:
            return
        if _IDENTIFICATION_LINE.fullmatch(text):
            # The identification message precedes the data block (clause 6.3.2).
            if self._readout is not None and self._readout.lines:
                self._stats.dropped_messages += 1
            self._readout = None
            self._garbage = False
            return
        if text == _END_OF_DATA:
            self._end_of_data(readings)
            return
        if self._readout is None:
            if _LINE.fullmatch(text) is None:
                # Outside any readout: noise, but it may have eaten the next readout's first line.
                self._stats.bytes_discarded += len(raw) + 1
                self._garbage = True
                return
            self._readout = _Readout()
            self._readout.bad = self._garbage
        elif _normalise_code(text.split("(", 1)[0]) in _METER_ID_CODES and self._readout.lines:
            # The meter number opens a readout: the lines before it were a readout cut short.
            self._start(framed=self._framed)
        self._readout.add(text)
        if self._readout.bad:
            self._stats.bytes_discarded += len(raw) + 1

    def _end_of_data(self, readings: list[Reading]) -> None:
        readout, self._readout = self._readout, None
        if readout is None:
            return
        if self._framed:
            self._finished = readout  # trusted only once ETX and a matching BCC follow
            return
        if self._meter_frames:
            self._finished = readout
            self._framed = True
            self._bcc = self._unframed_bcc
            return
        self._emit(readout, readings)

    def _end_block(self, bcc_ok: bool, readings: list[Reading]) -> None:
        finished, self._finished = self._finished, None
        self._framed = False
        self._unframed_bcc = 0
        if not bcc_ok:
            self._stats.crc_errors += 1
            if finished is not None or self._readout is not None:
                self._stats.dropped_messages += 1
            self._readout = None
            return
        if finished is not None:
            self._meter_frames = True
            self._emit(finished, readings)

    def _emit(self, readout: _Readout, readings: list[Reading]) -> None:
        self._garbage = False
        reading = readout.reading(self._zone)
        if reading is None:
            self._stats.dropped_messages += 1
            return
        self.last_readout = "\r\n".join(readout.lines).encode()
        readings.append(reading)
