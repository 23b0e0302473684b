"""Steady state: a meter's pushes repeat one A-XDR skeleton, so decode them from fixed offsets.

A push setup sends the same objects in the same order every time (Blue Book, class 40): only
the values change. After the full path (guard walk, gurux, layouts, readings) has decoded a
data-notification, `learn` records which bytes are skeleton (tags, lengths, counts, OBIS codes,
scalers, strings) and which are values that the Reading takes as they are (fixed-width numbers
and date-times). A later APDU whose skeleton bytes are identical, checked with one masked integer
comparison over the whole APDU, is decoded with one `struct.unpack_from` and a precompiled list
of (key, converter, unit). Anything else takes the full path, which stays the reference.

The mapping from bytes to the Reading is not written twice: `learn` finds it by running the full
path's own layout and reading code on the body with each number replaced by a unique marker, and
keeps a template only when that run and a run of the template on the learned message both give
the full path's Reading exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
import struct
from typing import Any

from . import axdr
from .apdu import DATA_NOTIFICATION, body_start
from .axdr import OCTET_STRING, AxdrError, NeedMoreDataError, decode_value
from .cosem_time import DATE_TIME_LENGTH, parse_date_time
from .entries import Entry, Layout
from .framing import Shape
from .layouts import interpret_body
from .models import Measurement, PositionalTemplate, Profile, Reading
from .obis import format_obis
from .readings import build_reading, convert, is_clock_entry, numeric_converters
from .skeleton import Leaf, leaves

# struct codes of the fixed-width numbers a Reading takes as they are (IEC 62056-6-2 tags).
_NUMBER_FORMATS = {
    axdr.DOUBLE_LONG: "i",
    axdr.DOUBLE_LONG_UNSIGNED: "I",
    axdr.LONG: "h",
    axdr.UNSIGNED: "B",
    axdr.LONG_UNSIGNED: "H",
    axdr.LONG64: "q",
    axdr.LONG64_UNSIGNED: "Q",
    axdr.FLOAT32: "f",
    axdr.FLOAT64: "d",
}
_INVOKE_ID = slice(1, 5)
_MAX_TEMPLATES = 4
# Skeleton bytes at the end of a template that let it vouch where an APDU ends (see shape).
_VOUCHING_TAIL = 4
_MAX_BACKOFF = 64
# Markers: far beyond any value a meter sends, so a marker in the output came from its leaf.
_INT_MARK = 1 << 200
_FLOAT_MARK = 2.0**600
_FLOAT_STEP = 2**20
# Scaling by any factor a meter uses keeps a marker above this; no meter value comes near it.
_MARKED = 2.0**150


def _int_marker(index: int) -> int:
    return _INT_MARK + index


def _float_marker(index: int) -> float:
    return _FLOAT_MARK * (1 + index / _FLOAT_STEP)


def _marker_index(value: object) -> int | None:
    """The leaf a marker stands for, or None for an ordinary value."""
    if type(value) is int and value >= _INT_MARK:
        return value - _INT_MARK
    if type(value) is float and value >= _FLOAT_MARK:
        return round((value / _FLOAT_MARK - 1) * _FLOAT_STEP)
    return None


def _is_marked(value: object) -> bool:
    """Whether a Reading value was computed from a marker (scaled, so no longer one)."""
    return type(value) in (int, float) and abs(value) >= _MARKED  # type: ignore[arg-type]


def _is_descriptor(parent: list[Any]) -> bool:
    """A push-object-list entry {class, OBIS, attribute, index}: skeleton, never a value."""
    return len(parent) == 4 and isinstance(parent[1], bytearray) and len(parent[1]) == 6


@dataclass(slots=True)
class _Slot:
    """A leaf's place in the body: its bytes and where gurux's decoded value sits."""

    leaf: Leaf
    parent: list[Any] | None
    index: int
    value: Any


def _flatten(body: Any, parent: list[Any] | None, index: int, out: list[_Slot]) -> None:
    """Leaves of a decoded body in payload order (the order `skeleton.leaves` finds them)."""
    if isinstance(body, list):
        for position, item in enumerate(body):
            _flatten(item, body, position, out)
    else:
        out.append(_Slot(Leaf(0, 0, 0), parent, index, body))


@dataclass(frozen=True, slots=True)
class _Number:
    """A Reading value taken from a number: op 0 as is, 1 divided by, 2 multiplied by `factor`."""

    key: str
    field: int
    op: int
    factor: int | float
    unit: str | None


class Template:
    """One learned skeleton and how its values become a Reading."""

    __slots__ = (
        "_base",
        "_fields",
        "_numbers",
        "_times",
        "_zone",
        "expected",
        "length",
        "manufacturer",
        "mask",
        "meter_id",
        "proven",
        "system_title",
        "title_hex",
    )

    def __init__(  # noqa: PLR0913, PLR0917  # all parts of one learned template
        self,
        apdu: bytes,
        variable: list[tuple[int, int, str]],
        numbers: list[_Number],
        times: list[tuple[int, datetime | None]],
        reference: Reading,
        system_title: bytes | None,
        zone: tzinfo | None,
    ) -> None:
        """`variable`: (offset, size, struct code) of each byte range that may differ."""
        self.length = len(apdu)
        mask = bytearray(b"\xff" * len(apdu))
        mask[_INVOKE_ID] = bytes(4)
        layout = ">"
        cursor = 0
        for offset, size, code in sorted(variable):
            mask[offset : offset + size] = bytes(size)
            layout += f"{offset - cursor}x{code}"
            cursor = offset + size
        self.mask = int.from_bytes(mask, "big")
        self.expected = int.from_bytes(apdu, "big") & self.mask
        self._fields = struct.Struct(layout)
        self._numbers = numbers
        self._times = times
        self._base = dict(reference.values)
        self._zone = zone
        self.meter_id = reference.meter_id
        self.manufacturer = reference.manufacturer
        self.system_title = system_title
        self.title_hex = reference.system_title
        self.proven = False  # a later message matched it: the meter's own skeleton

    @property
    def skeleton_tail(self) -> bool:
        """Whether the APDU's last bytes are skeleton (tags, OBIS codes, scaler-units), not values.

        A message cut short inside a value and completed by foreign bytes matches such a
        template only if those bytes repeat the skeleton tail exactly (1 in 2^32 for random ones).
        """
        tail = (1 << (8 * _VOUCHING_TAIL)) - 1
        return self.length >= _VOUCHING_TAIL and self.mask & tail == tail

    def matches(self, apdu: bytes, system_title: bytes | None) -> bool:
        """Whether every skeleton byte equals the learned one (exact, whatever the values)."""
        return (
            len(apdu) == self.length
            and system_title == self.system_title
            and int.from_bytes(apdu, "big") & self.mask == self.expected
        )

    def reading(self, apdu: bytes) -> Reading | None:
        """The Reading of a matching APDU; None when a date-time would change its role."""
        fields = self._fields.unpack_from(apdu)
        timestamp = None
        zone = self._zone
        for field, constant in self._times:
            if field < 0:
                moment = constant
            else:
                moment = parse_date_time(fields[field], zone)
                if moment is None:
                    # An unparsable date-time reads as text in the full path: let it decide.
                    return None
            if timestamp is None:
                timestamp = moment
        values = self._base.copy()
        for number in self._numbers:
            raw = fields[number.field]
            if number.op == 1:
                raw = raw / number.factor
            elif number.op == 2:
                raw = raw * number.factor
            values[number.key] = Measurement(raw, number.unit)
        return Reading(
            meter_id=self.meter_id,
            timestamp=timestamp,
            values=values,
            manufacturer=self.manufacturer,
            system_title=self.title_hex,
        )


def _interpret(
    body: Any,
    header_time: bytes | None,
    context: tuple[bytes | None, Profile, tzinfo | None, tuple[PositionalTemplate, ...]],
) -> tuple[Layout, Reading | None]:
    system_title, profile, zone, templates = context
    layout = interpret_body(body, templates)
    return layout, build_reading(layout, header_time, system_title, profile, zone)


def _producers(layout: Layout, reading: Reading) -> dict[int, Entry] | None:
    """Marked leaves whose number became a Reading value, by leaf; None when ambiguous."""
    producers: dict[int, Entry] = {}
    for key, measurement in reading.values.items():
        if not _is_marked(measurement.value):
            continue
        marked = [
            entry
            for entry in layout.entries
            if _marker_index(entry.value) is not None and format_obis(entry.obis) == key
        ]
        if len(marked) != 1:
            return None
        index = _marker_index(marked[0].value)
        assert index is not None  # noqa: S101  # filtered above
        producers[index] = marked[0]
    return producers


def learn(  # one linear recipe with many ways to refuse
    apdu: bytes,
    system_title: bytes | None,
    reference: Reading,
    context: tuple[Profile, tzinfo | None, tuple[PositionalTemplate, ...]],
) -> Template | None:
    """A template for APDUs shaped like `apdu`, whose full-path Reading was `reference`."""
    profile, zone, templates = context
    full_context = (system_title, profile, zone, templates)
    if not apdu or apdu[0] != DATA_NOTIFICATION:
        return None
    try:
        first, header_time = body_start(apdu, 0)
        found, end = leaves(apdu, first)
        body, _ = decode_value(apdu, first)
    except (AxdrError, NeedMoreDataError):
        return None
    if end != len(apdu) or not isinstance(body, list):
        return None
    slots: list[_Slot] = []
    _flatten(body, None, 0, slots)
    if len(slots) != len(found):
        return None
    for slot, leaf in zip(slots, found, strict=True):
        slot.leaf = leaf
    layout, reading = _interpret(body, header_time, full_context)
    if reading != reference:
        return None
    # Pass 1: mark every number; keep those that became a Reading value on their own.
    for position, slot in enumerate(slots):
        code = _NUMBER_FORMATS.get(slot.leaf.tag)
        if (
            code is None
            or not isinstance(slot.value, (int, float))
            or isinstance(slot.value, bool)
            or slot.parent is None
            or _is_descriptor(slot.parent)
        ):
            continue
        marker = _float_marker(position) if code in "fd" else _int_marker(position)
        slot.parent[slot.index] = marker
    marked_layout, marked_reading = _interpret(body, header_time, full_context)
    for slot in slots:
        if slot.parent is not None:
            slot.parent[slot.index] = slot.value
    if marked_reading is None:
        return None
    producers = _producers(marked_layout, marked_reading)
    if producers is None:
        return None
    # Pass 2: only the producers stay marked; everything else must come out as the reference.
    for position in producers:
        slot = slots[position]
        assert slot.parent is not None  # noqa: S101  # only leaves inside a list were marked
        code = _NUMBER_FORMATS[slot.leaf.tag]
        slot.parent[slot.index] = _float_marker(position) if code in "fd" else _int_marker(position)
    marked_layout, marked_reading = _interpret(body, header_time, full_context)
    if marked_reading is None or not _same_shape(layout, marked_layout, reference, marked_reading):
        return None
    variable: list[tuple[int, int, str]] = []
    numbers: list[_Number] = []
    for position, entry in producers.items():
        leaf = slots[position].leaf
        key = format_obis(entry.obis)
        number = _number(entry, key, len(variable), marked_reading, profile)
        if number is None:
            return None
        variable.append((leaf.offset, leaf.size, _NUMBER_FORMATS[leaf.tag]))
        numbers.append(number)
    times = _times(header_time, first, slots, marked_layout, zone, variable)
    if times is None:
        return None
    # Fields are unpacked in offset order: renumber the numbers and times to that order.
    order = {offset: field for field, (offset, _, _) in enumerate(sorted(variable))}
    offsets = [offset for offset, _, _ in variable]
    numbers = [_Number(n.key, order[offsets[n.field]], n.op, n.factor, n.unit) for n in numbers]
    times = [(order[offsets[f]] if f >= 0 else -1, c) for f, c in times]
    template = Template(apdu, variable, numbers, times, reference, system_title, zone)
    if template.reading(apdu) != reference:
        return None
    return template


def _same_shape(layout: Layout, marked: Layout, reference: Reading, reading: Reading) -> bool:
    """Markers changed nothing but the marked values themselves."""
    if (
        len(layout.entries) != len(marked.entries)
        or layout.untagged_times != marked.untagged_times
        or layout.untagged_texts != marked.untagged_texts
        or layout.list_id != marked.list_id
        or layout.positional_meter_id != marked.positional_meter_id
    ):
        return False
    for plain, other in zip(layout.entries, marked.entries, strict=True):
        if (plain.obis, plain.scaler, plain.unit) != (other.obis, other.scaler, other.unit):
            return False
        if _marker_index(other.value) is None and plain.value != other.value:
            return False
    if (reading.meter_id, reading.timestamp, reading.manufacturer, reading.system_title) != (
        reference.meter_id,
        reference.timestamp,
        reference.manufacturer,
        reference.system_title,
    ) or list(reading.values) != list(reference.values):
        return False
    return all(
        _is_marked(reading.values[key].value) or reading.values[key] == measurement
        for key, measurement in reference.values.items()
    )


def _number(
    entry: Entry, key: str, field: int, marked: Reading, profile: Profile
) -> _Number | None:
    """Which of the full path's conversions turned the marker into the marked Reading's value."""
    measurement = marked.values[key]
    for op, factor in numeric_converters(entry, profile):
        result = convert(entry.value, (op, factor))
        if type(result) is type(measurement.value) and result == measurement.value:
            return _Number(key, field, op, factor, measurement.unit)
    return None


def _times(  # noqa: PLR0913, PLR0917  # the pieces a timestamp can come from
    header_time: bytes | None,
    first: int,
    slots: list[_Slot],
    layout: Layout,
    zone: tzinfo | None,
    variable: list[tuple[int, int, str]],
) -> list[tuple[int, datetime | None]] | None:
    """The timestamp's candidates in the full path's order: clocks, header time, untagged times.

    Each is (field, None) for a date-time read per message or (-1, its fixed value). A
    date-time that parses is read per message; one that does not stays skeleton.
    """
    times: list[tuple[int, datetime | None]] = []

    def add(offset: int, raw: bytes) -> None:
        moment = parse_date_time(raw, zone)
        if moment is None:
            times.append((-1, None))
            return
        times.append((len(variable), None))
        variable.append((offset, DATE_TIME_LENGTH, f"{DATE_TIME_LENGTH}s"))

    by_identity = {id(slot.value): slot for slot in slots if isinstance(slot.value, bytearray)}
    entry_values = {id(entry.value) for entry in layout.entries}
    for entry in layout.entries:
        if not is_clock_entry(entry):
            continue
        slot = by_identity.get(id(entry.value))
        if slot is None or slot.leaf.tag != OCTET_STRING:
            return None
        add(slot.leaf.offset, bytes(entry.value))
    if header_time is not None:
        add(first - DATE_TIME_LENGTH, header_time)
    untagged = [
        slot
        for slot in slots
        if slot.leaf.tag == OCTET_STRING
        and slot.leaf.size == DATE_TIME_LENGTH
        and id(slot.value) not in entry_values
        and parse_date_time(slot.value) is not None
    ]
    if layout.untagged_times:
        if [bytes(slot.value) for slot in untagged] != layout.untagged_times:
            return None
        for slot in untagged:
            add(slot.leaf.offset, bytes(slot.value))
    return times


class FastPath:
    """Per-decoder templates, learned from the full path and tried before it."""

    def __init__(
        self,
        profile: Profile,
        zone: tzinfo | None,
        templates: tuple[PositionalTemplate, ...],
    ) -> None:
        """One per decoder: templates belong to one meter's stream."""
        self._context = (profile, zone, templates)
        self._templates: list[Template] = []
        self._cooldown = 0
        self._backoff = 1
        self._unproven = False
        self.hits = 0
        self.learned = 0

    def decode(self, apdu: bytes, system_title: bytes | None) -> Reading | None:
        """The Reading of an APDU with a learned skeleton, else None (take the full path)."""
        templates = self._templates
        for index, template in enumerate(templates):
            if template.matches(apdu, system_title):
                reading = template.reading(apdu)
                if reading is not None:
                    self.hits += 1
                    self._backoff = 1
                    self._unproven = False
                    template.proven = True
                    if index:
                        templates.insert(0, templates.pop(index))
                return reading
        return None

    def shape(self, apdu: bytes, system_title: bytes | None) -> Shape:
        """What the learned skeletons say about a bare APDU's end (see `framing.Shape`).

        A match of a template whose last bytes are skeleton means the message was not cut
        short and completed by other bytes.
        """
        if not self._templates:
            return Shape.UNKNOWN
        found = None
        for template in self._templates:
            if template.matches(apdu, system_title):
                if template.skeleton_tail:
                    return Shape.WHOLE
                found = Shape.KNOWN
        if found is not None:
            return found
        proven = any(template.proven for template in self._templates)
        return Shape.FOREIGN if proven else Shape.UNPROVEN

    def learn(self, apdu: bytes, system_title: bytes | None, reading: Reading) -> None:
        """Learn from a message the full path decoded, unless recent learning did not pay."""
        if self._cooldown > 0:
            self._cooldown -= 1
            return
        template = None if self._unproven else learn(apdu, system_title, reading, self._context)
        if template is None:
            # Skeletons that never repeat (or cannot be templated) must not cost a learn each.
            self._cooldown = self._backoff
            self._backoff = min(self._backoff * 2, _MAX_BACKOFF)
            self._unproven = False
            return
        self.learned += 1
        self._unproven = True
        templates = self._templates
        templates.insert(0, template)
        if len(templates) > _MAX_TEMPLATES:
            # A skeleton seen once (a damaged message re-framed with valid checks, say) goes
            # before one that repeated: garbage must not evict the meter's own push list, which
            # also vouches where its bare APDUs end (`shape`). Otherwise the least recently used.
            unproven = [i for i in range(1, len(templates)) if not templates[i].proven]
            del templates[unproven[-1] if unproven else -1]
