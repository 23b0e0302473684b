"""DLMS/COSEM push decoding for smart meters: bytes in, readings out.

Nothing here imports Home Assistant, so the package can become its own library.
"""

from __future__ import annotations

from .decoder import MeterDecoder
from .framing import Framing
from .keys import KeyFormatError, parse_key
from .models import (
    DecoderStats,
    Measurement,
    PositionalTemplate,
    Profile,
    Reading,
    SerialSettings,
)
from .profiles import PROFILES

__all__ = [
    "PROFILES",
    "DecoderStats",
    "Framing",
    "KeyFormatError",
    "Measurement",
    "MeterDecoder",
    "PositionalTemplate",
    "Profile",
    "Reading",
    "SerialSettings",
    "parse_key",
]
