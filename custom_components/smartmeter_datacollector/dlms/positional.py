"""Bodies without OBIS codes: their elements get codes from a positional template."""

from __future__ import annotations

from typing import Any

from .entries import Entry, Layout, as_text
from .models import PositionalTemplate

_CLOCK = bytes((0, 0, 1, 0, 0, 0xFF))


def _obis(key: str) -> bytes:
    """Parse an OBIS key such as 1-0:31.7.0 into its 6 bytes (F = 255)."""
    medium, rest = key.split(":")
    a, b = medium.split("-")
    c, d, e = rest.split(".")
    return bytes((int(a), int(b), int(c), int(d), int(e), 0xFF))


def _matches(template: PositionalTemplate, body: list[Any]) -> bool:
    if len(template.fields) != len(body):
        return False
    if template.list_id_prefix is None:
        return True
    list_id = as_text(body[0])
    return list_id is not None and list_id.startswith(template.list_id_prefix)


def positional_entries(body: list[Any], templates: tuple[PositionalTemplate, ...]) -> Layout | None:
    """Entries for a value-only body, or None when no template fits it."""
    template = next((t for t in templates if _matches(t, body)), None)
    if template is None:
        return None
    layout = Layout()
    for role, value in zip(template.fields, body, strict=True):
        if role == "list_id":
            layout.list_id = as_text(value)
        elif role == "meter_id":
            layout.positional_meter_id = as_text(value)
        elif role == "clock":
            layout.entries.append(Entry(_CLOCK, value))
        elif role != "-":
            if isinstance(value, list):
                return None
            layout.entries.append(Entry(_obis(role), value))
    return layout
