"""The intermediate form between a decoded body and a Reading: entries in payload order."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Entry:
    """One object: OBIS code, raw value, and the scaler/unit when the frame carries them."""

    obis: bytes
    value: Any
    scaler: int | None = None
    unit: int | None = None


@dataclass(slots=True)
class Layout:
    """What the body said, before scaling: entries plus the untagged pieces around them."""

    entries: list[Entry] = field(default_factory=list)
    untagged_times: list[bytes] = field(default_factory=list)
    untagged_texts: list[str] = field(default_factory=list)
    list_id: str | None = None
    positional_meter_id: str | None = None
    # Untagged octet strings that are neither a date-time nor text: possibly a damaged meter id.
    untagged_binary: int = 0


def as_text(value: object) -> str | None:
    """An identifier as text: octet strings that hold printable ASCII, or visible strings."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, (bytes, bytearray)):
        stripped = bytes(value).strip(b"\x00 ")
        if not stripped or not all(32 <= byte < 127 for byte in stripped):
            return None
        text = stripped.decode("ascii")
    else:
        return None
    text = text.strip("\x00 ")
    return text or None
