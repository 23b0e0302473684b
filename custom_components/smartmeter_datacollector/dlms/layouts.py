"""Turning a data-notification body into OBIS entries, whatever shape the meter chose.

The body is one A-XDR value whose shape is not standardised (protocol-notes §3.1, §4):
A  push-object-list first (attribute 2 of a push setup), then one value per object;
B  flat OBIS/value pairs, C  {OBIS, value[, {scaler, unit}]} structures (and both mixed);
D  positional lists without OBIS, recognised by their list identifier (Nordic HAN).
Each shape becomes the same flat list of entries in payload order.
"""

from __future__ import annotations

import re
from typing import Any

from .cosem_time import parse_date_time
from .descriptor_body import DescriptorBody
from .entries import Entry, Layout, as_text
from .gurux_adapter import Enum, Integer8
from .models import PositionalTemplate
from .obis import OBIS_LENGTH, is_plausible_obis
from .positional import positional_entries

# COSEM interface classes that matter here (Blue Book).
CLASS_REGISTER = 3
CLASS_EXTENDED_REGISTER = 4
CLASS_CLOCK = 8
CLASS_PUSH_SETUP = 40
_VALUE_ATTRIBUTE = 2
_SCALER_UNIT_ATTRIBUTE = 3
_DATE_TIME_LENGTH = 12
# "AIDON_V0001", "KFM_001", "Kamstrup_V0001": list versions, never meter numbers.
_LIST_ID = re.compile(r"^[A-Za-z]+_V?\d+$")


def _is_list(value: object) -> bool:
    return isinstance(value, list)


def _is_scaler_unit(value: object) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], Integer8)
        and isinstance(value[1], Enum)
    )


def _is_descriptor(value: object) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 4
        and isinstance(value[1], (bytes, bytearray))
        and len(value[1]) == OBIS_LENGTH
        and isinstance(value[0], int)
        and isinstance(value[2], int)
    )


def entries_from_descriptors(
    descriptors: list[tuple[int, bytes, int]], values: list[Any]
) -> list[Entry]:
    """Pair COSEM attribute descriptors (class, OBIS, attribute) with their values."""
    entries: dict[bytes, Entry] = {}
    scaler_units: dict[bytes, Any] = {}
    for (class_id, obis, attribute), value in zip(descriptors, values, strict=True):
        if class_id == CLASS_PUSH_SETUP:
            continue
        if class_id in (CLASS_REGISTER, CLASS_EXTENDED_REGISTER):
            if attribute == _SCALER_UNIT_ATTRIBUTE and _is_scaler_unit(value):
                scaler_units.setdefault(obis, value)
                continue
            if attribute != _VALUE_ATTRIBUTE:
                continue
        elif class_id == CLASS_CLOCK and attribute != _VALUE_ATTRIBUTE:
            continue
        if obis not in entries and not _is_list(value):
            entries[obis] = Entry(obis, value)
    for obis, (scaler, unit) in scaler_units.items():
        if obis in entries:
            entries[obis].scaler, entries[obis].unit = int(scaler), int(unit)
    return list(entries.values())


def _push_list_layout(body: list[Any]) -> Layout | None:
    """Shape A: the first value is the push setup's own object list."""
    objects = body[0]
    if not (_is_list(objects) and objects and all(_is_descriptor(o) for o in objects)):
        return None
    if len(objects) != len(body):
        return None
    descriptors = [(int(o[0]), bytes(o[1]), int(o[2])) for o in objects]
    return Layout(entries=entries_from_descriptors(descriptors, body))


def _walk(items: list[Any], layout: Layout) -> None:
    """Shapes B and C, mixed freely: OBIS codes followed by their value (and scaler/unit)."""
    index = 0
    count = len(items)
    while index < count:
        item = items[index]
        if index + 1 < count and is_plausible_obis(item):
            value = items[index + 1]
            if index + 2 < count and _is_scaler_unit(items[index + 2]) and not _is_list(value):
                scaler, unit = items[index + 2]
                layout.entries.append(Entry(bytes(item), value, int(scaler), int(unit)))
                index += 3
                continue
            if not _is_list(value):
                layout.entries.append(Entry(bytes(item), value))
                index += 2
                continue
        if _is_list(item):
            _walk(item, layout)
        elif (
            isinstance(item, (bytes, bytearray))
            and len(item) == _DATE_TIME_LENGTH
            and parse_date_time(item) is not None
        ):
            layout.untagged_times.append(bytes(item))
        else:
            text = as_text(item)
            if text is not None:
                layout.untagged_texts.append(text)
            elif isinstance(item, (bytes, bytearray)):
                layout.untagged_binary += 1
        index += 1


def interpret_body(body: Any, templates: tuple[PositionalTemplate, ...] = ()) -> Layout:
    """Entries of a body in payload order; an empty layout when the shape is unknown."""
    if isinstance(body, DescriptorBody):
        return Layout(entries=entries_from_descriptors(body.descriptors, body.values))
    if _is_list(body) and body:
        pushed = _push_list_layout(body)
        if pushed is not None:
            return pushed
        layout = Layout()
        _walk(body, layout)
        if layout.entries:
            layout.list_id = next((t for t in layout.untagged_texts if is_list_id(t)), None)
            return layout
        positional = positional_entries(body, templates)
        if positional is not None:
            return positional
        return layout
    return Layout()


def is_list_id(text: str) -> bool:
    """Whether an untagged text is a list version rather than a meter number."""
    return bool(_LIST_ID.match(text))
