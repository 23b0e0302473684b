"""Bodies without OBIS codes: their elements get codes from a positional template."""

from __future__ import annotations

from typing import Any

from .entries import Entry, Layout, as_text
from .models import PositionalTemplate
from .obis import parse_obis

_CLOCK = bytes((0, 0, 1, 0, 0, 0xFF))


def _obis(key: str) -> bytes:
    """A template's OBIS key such as 1-0:31.7.0 as its 6 bytes; a bad key is a profile bug."""
    raw = parse_obis(key)
    if raw is None:
        raise ValueError(f"template field {key!r} is not an OBIS key")
    return raw


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
