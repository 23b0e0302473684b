"""Value types the decoder hands to its callers: plain, immutable, Home-Assistant-free."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from .framing import Framing


@dataclass(frozen=True, slots=True)
class Measurement:
    """One object of a reading: a physical value in the meter's native unit, or an identifier."""

    value: int | float | str
    unit: str | None


@dataclass(frozen=True, slots=True)
class Reading:
    """Everything one push message said, keyed by OBIS code "A-B:C.D.E"."""

    meter_id: str | None
    timestamp: datetime | None
    values: Mapping[str, Measurement]
    # FLAG manufacturer id ("LGZ", "KFM", ...) from the system title or meter id, when known.
    manufacturer: str | None = None
    system_title: str | None = None


@dataclass(slots=True)
class DecoderStats:
    """Counters a UI or diagnostics dump can show; they only ever grow."""

    bytes_received: int = 0
    bytes_discarded: int = 0
    frames: int = 0
    crc_errors: int = 0
    key_required: int = 0
    decrypt_errors: int = 0
    auth_errors: int = 0
    dropped_messages: int = 0
    unknown_layouts: int = 0
    readings: int = 0
    # A partial multi-frame message older than a meter could take to send it (needs `now`).
    expired_messages: int = 0
    # Exceptions the decoder caught in itself: a bug, never the input's fault; logged at debug.
    internal_errors: int = 0

    def as_dict(self) -> dict[str, int]:
        """Return the counters as a plain dict (for diagnostics and JSON)."""
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(frozen=True, slots=True)
class SerialSettings:
    """Line settings of a meter's customer interface."""

    baudrate: int
    bytesize: int = 8
    parity: str = "N"  # "N", "E" or "O"
    stopbits: int = 1

    def __str__(self) -> str:
        return f"{self.baudrate} {self.bytesize}{self.parity}{self.stopbits}"


@dataclass(frozen=True, slots=True)
class PositionalTemplate:
    """Meaning of each element of a list that carries no OBIS codes, by position.

    A field is an OBIS key ("1-0:1.7.0"), or one of the roles "list_id", "meter_id", "clock",
    or "-" for an element to ignore. `list_id_prefix` ties the template to lists whose first
    element starts with it; without one, the element count alone selects the template.
    """

    fields: tuple[str, ...]
    list_id_prefix: str | None = None


@dataclass(frozen=True, slots=True)
class Profile:
    """What one meter type sends and how to read it; data, not behaviour."""

    name: str
    title: str
    manufacturer: str
    model: str
    framing: Framing
    serial: SerialSettings
    push_interval: float  # seconds between pushes (or polls) in normal operation
    # Multipliers for C.D.E codes whose scaler the meter does not push (attribute 2 only).
    scalers: Mapping[str, float] = field(default_factory=dict)
    # IEC 62056-21 meters: settings after the baud switch of the mode C handshake.
    readout_serial: SerialSettings | None = None
    # Value-only bodies this meter type sends (no OBIS codes on the wire).
    templates: tuple[PositionalTemplate, ...] = ()
